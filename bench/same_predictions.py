"""Predictions after fit, bit for bit, from this checkout and from another copy of the package.

    python -m bench.same_predictions --other /path/to/old/checkout

runs the same fits in two subprocesses (one importing ``skkeras_prep`` from this checkout, one
from ``--other``, by PYTHONPATH) and compares every prediction byte for byte. The fits cover
each training path: the compiled epoch loop from arrays in memory and from the tf.data
pipeline, ``model.fit`` (a callback), several outputs, several inputs, a validation split,
``validation_data``, sparse rows and a dask X (rows read in order).
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parents[1]


def _cases():
    import dask
    import dask.array as da
    import keras
    import scipy.sparse as sp
    from sklearn.preprocessing import StandardScaler

    from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
    from skkeras_prep.models import MLP

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y3 = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    y2 = (X[:, 2] > 0).astype(int)
    yr = X[:, 0] * 2.0 - X[:, 3]
    Xb = rng.normal(size=(300, 2)).astype(np.float32)

    def clf(**kw):
        return KerasPipelineClassifier(**{"model": MLP(hidden_layer_sizes=(8,)),
                                          "preprocessor": StandardScaler(), "epochs": 3, "batch_size": 32, "random_state": 0, **kw})

    def reg(**kw):
        return KerasPipelineRegressor(**{"model": MLP(hidden_layer_sizes=(8,)),
                                         "preprocessor": StandardScaler(), "epochs": 3, "batch_size": 32, "random_state": 0, **kw})

    def two_inputs(meta):
        a = keras.Input(meta["input_shape_"]["a"], name="a")
        b = keras.Input(meta["input_shape_"]["b"], name="b")
        h = keras.layers.Dense(6, activation="relu")(keras.layers.Concatenate()([a, b]))
        return keras.Model({"a": a, "b": b}, keras.layers.Dense(3, activation="softmax")(h))

    def two_heads(meta):
        x = keras.Input(meta["input_shape_"])
        h = keras.layers.Dense(6, activation="relu")(x)
        return keras.Model(x, {"kind": keras.layers.Dense(3, activation="softmax")(h),
                               "flag": keras.layers.Dense(1, activation="sigmoid")(h),
                               "value": keras.layers.Dense(1, activation="sigmoid")(h)})

    def two_values(meta):
        x = keras.Input(meta["input_shape_"])
        h = keras.layers.Dense(6, activation="relu")(x)
        return keras.Model(x, [keras.layers.Dense(1, name="r1")(h), keras.layers.Dense(1, name="r2")(h)])

    callback = keras.callbacks.Callback  # an epoch callback: model.fit, not the compiled loop
    yield "clf sparse labels, loop in memory", lambda: clf().fit(X, y3).predict_proba(X)
    yield "clf one-hot, loop in memory", lambda: clf(loss="categorical_crossentropy").fit(X, y3).predict_proba(X)
    yield "clf binary column, loop in memory", lambda: clf().fit(X, y2).predict_proba(X)
    yield "clf sparse labels, model.fit", lambda: clf(callbacks=[callback()]).fit(X, y3).predict_proba(X)
    yield "clf binary, model.fit", lambda: clf(callbacks=[callback()]).fit(X, y2).predict_proba(X)
    yield "clf sparse X, loop on tf.data", lambda: clf(preprocessor=None).fit(sp.csr_matrix(X), y3).predict_proba(X)
    yield "reg, loop in memory", lambda: reg().fit(X, yr).predict(X)
    yield "reg, model.fit", lambda: reg(callbacks=[callback()]).fit(X, yr).predict(X)
    yield "reg two columns, loop in memory", lambda: reg().fit(X, np.c_[yr, -yr]).predict(X)
    yield "clf validation_split", lambda: clf(validation_split=0.2).fit(X, y3).predict_proba(X)
    yield "clf early_stopping", lambda: clf(early_stopping=True, epochs=4).fit(X, y3).predict_proba(X)
    yield "reg validation_split", lambda: reg(validation_split=0.2).fit(X, yr).predict(X)
    yield "clf validation_data", lambda: clf().fit(X[:200], y3[:200], validation_data=(X[200:], y3[200:])).predict_proba(X)
    yield "several inputs, loop", lambda: clf(model=two_inputs, preprocessor=None).fit(
        {"a": X, "b": Xb}, y3).predict_proba({"a": X, "b": Xb})
    yield "several inputs, model.fit", lambda: clf(model=two_inputs, preprocessor=None, callbacks=[callback()]).fit(
        {"a": X, "b": Xb}, y3).predict_proba({"a": X, "b": Xb})
    yield "several inputs, predicted in batches", lambda: clf(model=two_inputs, preprocessor=None).fit(
        {"a": X, "b": Xb}, y3).predict_proba({"a": X, "b": Xb}, batch_size=64)
    yield "clf predicted in batches", lambda: clf().fit(X, y3).predict_proba(X, batch_size=64)
    yield "several inputs, validation_split", lambda: clf(model=two_inputs, preprocessor=None, validation_split=0.2).fit(
        {"a": X, "b": Xb}, y3).predict_proba({"a": X, "b": Xb})

    def heads(**kw):
        est = clf(model=two_heads, preprocessor=None, **kw)
        return est.fit(X, {"kind": y3, "flag": y2, "value": y2}).predict_proba(X)

    def values(**kw):
        return reg(model=two_values, **kw).fit(X, [yr, -yr]).predict(X)

    yield "several outputs clf, loop", lambda: heads()
    yield "several outputs clf, model.fit", lambda: heads(callbacks=[callback()])
    yield "several outputs clf, validation_split", lambda: heads(validation_split=0.2)
    yield "several outputs reg, loop", lambda: values()
    yield "several outputs reg, validation_split", lambda: values(validation_split=0.2)

    def dask_fit(est, target, **kw):
        with dask.config.set(scheduler="synchronous"):
            est = est.fit(da.from_array(X, chunks=(60, 5)), da.from_array(target, chunks=60), **kw)
            method = est.predict_proba if hasattr(est, "predict_proba") else est.predict
            return np.asarray(method(X))

    yield "dask X clf", lambda: dask_fit(clf(), y3)
    yield "dask X clf, model.fit", lambda: dask_fit(clf(callbacks=[callback()]), y3)
    yield "dask X reg, validation_split", lambda: dask_fit(reg(validation_split=0.2), yr)


def _run(out):
    import skkeras_prep

    results = {}
    for name, make in _cases():
        made = make()  # several outputs' probabilities: a list of arrays
        parts = made if isinstance(made, list) else [made]
        results[name] = np.concatenate([np.asarray(p).reshape(len(p), -1) for p in parts], axis=1)
    np.savez(out, **{"package": np.array(skkeras_prep.__file__)}, **results)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", required=True, help="a folder holding another skkeras_prep")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        return _run(args.run)
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, root in (("this", HERE), ("other", pathlib.Path(args.other).resolve())):
            out = os.path.join(tmp, f"{label}.npz")
            env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
            subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve()),
                            "--other", args.other, "--run", out], check=True, env=env, cwd=tmp)
            files[label] = dict(np.load(out))
    this, other = files["this"], files["other"]
    print("this: ", this.pop("package"), "\nother:", other.pop("package"))
    differ = 0
    for name in this:
        a, b = this[name], other[name]
        same = a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
        differ += not same
        print(f"{'same' if same else 'DIFFERENT':9} {name}")
    print(f"{len(this) - differ} of {len(this)} bit-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
