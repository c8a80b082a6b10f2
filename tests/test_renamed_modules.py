"""Modules renamed to say what they hold (issue 22), and what old code and old pickles get.

Policy: a pickle names a class by its module path, so a renamed module that defines a class
something may pickle keeps its old name as a module re-exporting the objects (``workers`` ->
``dask_workers``, public: with a ``FutureWarning``). A renamed private module that defines no
class (``_release`` -> ``_tf_process_state``) can be named by no pickle and has no alias.
"""

import ast
import importlib
import pathlib
import pickle
import sys

import pytest

from skkeras_prep import _tf_process_state


@pytest.fixture
def dask_workers():
    pytest.importorskip("distributed", reason="the skkeras_prep[dask] extra is not installed")
    return importlib.import_module("skkeras_prep.dask_workers")


def _import_old_workers():
    """Import ``skkeras_prep.workers`` afresh (its warning is given at the first import)."""
    sys.modules.pop("skkeras_prep.workers", None)
    return importlib.import_module("skkeras_prep.workers")


def test_old_workers_module_warns_naming_the_new_one(dask_workers):
    with pytest.warns(FutureWarning, match=r"skkeras_prep\.workers is deprecated.*"
                                           r"skkeras_prep\.dask_workers"):
        old = _import_old_workers()
    assert old.TensorFlowThreads is dask_workers.TensorFlowThreads
    assert old.tensorflow_thread_env is dask_workers.tensorflow_thread_env
    assert old.worker_tensorflow_threads is dask_workers.worker_tensorflow_threads
    assert old.tensorflow_thread_env(2)["TF_NUM_INTRAOP_THREADS"] == "2"


def test_a_plugin_pickled_under_the_old_path_unpickles(dask_workers):
    new = pickle.dumps(dask_workers.TensorFlowThreads(2, 3), protocol=0)
    assert b"skkeras_prep.dask_workers" in new  # pickles now name the new module
    old = new.replace(b"skkeras_prep.dask_workers", b"skkeras_prep.workers")
    sys.modules.pop("skkeras_prep.workers", None)
    with pytest.warns(FutureWarning, match="skkeras_prep.dask_workers"):
        plugin = pickle.loads(old)
    assert type(plugin) is dask_workers.TensorFlowThreads
    assert (plugin.intra_op_threads, plugin.inter_op_threads) == (2, 3)


def test_renamed_private_module_defines_no_class_a_pickle_could_name():
    tree = ast.parse(pathlib.Path(_tf_process_state.__file__).read_text())
    assert not [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
