"""The package configuration (``skkeras_prep._config``): public names, the layering rule for
it (it reads nothing else of the package), and the pool emptied when reuse is turned off."""

import ast
import pathlib
import types

import pytest

import skkeras_prep
from skkeras_prep import _config, _pool

pytestmark = pytest.mark.xdist_group("pool")


def _package_imports(path):
    """Every module of the package ``path`` imports, at the top level or in a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                "skkeras_prep")):
            found.update(f"{node.module or ''}:{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("skkeras_prep"))
    return found


def test_config_imports_no_other_package_module():
    path = pathlib.Path(_config.__file__)
    allowed = {"exceptions:" + name for name in dir(skkeras_prep.exceptions)}
    assert _package_imports(path) <= allowed


def test_the_import_finder_sees_package_imports(tmp_path):
    # the check above can fail: a module importing ``_pool`` inside a function is seen
    path = tmp_path / "m.py"
    path.write_text("import json\ndef f():\n    from . import _pool\n    from .exceptions import X\n")
    assert _package_imports(path) == {":_pool", "exceptions:X"}


def test_public_names_are_the_config_module_s():
    assert skkeras_prep.set_config is _config.set_config
    assert skkeras_prep.get_config is _config.get_config
    assert skkeras_prep.config_context is _config.config_context
    assert skkeras_prep.clear_cache is _pool.clear_cache


def test_turning_reuse_off_empties_the_pool(empty_pool):
    idle = types.SimpleNamespace(history=None)  # stands for a traced model handed back
    _pool._give_back("a key", idle)
    assert _pool.cache_info()["models"] == 1
    try:
        with skkeras_prep.config_context(reuse_models=False):
            assert skkeras_prep.get_config() == {"reuse_models": False}
            assert _pool.cache_info()["models"] == 0
        assert skkeras_prep.get_config() == {"reuse_models": True}
    finally:
        skkeras_prep.clear_cache()


def test_listeners_get_the_new_settings_and_none_changes_nothing(monkeypatch):
    seen = []
    monkeypatch.setattr(_config, "_LISTENERS", list(_config._LISTENERS))
    _config.on_change(seen.append)
    _config.on_change(seen.append)  # registered once
    skkeras_prep.set_config()
    assert seen == []
    try:
        skkeras_prep.set_config(reuse_models=False)
        assert seen == [{"reuse_models": False}]
    finally:
        skkeras_prep.set_config(reuse_models=True)
    assert seen[-1] == {"reuse_models": True}


def test_a_bad_value_is_refused_and_the_setting_kept():
    with pytest.raises(TypeError, match="reuse_models must be True or False; got 0"):
        skkeras_prep.set_config(reuse_models=0)
    assert skkeras_prep.get_config() == {"reuse_models": True}
