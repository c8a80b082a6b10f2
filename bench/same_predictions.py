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

    def base():
        return {"model": MLP(hidden_layer_sizes=(8,)), "preprocessor": StandardScaler(),
                "epochs": 3, "batch_size": 32, "random_state": 0}

    def clf(**kw):
        return KerasPipelineClassifier(**{**base(), **kw})

    def reg(**kw):
        return KerasPipelineRegressor(**{**base(), **kw})

    def two_inputs(meta):
        a = keras.Input(meta["input_shape_"]["a"], name="a")
        b = keras.Input(meta["input_shape_"]["b"], name="b")
        h = keras.layers.Concatenate()([keras.layers.Dense(4, activation="tanh")(a), b])
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
        return keras.Model(x, [keras.layers.Dense(1, name="r1")(h),
                               keras.layers.Dense(1, name="r2")(h)])

    def out(est, X_fit, y_fit, X_pred=None, fit=None, **predict):
        est.fit(X_fit, y_fit, **(fit or {}))
        method = est.predict_proba if hasattr(est, "predict_proba") else est.predict
        return method(X_fit if X_pred is None else X_pred, **predict)

    def on_dask(est, y_fit):
        with dask.config.set(scheduler="synchronous"):
            est.fit(da.from_array(X, chunks=(60, 5)), da.from_array(y_fit, chunks=60))
            method = est.predict_proba if hasattr(est, "predict_proba") else est.predict
            return np.asarray(method(X))


    both = {"a": X, "b": Xb}
    inputs = {"model": two_inputs, "preprocessor": None}
    heads = {"model": two_heads, "preprocessor": None}
    y_heads = {"kind": y3, "flag": y2, "value": y2}
    each_epoch = {"callbacks": [keras.callbacks.Callback()]}  # model.fit, not the compiled loop
    cases = {
        "clf sparse labels, loop in memory": lambda: out(clf(), X, y3),
        "clf one-hot, loop in memory": lambda: out(clf(loss="categorical_crossentropy"), X, y3),
        "clf binary column, loop in memory": lambda: out(clf(), X, y2),
        "clf sparse labels, model.fit": lambda: out(clf(**each_epoch), X, y3),
        "clf binary, model.fit": lambda: out(clf(**each_epoch), X, y2),
        "clf sparse X, loop on tf.data": lambda: out(clf(preprocessor=None), sp.csr_matrix(X), y3),
        "reg, loop in memory": lambda: out(reg(), X, yr),
        "reg, model.fit": lambda: out(reg(**each_epoch), X, yr),
        "reg two columns, loop in memory": lambda: out(reg(), X, np.c_[yr, -yr]),
        "clf validation_split": lambda: out(clf(validation_split=0.2), X, y3),
        "clf early_stopping": lambda: out(clf(early_stopping=True, epochs=4), X, y3),
        "reg validation_split": lambda: out(reg(validation_split=0.2), X, yr),
        "clf validation_data": lambda: out(clf(), X[:200], y3[:200], X,
                                           fit={"validation_data": (X[200:], y3[200:])}),
        "clf predicted in batches": lambda: out(clf(), X, y3, batch_size=64),
        "several inputs, loop": lambda: out(clf(**inputs), both, y3),
        "several inputs, model.fit": lambda: out(clf(**inputs, **each_epoch), both, y3),
        "several inputs, predicted in batches": lambda: out(clf(**inputs), both, y3, batch_size=64),
        "several inputs, validation_split": lambda: out(
            clf(**inputs, validation_split=0.2), both, y3),
        "several outputs clf, loop": lambda: out(clf(**heads), X, y_heads),
        "several outputs clf, model.fit": lambda: out(clf(**heads, **each_epoch), X, y_heads),
        "several outputs clf, validation_split": lambda: out(
            clf(**heads, validation_split=0.2), X, y_heads),
        "several outputs reg, loop": lambda: out(reg(model=two_values), X, [yr, -yr]),
        "several outputs reg, validation_split": lambda: out(
            reg(model=two_values, validation_split=0.2), X, [yr, -yr]),
        "dask X clf": lambda: on_dask(clf(), y3),
        "dask X clf, model.fit": lambda: on_dask(clf(**each_epoch), y3),
        "dask X reg, validation_split": lambda: on_dask(reg(validation_split=0.2), yr),
    }
    yield from cases.items()


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
