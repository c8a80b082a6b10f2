"""The benchmark workloads, one function per scenario, each runnable for every contender.

Every scenario function takes ``(contender, params)`` and returns a list of result rows
(dicts with a ``label`` and numbers). Peers are imported lazily, so a contender whose package
is missing costs nothing until it is asked for (``run`` skips it beforehand).

Contenders
----------
skkeras_prep   KerasPipelineClassifier(MLP(...), preprocessor=...)
keras_fit      the same Keras layers, compiled and ``model.fit`` on in-memory numpy
scikeras       scikeras 0.13 ``KerasClassifier`` (in a Pipeline when a scaler is needed)
keras_wrapper  ``keras.wrappers.SKLearnClassifier`` (one-hot targets, softmax output)
sklearn_mlp    ``sklearn.neural_network.MLPClassifier`` (adam, same batch and epochs)

Models: one hidden ReLU layer, then one sigmoid unit (binary) or a softmax layer; Adam with
Keras's default learning rate 1e-3 everywhere (sklearn's default ``learning_rate_init`` is
the same). ``keras_wrapper`` one-hot encodes the labels, so its binary model ends in two softmax
units with categorical cross-entropy. ``sklearn_mlp`` gets ``tol=0`` and
``n_iter_no_change > max_iter`` so that it runs every epoch like the others.
"""

import gc
import os
import statistics
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import StandardScaler

from .harness import MB, PeakMeter, current_rss

CONTENDERS = {
    "skkeras_prep": {"label": "skkeras_prep", "requires": ("skkeras_prep", "keras")},
    "keras_fit": {"label": "raw Keras", "requires": ("keras",)},
    "scikeras": {"label": "scikeras 0.13", "requires": ("scikeras", "keras")},
    "keras_wrapper": {"label": "keras.wrappers.SKLearnClassifier", "requires": ("keras",)},
    "sklearn_mlp": {"label": "sklearn MLPClassifier", "requires": ("sklearn",)},
}
KERAS_BASED = {"skkeras_prep", "keras_fit", "scikeras", "keras_wrapper"}


# -- data ----------------------------------------------------------------------------------
def make_binary(n, d, seed=0):
    """float32 (n, d) standard-normal rows (allocated once, no float64 copy) and int32 labels
    from a noisy linear rule, so every model can learn it."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal(d).astype(np.float32)
    score = X @ w
    score += rng.standard_normal(n, dtype=np.float32) * np.float32(0.5 * np.sqrt(d))
    y = (score > 0).astype(np.int32)
    del score
    return X, y


def load_wine_data():
    from sklearn.datasets import load_wine

    return load_wine(return_X_y=True)


def warm_runtime(contender):
    """Start TensorFlow's eager runtime (thread pools, device) before anything is measured.
    Every Keras-based contender pays this once per process; it is not part of a fit."""
    if contender in KERAS_BASED:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.matmul(tf.ones((2, 2)), tf.ones((2, 2))).numpy()


# -- models --------------------------------------------------------------------------------
def keras_mlp(n_features, hidden, units, activation):
    import keras

    return keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ]
    )


def _head(n_classes):
    return (1, "sigmoid", "binary_crossentropy") if n_classes == 2 else (
        n_classes, "softmax", "sparse_categorical_crossentropy")


def compiled_keras_mlp(n_features, hidden, n_classes):
    units, activation, loss = _head(n_classes)
    model = keras_mlp(n_features, hidden, units, activation)
    model.compile(optimizer="adam", loss=loss)
    return model


def scikeras_build(meta, hidden):
    """scikeras model builder (scikeras compiles it with the wrapper's optimizer and loss)."""
    units, activation, _ = _head(meta["n_classes_"])
    return keras_mlp(meta["n_features_in_"], hidden, units, activation)


def keras_wrapper_build(X, y, hidden):
    """keras.wrappers builder: y arrives one-hot, so the head is a softmax over its columns."""
    model = keras_mlp(X.shape[1], hidden, y.shape[1], "softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def make_estimator(contender, *, hidden, epochs, batch_size, seed, preprocessor=None, n_classes=2):
    """An sklearn-API estimator for ``contender`` (a Pipeline when a preprocessor is given)."""
    from sklearn.pipeline import make_pipeline

    if contender == "skkeras_prep":
        from skkeras_prep import KerasPipelineClassifier
        from skkeras_prep.models import MLP

        return KerasPipelineClassifier(
            MLP(hidden_layer_sizes=(hidden,)), preprocessor=preprocessor, epochs=epochs,
            batch_size=batch_size, random_state=seed,
        )
    if contender == "scikeras":
        from scikeras.wrappers import KerasClassifier

        est = KerasClassifier(
            model=scikeras_build, model__hidden=hidden, optimizer="adam",
            loss=_head(n_classes)[2], epochs=epochs, batch_size=batch_size, verbose=0,
            random_state=seed,
        )
    elif contender == "keras_wrapper":
        import keras

        keras.utils.set_random_seed(seed)
        est = _keras_wrapper_class()(
            model=keras_wrapper_build, model_kwargs={"hidden": hidden},
            fit_kwargs={"epochs": epochs, "batch_size": batch_size, "verbose": 0},
        )
    elif contender == "sklearn_mlp":
        from sklearn.neural_network import MLPClassifier

        est = MLPClassifier(
            hidden_layer_sizes=(hidden,), solver="adam", batch_size=batch_size, max_iter=epochs,
            tol=0.0, n_iter_no_change=epochs + 1, random_state=seed,
        )
    else:
        raise ValueError(f"{contender!r} has no estimator form")
    if preprocessor is not None:
        return make_pipeline(clone(preprocessor), est)
    return est


def _keras_wrapper_class():
    """keras.wrappers.SKLearnClassifier with one fix: its ``__sklearn_clone__`` (keras 3.15)
    drops ``fit_kwargs``, so every clone made by cross_val_score trained with Keras's defaults
    (1 epoch, batch 32) instead of the settings given. This subclass keeps them."""
    import copy

    from keras.wrappers import SKLearnClassifier

    class KerasWrapperClassifier(SKLearnClassifier):
        def __sklearn_clone__(self):
            new = super().__sklearn_clone__()
            new.fit_kwargs = copy.deepcopy(self.fit_kwargs)
            return new

    return KerasWrapperClassifier


class RawKerasClassifier(ClassifierMixin, BaseEstimator):
    """Raw Keras as a user would write it: build, compile, ``model.fit`` on numpy arrays; only
    wrapped (thinly) so the scenarios and cross_val_score can call it like the estimators."""

    def __init__(self, *, hidden=64, epochs=1, batch_size=32, seed=0, preprocessor=None,
                 predict_kwargs=None):
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.preprocessor = preprocessor
        self.predict_kwargs = predict_kwargs

    def fit(self, X, y):
        import keras

        keras.utils.set_random_seed(self.seed)
        self.classes_ = np.unique(y)
        self.scaler_ = None if self.preprocessor is None else clone(self.preprocessor)
        if self.scaler_ is not None:
            X = self.scaler_.fit_transform(X)
        self.model_ = compiled_keras_mlp(X.shape[1], self.hidden, len(self.classes_))
        y = np.searchsorted(self.classes_, y)
        self.model_.fit(X, y, epochs=self.epochs, batch_size=self.batch_size, verbose=0)
        return self

    def _prep(self, X):
        return X if self.scaler_ is None else self.scaler_.transform(X)

    def predict_proba(self, X):
        out = self.model_.predict(self._prep(X), verbose=0, **(self.predict_kwargs or {}))
        return np.hstack([1 - out, out]) if out.shape[1] == 1 else out

    def call_proba(self, X):
        """``model(x)`` directly (no predict loop): the floor for one-row latency."""
        out = self.model_(self._prep(X).astype(np.float32), training=False).numpy()
        return np.hstack([1 - out, out]) if out.shape[1] == 1 else out

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def make_contender(contender, **kwargs):
    if contender == "keras_fit":
        kwargs.pop("n_classes", None)
        return RawKerasClassifier(**kwargs)
    return make_estimator(contender, **kwargs)


def proba_fn(contender, est):
    """The probability (or nearest available) output of a fitted contender."""
    if contender == "keras_wrapper":  # no predict_proba: predict() runs model.predict + argmax
        return est.predict
    return est.predict_proba


def quiet():
    """Silence warnings and TensorFlow's start-up logs (TensorFlow itself is imported only
    by the Keras-based contenders, in ``warm_runtime``)."""
    warnings.simplefilter("ignore")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


# -- scenarios -----------------------------------------------------------------------------
def fit_large(contender, p):
    """Targets 1 and 2: fit n x d float32 rows, one hidden layer, ``batch`` rows, ``epochs``.
    Time and peak RSS of the fit call only; data generation and imports come before."""
    X, y = make_binary(p["n"], p["d"], seed=p["seed"])
    data_bytes = X.nbytes + y.nbytes
    warm_runtime(contender)
    est = make_contender(contender, hidden=p["hidden"], epochs=p["epochs"],
                         batch_size=p["batch"], seed=p["seed"])
    with PeakMeter() as mem:
        t0 = time.perf_counter()
        est.fit(X, y)
        fit_s = time.perf_counter() - t0
    k = min(len(y), 20000)
    proba = proba_fn(contender, est)(X[:k])
    pred = proba if proba.ndim == 1 else np.argmax(proba, axis=1)
    row = {
        "label": CONTENDERS[contender]["label"], "fit_s": fit_s, "rows": p["n"],
        "rows_per_s": p["n"] * p["epochs"] / fit_s, "data_mb": data_bytes / MB,
        "overhead_pct_of_data": 100.0 * mem.delta / data_bytes,
        "train_acc_first_20k": float(np.mean(pred == y[:k])),
    }
    row.update(mem.as_dict())
    return [row]


def wine_cv(contender, p):
    """Target 3: ``cross_val_score`` with explicit StratifiedKFold folds on load_wine,
    StandardScaler, one hidden layer of ``hidden``, ``epochs`` epochs, ``batch`` rows.
    Round 1 is the first CV in a fresh process (after imports and the eager-runtime start);
    later rounds repeat it in the same process (graphs/kernels already warm)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = load_wine_data()
    warm_runtime(contender)
    cv = StratifiedKFold(p["folds"], shuffle=True, random_state=p["seed"])  # same folds for all
    times, accs = [], []
    profile = p.get("profile")
    for round_ in range(p["rounds"]):
        est = make_contender(contender, hidden=p["hidden"], epochs=p["epochs"],
                             batch_size=p["batch"], seed=1000 * p["seed"] + round_,
                             preprocessor=StandardScaler(), n_classes=3)
        profiler = None
        if profile and round_ in profile["rounds"]:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        scores = cross_val_score(est, X, y, cv=cv)
        times.append(time.perf_counter() - t0)
        if profiler is not None:
            profiler.disable()
            _dump_profile(profiler, profile["path"].format(round=round_), times[-1], p)
        accs.append(float(np.mean(scores)))
    row = {
        "label": CONTENDERS[contender]["label"], "cold_s": times[0],
        "warm_s": statistics.median(times[1:]) if len(times) > 1 else times[0],
        "accuracy": float(np.mean(accs)), "accuracy_first_round": accs[0],
        "accuracies": accs,
    }
    return [row]


def _dump_profile(profiler, path, seconds, params):
    import io
    import pstats

    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.strip_dirs().sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    with open(path, "w") as fh:
        fh.write(f"# cProfile of one cross_val_score, {seconds:.2f} s wall, params {params}\n")
        fh.write(buf.getvalue())


def predict_one(contender, p):
    """Target 4a: latency of one-row probability prediction (``predict_proba(X[:1])``; the
    keras wrapper has no predict_proba, so its ``predict``) on a model fitted on load_wine
    with StandardScaler. Median over ``calls`` calls after ``warmup`` calls."""
    X, y = load_wine_data()
    warm_runtime(contender)
    est = make_contender(contender, hidden=p["hidden"], epochs=p["epochs"], batch_size=p["batch"],
                         seed=p["seed"], preprocessor=StandardScaler(), n_classes=3)
    est.fit(X, y)
    variants = [(CONTENDERS[contender]["label"] + _one_row_name(contender), proba_fn(contender, est))]
    if contender == "keras_fit":
        variants.append(("raw Keras model(x) (direct call)", est.call_proba))
    rows = []
    for label, fn in variants:
        row = X[:1]
        for _ in range(p["warmup"]):
            fn(row)
        laps = []
        for i in range(p["calls"]):
            row = X[i % len(X): i % len(X) + 1]
            t0 = time.perf_counter()
            fn(row)
            laps.append(time.perf_counter() - t0)
        laps_ms = np.asarray(laps) * 1e3
        rows.append({"label": label, "median_ms": float(np.median(laps_ms)),
                     "p90_ms": float(np.percentile(laps_ms, 90)), "calls": p["calls"]})
    return rows


def _one_row_name(contender):
    return {
        "skkeras_prep": " predict_proba",
        "keras_fit": " model.predict(x)",
        "scikeras": " predict_proba",
        "keras_wrapper": " predict (no predict_proba)",
        "sklearn_mlp": " predict_proba",
    }[contender]


def predict_large(contender, p):
    """Target 4b: probabilities for n x d float32 rows from a model fitted on the first
    ``fit_rows`` rows (one epoch). Time and peak RSS of the prediction call only, after one
    warm-up call on 2048 rows."""
    X, y = make_binary(p["n"], p["d"], seed=p["seed"])
    warm_runtime(contender)
    fit_rows = min(p["fit_rows"], len(y))
    variants = []
    if contender == "keras_fit":
        for kwargs, name in (({}, "raw Keras model.predict (default batch 32)"),
                             ({"batch_size": 8192}, "raw Keras model.predict (batch 8192)")):
            est = make_contender("keras_fit", hidden=p["hidden"], epochs=1, batch_size=p["batch"],
                                 seed=p["seed"])
            est.set_params(predict_kwargs=kwargs)
            variants.append((name, est))
    else:
        est = make_contender(contender, hidden=p["hidden"], epochs=1, batch_size=p["batch"],
                             seed=p["seed"])
        variants.append((CONTENDERS[contender]["label"] + _one_row_name(contender).replace(
            "model.predict(x)", "model.predict"), est))
    rows = []
    for label, est in variants:
        est.fit(X[:fit_rows], y[:fit_rows])
        fn = proba_fn(contender, est)
        fn(X[:2048])
        with PeakMeter() as mem:
            t0 = time.perf_counter()
            out = fn(X)
            seconds = time.perf_counter() - t0
        del out
        row = {"label": label, "predict_s": seconds, "rows_per_s": len(X) / seconds,
               "data_mb": X.nbytes / MB}
        row.update(mem.as_dict())
        rows.append(row)
    return rows


def repeated_fits(contender, p):
    """Target 5: RSS after each of ``n_fits`` sequential fits of a small model in one process
    (no keras.backend.clear_session). Growth = RSS after fit ``n_fits`` minus after fit
    ``from_fit``. RSS is read after ``gc.collect()``."""
    X, y = make_binary(p["n"], p["d"], seed=p["seed"])
    warm_runtime(contender)
    rss, laps = [], []
    for i in range(p["n_fits"]):
        est = make_contender(contender, hidden=p["hidden"], epochs=p["epochs"],
                             batch_size=p["batch"], seed=p["seed"] + i)
        t0 = time.perf_counter()
        est.fit(X, y)
        laps.append(time.perf_counter() - t0)
        del est
        gc.collect()
        rss.append(current_rss() / MB)
    return [_growth_row(contender, p, rss, laps)]


def _growth_row(contender, p, rss, laps, **extra):
    """The result row of a repeated-fit scenario: RSS growth from fit ``from_fit`` on."""
    a, b = p["from_fit"], p["n_fits"]
    growth = rss[b - 1] - rss[a - 1]
    return {
        "label": CONTENDERS[contender]["label"], "growth_mb": growth,
        "growth_per_fit_mb": growth / max(b - a, 1), "fit_median_s": statistics.median(laps),
        "rss_first_fit_mb": rss[0], "rss_last_fit_mb": rss[-1], "from_fit": a, "to_fit": b,
        "rss_trace_mb": [round(v, 1) for v in rss], **extra,
    }


def repeated_fits_scaled(contender, p):
    """Target 5 at data size: ``n_fits`` sequential fit + predict_proba cycles, each with a
    StandardScaler preprocessor on n x d float32 rows, in one process. Each cycle makes a new
    transformed copy of the data; growth shows whether any of them outlives its estimator."""
    X, y = make_binary(p["n"], p["d"], seed=p["seed"])
    warm_runtime(contender)
    rss, laps = [], []
    for i in range(p["n_fits"]):
        est = make_contender(contender, hidden=p["hidden"], epochs=p["epochs"],
                             batch_size=p["batch"], seed=p["seed"] + i,
                             preprocessor=StandardScaler())
        if contender == "keras_fit":
            est.set_params(predict_kwargs={"batch_size": 8192})
        t0 = time.perf_counter()
        est.fit(X, y)
        proba_fn(contender, est)(X)
        laps.append(time.perf_counter() - t0)
        del est
        gc.collect()
        rss.append(current_rss() / MB)
    return [_growth_row(contender, p, rss, laps, data_mb=X.nbytes / MB)]


# counting transformer for target 6 (module level, so sklearn.clone and pickling work)
CALLS = {"fit": 0, "transform": 0, "transform_rows": 0}



class CountingScaler(StandardScaler):
    """StandardScaler that counts fit and transform calls (fit_transform -> fit + transform)."""

    def fit(self, X, y=None, sample_weight=None):
        CALLS["fit"] += 1
        return super().fit(X, y, sample_weight=sample_weight)

    def transform(self, X, copy=None):
        CALLS["transform"] += 1
        CALLS["transform_rows"] += X.shape[0]
        return super().transform(X, copy=copy)


def transform_calls(contender, p):
    """Target 6: how often the preprocessor's transform runs during one fit (and one
    predict) of in-memory data, for several epoch counts and with early stopping."""
    X, y = make_binary(p["n"], p["d"], seed=p["seed"])
    warm_runtime(contender)
    rows = []
    for epochs in p["epochs"]:
        for early in (False, True):
            est = make_contender(contender, hidden=p["hidden"], epochs=epochs, batch_size=p["batch"],
                                 seed=p["seed"], preprocessor=CountingScaler())
            if early:
                if contender != "skkeras_prep":
                    continue
                est.set_params(early_stopping=True, n_iter_no_change=epochs + 1)
            for key in CALLS:
                CALLS[key] = 0
            est.fit(X, y)
            fit_calls = dict(CALLS)
            for key in CALLS:
                CALLS[key] = 0
            proba_fn(contender, est)(X)
            rows.append({
                "label": f"{CONTENDERS[contender]['label']} epochs={epochs}"
                         + (" early_stopping" if early else ""),
                "epochs": epochs, "fit_calls": fit_calls["fit"],
                "transform_calls_per_fit": fit_calls["transform"],
                "transform_passes_per_fit": fit_calls["transform_rows"] / len(X),
                "transform_calls_per_predict": CALLS["transform"],
            })
    return rows


SCENARIOS = {
    "fit_large": fit_large,
    "fit_small": fit_large,  # the same fit on few rows: its first-fit cost
    "wine_cv": wine_cv,
    "predict_one": predict_one,
    "predict_large": predict_large,
    "repeated_fits": repeated_fits,
    "repeated_fits_scaled": repeated_fits_scaled,
    "transform_calls": transform_calls,
}
