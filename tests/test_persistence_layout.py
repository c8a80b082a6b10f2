"""The persistence package's own layering: its ``__init__`` lists its modules in order, and
each module imports (at top level or inside a function) only package modules listed above it.
"""

import glob
import io
import os
import re
import zipfile

from skkeras_prep import _persistence
from test_layout import import_graph

PACKAGE = "skkeras_prep._persistence"


def _listed_order():
    """The module names the package docstring lists, one per line: ``    name   job``."""
    return re.findall(r"^    ([a-z_]+)  +\S", _persistence.__doc__, flags=re.MULTILINE)


def _violations(order, graph):
    """(importer, imported) for each package module importing one not listed above it."""
    found = []
    for position, name in enumerate(order):
        for target in sorted(graph[f"{PACKAGE}.{name}"]):
            short = target[len(PACKAGE) + 1:] if target.startswith(PACKAGE + ".") else None
            if short is not None and short not in order[:position]:
                found.append((name, short))
    return found


def test_every_module_of_the_package_is_listed_once():
    listed = _listed_order()
    present = {name[len(PACKAGE) + 1:] for name in import_graph()
               if name.startswith(PACKAGE + ".")}
    assert len(listed) >= 10  # the docstring was read
    assert len(listed) == len(set(listed)) and set(listed) == present


def test_each_module_imports_only_the_modules_listed_above_it():
    assert _violations(_listed_order(), import_graph()) == []


def test_a_module_importing_one_listed_below_it_is_found():
    graph = {f"{PACKAGE}.errors": {f"{PACKAGE}.limits", "skkeras_prep._compat"},
             f"{PACKAGE}.limits": {f"{PACKAGE}.errors"}}
    assert _violations(["errors", "limits"], graph) == [("errors", "limits")]
    assert _violations(["limits", "errors"], graph) == [("limits", "errors")]


def test_no_saved_file_or_pickle_names_a_module_of_the_package():
    """The package's modules may be renamed or moved freely: no class of theirs is written
    into a file or a pickle (the fixtures name only public and target-encoder modules)."""
    fixtures = os.path.join(os.path.dirname(__file__), "fixtures")
    texts = []
    for path in glob.glob(os.path.join(fixtures, "*.skkeras")):
        with zipfile.ZipFile(path) as outer, \
                zipfile.ZipFile(io.BytesIO(outer.read("state.skops"))) as state:
            texts.append(state.read("schema.json"))
    texts += [open(path, "rb").read() for path in glob.glob(os.path.join(fixtures, "*.pkl"))]
    assert len(texts) >= 5 and all(
        b"skkeras_prep.classifier" in t or b"skkeras_prep.regressor" in t for t in texts)
    assert not any(PACKAGE.encode() in t for t in texts)
