"""The ``distribution`` parameter (issue 14 §3). Devices are configured before TensorFlow
starts, so the multi-device checks run in a subprocess that splits the CPU into 2 logical
devices; the multi-worker smoke test starts 2 worker processes on localhost (slow)."""

import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from skkeras_prep import KerasPipelineClassifier
from skkeras_prep.distribution import StrategySpec, describe, resolve
from skkeras_prep.exceptions import InvalidParameterError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run in a fresh interpreter: 2 logical CPU devices, then fits with and without MirroredStrategy.
_TWO_DEVICES = textwrap.dedent("""
    import json, os, pickle, sys, tempfile
    import numpy as np, scipy.sparse as sp, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from sklearn.base import clone
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler
    import skkeras_prep
    from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
    from skkeras_prep.models import MLP

    X, y = load_iris(return_X_y=True)
    out = {}
    def make(cls, distribution, **kw):
        params = dict(model=MLP((8,)), preprocessor=StandardScaler(), epochs=4, batch_size=16,
                      random_state=0, distribution=distribution)
        params.update(kw)
        return cls(**params)

    single = make(KerasPipelineClassifier, None).fit(X, y)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    two = make(KerasPipelineClassifier, mirrored).fit(X, y)
    out["replicas"] = two.model_.distribute_strategy.num_replicas_in_sync
    out["proba_diff"] = float(np.abs(two.predict_proba(X) - single.predict_proba(X)).max())
    out["loss_diff"] = float(np.abs(np.subtract(two.history_["loss"], single.history_["loss"])).max())
    named = make(KerasPipelineClassifier, "mirrored").fit(X, y)
    out["named_replicas"] = named.model_.distribute_strategy.num_replicas_in_sync
    out["named_diff"] = float(np.abs(named.predict_proba(X) - two.predict_proba(X)).max())
    reg_single = make(KerasPipelineRegressor, None).fit(X, X[:, 0])
    reg_two = make(KerasPipelineRegressor, "mirrored").fit(X, X[:, 0])
    out["regressor_diff"] = float(np.abs(reg_two.predict(X) - reg_single.predict(X)).max())

    # an instance is pickled as its StrategySpec and rebuilt at the next fit
    back = pickle.loads(pickle.dumps(two))
    out["pickled_param"] = repr(back.distribution)
    out["pickled_predict_diff"] = float(np.abs(back.predict_proba(X) - two.predict_proba(X)).max())
    refit = clone(back).fit(X, y)
    out["refit_replicas"] = refit.model_.distribute_strategy.num_replicas_in_sync
    out["refit_diff"] = float(np.abs(refit.predict_proba(X) - two.predict_proba(X)).max())
    out["clone_shares"] = clone(two).distribution is mirrored
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "est.skkp")
        two.save(path)
        loaded = skkeras_prep.load(path)
    out["saved_param"] = repr(loaded.distribution)
    out["loaded_diff"] = float(np.abs(loaded.predict_proba(X) - two.predict_proba(X)).max())
    exported = two.export_model()
    out["export_diff"] = float(np.abs(np.asarray(exported.predict(X, verbose=0))
                                      - two.predict_proba(X)).max())

    # sparse input is densified one batch at a time, so a strategy serves it
    sparse = make(KerasPipelineClassifier, "mirrored", preprocessor=None, epochs=1).fit(sp.csr_matrix(X), y)
    out["sparse_replicas"] = sparse.model_.distribute_strategy.num_replicas_in_sync
    try:
        make(KerasPipelineClassifier, "mirrored", batch_size=1).fit(X, y)
    except ValueError as exc:
        out["small_batch_error"] = str(exc)
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def two_devices():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", _TWO_DEVICES], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


# MirroredStrategy sums the replicas' gradients (each scaled by the global batch), which
# equals the single-device gradient up to float32 rounding of the sum's order.
TOLERANCE = 1e-5


def test_mirrored_over_two_cpu_devices_agrees_with_one_device(two_devices):
    assert two_devices["replicas"] == 2 and two_devices["named_replicas"] == 2
    assert two_devices["loss_diff"] < TOLERANCE
    assert two_devices["proba_diff"] < TOLERANCE
    assert two_devices["regressor_diff"] < TOLERANCE
    assert two_devices["named_diff"] < TOLERANCE


def test_a_strategy_instance_survives_pickle_clone_and_save(two_devices):
    for key in ("pickled_param", "saved_param"):
        assert two_devices[key].startswith("StrategySpec('mirrored', devices=[")
        assert "CPU:1" in two_devices[key]
    assert two_devices["pickled_predict_diff"] == 0.0
    assert two_devices["loaded_diff"] < 1e-6
    assert two_devices["export_diff"] < 1e-5  # export_model after a distributed fit
    assert two_devices["refit_replicas"] == 2 and two_devices["refit_diff"] < TOLERANCE
    assert two_devices["clone_shares"]


def test_sparse_input_is_served_and_a_batch_smaller_than_the_replicas_is_refused(two_devices):
    assert two_devices["sparse_replicas"] == 2
    assert "batch_size=1 is smaller than the 2 replicas" in two_devices["small_batch_error"]
    assert "batch_size >= 2" in two_devices["small_batch_error"]


# -- in this process (one device) -------------------------------------------------------------
def test_an_unknown_strategy_name_lists_the_names(iris):
    X, y = iris
    with pytest.raises(InvalidParameterError, match="distribution.*'mirrored'.*'one_device'"):
        KerasPipelineClassifier(distribution="mirored", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="Unknown distribution strategy name 'gpu'.*'mirrored'"):
        StrategySpec("gpu").build()


def _returns_nothing():
    return None


def test_a_factory_must_return_a_strategy(iris):
    X, y = iris
    with pytest.raises(TypeError, match="must return a tf.distribute.Strategy"):
        KerasPipelineClassifier(distribution=_returns_nothing, epochs=1).fit(X, y)


def _one_device():
    import tensorflow as tf

    return tf.distribute.OneDeviceStrategy("/cpu:0")


def test_one_device_by_factory_name_and_spec_train_the_same(iris):
    X, y = iris
    probas = []
    for distribution in (None, _one_device, "one_device", StrategySpec("one_device", ["/cpu:0"])):
        est = KerasPipelineClassifier(epochs=2, random_state=0, distribution=distribution)
        probas.append(est.fit(X, y).predict_proba(X))
        if distribution is not None:
            assert est.model_.distribute_strategy.num_replicas_in_sync == 1
    for proba in probas[1:]:
        np.testing.assert_allclose(proba, probas[0], atol=TOLERANCE)
    # a factory is kept as it is, so pickling it works when it is a module-level function
    est = pickle.loads(pickle.dumps(KerasPipelineClassifier(distribution=_one_device)))
    assert est.distribution is _one_device


def test_describe_refuses_a_strategy_it_cannot_rebuild():
    import tensorflow as tf

    class Custom(tf.distribute.OneDeviceStrategy):
        pass

    with pytest.raises(TypeError, match="Pass distribution= as a factory"):
        describe(Custom("/cpu:0"))
    spec = describe(tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert spec.name == "one_device" and "CPU:0" in spec.devices[0]
    assert resolve(spec).extended.worker_devices == spec.devices
    assert spec == pickle.loads(pickle.dumps(spec))


# -- several worker processes (MultiWorkerMirroredStrategy, TF_CONFIG) -------------------------
_WORKER = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG; before any op
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler
    from skkeras_prep import KerasPipelineClassifier
    X, y = load_iris(return_X_y=True)
    est = KerasPipelineClassifier(preprocessor=StandardScaler(), epochs=3, batch_size=16,
                                  random_state=0, distribution=strategy).fit(X, y)
    print("RESULT " + json.dumps({"replicas": strategy.num_replicas_in_sync,
                                  "loss": est.history_["loss"],
                                  "accuracy": float(est.score(X, y))}))
""")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


# Keras 3.15 on TensorFlow 2.21 cannot train under MultiWorkerMirroredStrategy at all: raw
# keras.Model.fit on a plain Dataset.from_tensor_slices fails the same way in 2 local worker
# processes, so this is upstream, not this package. Strict: it fails once a release fixes it.
@pytest.mark.slow
@pytest.mark.xfail(
    strict=True, raises=RuntimeError,
    reason="Keras 3.15 / TF 2.21: model.fit under MultiWorkerMirroredStrategy raises 'ValueError: "
           "Attempt to convert a value (PerReplica:{...}) with an unsupported type "
           "(<class 'tensorflow.python.distribute.values.PerReplica'>) to a Tensor.' (raw Keras too)",
)
def test_multi_worker_mirrored_on_two_local_processes():
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        procs.append(subprocess.Popen([sys.executable, "-c", _WORKER], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                # the known failure (xfail above) must be this one exactly
                assert "Attempt to convert a value (PerReplica:" in err, err[-3000:]
                raise RuntimeError(err[-3000:])
            results.append(json.loads(lines[-1][len("RESULT "):]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [r["replicas"] for r in results] == [2, 2]
    # the workers train one model together: the same losses on both
    np.testing.assert_allclose(results[0]["loss"], results[1]["loss"], rtol=1e-6)
    assert results[0]["accuracy"] > 0.6
