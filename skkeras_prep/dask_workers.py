"""TensorFlow's thread counts in the worker processes of a Dask cluster (docs/scaling.md).

Each Dask worker runs its own TensorFlow, which by default starts as many threads as the
machine has cores. Several workers on one machine then oversubscribe the cores. TensorFlow
takes its thread counts only before its runtime starts (``tf.config.threading`` refuses
changes afterwards), so an estimator parameter cannot set them; the worker process must,
before its first TensorFlow operation. Two ways, both used by the test suite:

- ``tensorflow_thread_env(n)``: environment variables for the worker processes, given to
  ``LocalCluster(env=...)``, to the ``dask worker`` command's environment, or to
  ``distributed.diagnostics.plugin.Environ`` (which restarts the workers with them);
- ``TensorFlowThreads(n)``: a worker plugin, ``client.register_plugin(TensorFlowThreads(1))``,
  that sets ``tf.config.threading`` on every worker, including workers that join or are
  restarted later. It fails, naming the remedy, on a worker whose TensorFlow already ran.

Importing this module imports ``distributed`` (the ``skkeras_prep[dask]`` extra) but not
TensorFlow; nothing happens in this process.
"""

import numbers

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["TensorFlowThreads", "tensorflow_thread_env", "worker_tensorflow_threads"]


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1 (threads per worker); got {value!r}.")
    return int(value)


def _thread_counts(intra_op_threads, inter_op_threads):
    """The checked ``(intra_op, inter_op)`` counts; ``inter_op_threads=None`` means the same
    as ``intra_op_threads``."""
    intra = _check_count(intra_op_threads, "intra_op_threads")
    inter = intra if inter_op_threads is None else _check_count(inter_op_threads, "inter_op_threads")
    return intra, inter


def tensorflow_thread_env(intra_op_threads=1, inter_op_threads=None):
    """Environment variables that make TensorFlow in a new process use ``intra_op_threads``
    threads inside an operation and ``inter_op_threads`` (default: the same) across
    operations; also the OpenMP/MKL/OpenBLAS pools of NumPy and scikit-learn.

    Give them to the worker processes, e.g. ``LocalCluster(n_workers=2,
    threads_per_worker=1, env=tensorflow_thread_env(1))``. They take effect in a process
    that has not started TensorFlow yet; they change nothing in this process.
    """
    intra, inter = _thread_counts(intra_op_threads, inter_op_threads)
    return {
        "TF_NUM_INTRAOP_THREADS": str(intra),
        "TF_NUM_INTEROP_THREADS": str(inter),
        "OMP_NUM_THREADS": str(intra),
        "MKL_NUM_THREADS": str(intra),
        "OPENBLAS_NUM_THREADS": str(intra),
    }


def worker_tensorflow_threads():
    """``(intra_op, inter_op)`` as TensorFlow reports them in this process (0: TensorFlow
    chooses). Run it on the workers with ``client.run(worker_tensorflow_threads)``."""
    import tensorflow as tf

    return (tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads())


class TensorFlowThreads(WorkerPlugin):
    """A Dask worker plugin that sets TensorFlow's thread counts on each worker.

    ``client.register_plugin(TensorFlowThreads(1))`` right after the cluster starts, before
    any task has run TensorFlow on a worker. Workers that join or restart later get it too.
    Registering it on a worker whose TensorFlow already ran fails with a ``RuntimeError``
    naming the remedy (``client.restart()`` first, or ``tensorflow_thread_env``).
    """

    name = "skkeras_prep-tensorflow-threads"
    idempotent = True

    def __init__(self, intra_op_threads=1, inter_op_threads=None):
        self.intra_op_threads, self.inter_op_threads = _thread_counts(intra_op_threads,
                                                                      inter_op_threads)

    def setup(self, worker):
        import tensorflow as tf

        wanted = (self.intra_op_threads, self.inter_op_threads)
        if worker_tensorflow_threads() == wanted:
            return
        try:
            tf.config.threading.set_intra_op_parallelism_threads(self.intra_op_threads)
            tf.config.threading.set_inter_op_parallelism_threads(self.inter_op_threads)
        except RuntimeError as exc:
            raise RuntimeError(
                f"TensorFlowThreads: TensorFlow already ran on worker {worker.address}, so its "
                f"thread counts can no longer change ({exc}). Register the plugin before any "
                "task runs (or call client.restart() first), or start the workers with "
                "env=skkeras_prep.dask_workers.tensorflow_thread_env(n)."
            ) from exc
