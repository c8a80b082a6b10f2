"""Deprecated: the old name of ``skkeras_prep.dask_workers``.

The module was renamed to say what it holds (TensorFlow's thread counts in Dask worker
processes). This name stays importable, with a ``FutureWarning``, so that old code and
pickles naming ``skkeras_prep.workers.TensorFlowThreads`` (a plugin registered with a
scheduler, a pickled cluster spec) keep working; the objects are those of ``dask_workers``.
"""

import warnings

from .dask_workers import TensorFlowThreads, tensorflow_thread_env, worker_tensorflow_threads

__all__ = ["TensorFlowThreads", "tensorflow_thread_env", "worker_tensorflow_threads"]

warnings.warn(
    "skkeras_prep.workers is deprecated and will be removed; import from "
    "skkeras_prep.dask_workers instead (the same TensorFlowThreads, tensorflow_thread_env "
    "and worker_tensorflow_threads).",
    FutureWarning,
    stacklevel=2,
)
