"""Several named inputs (dict X, MultiInput, per-input preprocessors) and several outputs
(dict / list / MultiOutput targets, one head per output): fit, predict, score, model
selection, and the errors for every mismatch."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import _num_samples

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, MultiInput, MultiOutput, load

N = 60


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    Xa = rng.normal(loc=5.0, scale=3.0, size=(N, 3))
    Xb = rng.normal(size=(N, 2))
    y_bin = (Xa[:, 0] - 5.0 + Xb[:, 1] > 0).astype(int)
    y_cls = np.array(["lo", "mid", "hi"])[np.digitize(Xb[:, 0], [-0.5, 0.5])]
    return Xa, Xb, y_bin, y_cls


def two_inputs(meta):
    """Inputs named a, b (widths from meta where X has them), one sigmoid output."""
    shapes = meta["input_shape_"] if isinstance(meta["input_shape_"], dict) else {}
    a = keras.Input(shapes.get("a", (3,)), name="a")
    b = keras.Input(shapes.get("b", (2,)), name="b")
    h = keras.layers.Dense(4, activation="relu")(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(1, activation="sigmoid")(h))


def two_heads(meta):
    """One input, outputs 'kind' (softmax over meta's classes) and 'flag' (sigmoid)."""
    x = keras.Input(meta["input_shape_"])
    h = keras.layers.Dense(4, activation="relu")(x)
    names = meta["output_names_"] or []  # None when y is one target
    n_kinds = dict(zip(names, meta["n_classes_"] if names else [])).get("kind", 3)
    return keras.Model(x, {
        "kind": keras.layers.Dense(n_kinds, activation="softmax")(h),
        "flag": keras.layers.Dense(1, activation="sigmoid")(h),
    })


def two_values(meta):
    """Inputs a, b; two linear outputs r1, r2 (given as a list)."""
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    h = keras.layers.Dense(4, activation="relu")(keras.layers.Concatenate()([a, b]))
    return keras.Model([a, b], [keras.layers.Dense(1, name="r1")(h), keras.layers.Dense(1, name="r2")(h)])


# -- the wrappers ------------------------------------------------------------------------------
def test_multi_input_indexes_rows_like_an_array(data):
    Xa, Xb, _, _ = data
    frame = pd.DataFrame({"c": np.arange(N)})
    X = MultiInput({"a": Xa, "b": Xb, "c": frame})
    assert X.shape == (N, 3) and len(X) == N and _num_samples(X) == N
    rows = np.array([5, 1, 7])
    for key in (rows, (rows, Ellipsis), list(rows)):
        part = X[key]
        assert isinstance(part, MultiInput) and part.shape == (3, 3)
        np.testing.assert_array_equal(part["a"], Xa[rows])
        assert part["c"]["c"].tolist() == [5, 1, 7]
    assert X[2:6].shape == (4, 3)
    mask = np.zeros(N, bool)
    mask[[0, 3]] = True
    np.testing.assert_array_equal(X[mask]["b"], Xb[[0, 3]])
    assert X["a"] is Xa


def test_wrappers_refuse_bad_parts(data):
    Xa, Xb, _, _ = data
    with pytest.raises(ValueError, match=r"different numbers of rows: \{'a': 60, 'b': 59\}"):
        MultiInput({"a": Xa, "b": Xb[:-1]})
    with pytest.raises(TypeError, match="names"):
        MultiInput({0: Xa})
    with pytest.raises(TypeError, match="non-empty dict"):
        MultiInput([Xa, Xb])
    y = MultiOutput([np.arange(N), np.ones(N)])
    assert y.positional and y.names == ["0", "1"] and np.asarray(y).shape == (N, 2)
    assert y[np.arange(3)].positional


def test_estimators_declare_dict_input():
    assert get_tags(KerasPipelineClassifier()).input_tags.dict
    assert get_tags(KerasPipelineRegressor(preprocessor={"a": StandardScaler()})).input_tags.dict


# -- several inputs ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dict_fit(data):
    Xa, Xb, y_bin, _ = data
    scaler = StandardScaler()
    clf = KerasPipelineClassifier(two_inputs, preprocessor={"a": scaler}, epochs=2, random_state=0)
    return clf.fit({"a": Xa, "b": Xb}, y_bin), scaler


def test_dict_inputs_fit_a_clone_per_input(data, dict_fit):
    Xa, Xb, y_bin, _ = data
    clf, scaler = dict_fit
    assert list(clf.preprocessor_) == ["a"] and clf.preprocessor_["a"] is not scaler
    assert not hasattr(scaler, "mean_")  # the given transformer is never fitted
    np.testing.assert_allclose(clf.preprocessor_["a"].mean_, Xa.mean(axis=0))
    assert clf.input_names_ == ["a", "b"] and clf.input_shape_ == {"a": (3,), "b": (2,)}
    assert not hasattr(clf, "n_features_in_")
    proba = clf.predict_proba({"a": Xa, "b": Xb})
    assert proba.shape == (N, 2)
    # keys in another order, or a MultiInput, give the same rows
    np.testing.assert_array_equal(proba, clf.predict_proba({"b": Xb, "a": Xa}))
    np.testing.assert_array_equal(proba, clf.predict_proba(MultiInput({"a": Xa, "b": Xb})))
    assert 0.0 <= clf.score({"a": Xa, "b": Xb}, y_bin) <= 1.0


def test_unscaled_input_changes_predictions(data, dict_fit):
    """The per-input scaler is applied at predict: shifting input a changes the output,
    while input b passes through unchanged."""
    Xa, Xb, _, _ = data
    clf, _ = dict_fit
    base = clf.predict_proba({"a": Xa, "b": Xb})
    shifted = clf.predict_proba({"a": Xa + 100.0, "b": Xb})
    assert not np.allclose(base, shifted)


def test_same_seed_same_predictions(data):
    Xa, Xb, y_bin, _ = data
    X = {"a": Xa, "b": Xb}

    def fit():
        return KerasPipelineClassifier(two_inputs, preprocessor={"a": StandardScaler()},
                                       epochs=2, random_state=3).fit(X, y_bin).predict_proba(X)

    np.testing.assert_array_equal(fit(), fit())


def test_dataframe_input_with_its_own_sparse_encoder(data):
    Xa, _, y_bin, _ = data
    frame = pd.DataFrame({"city": np.array(["x", "y", "z"])[np.arange(N) % 3]})
    clf = KerasPipelineClassifier(
        two_inputs, preprocessor={"b": OneHotEncoder()},  # sparse output, densified per batch
        epochs=1, random_state=0,
    )
    clf.fit({"a": Xa, "b": frame}, y_bin)
    assert clf.input_shape_ == {"a": (3,), "b": (3,)}
    assert clf.predict({"a": Xa[:4], "b": frame[:4]}).shape == (4,)


@pytest.mark.slow
def test_cross_val_score_and_grid_search_split_multi_input(data):
    Xa, Xb, y_bin, _ = data
    X = MultiInput({"a": Xa, "b": Xb})
    clf = KerasPipelineClassifier(two_inputs, preprocessor={"a": StandardScaler()}, epochs=1,
                                  random_state=0)
    scores = cross_val_score(clf, X, y_bin, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(clf, {"preprocessor__a__with_std": [True, False]}, cv=2).fit(X, y_bin)
    assert len(search.cv_results_["params"]) == 2
    assert search.best_estimator_.preprocessor_["a"].with_std == search.best_params_["preprocessor__a__with_std"]
    assert search.best_estimator_.input_names_ == ["a", "b"]
    assert search.predict(X).shape == (N,)


def test_plain_dict_is_accepted_directly_but_sklearn_cannot_split_it(data):
    Xa, Xb, y_bin, _ = data
    assert _num_samples({"a": Xa, "b": Xb}) == 2  # why MultiInput exists
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cross_val_score(KerasPipelineClassifier(two_inputs, epochs=1), {"a": Xa, "b": Xb}, y_bin, cv=2)


def test_input_errors_name_both_lists(data, dict_fit):
    Xa, Xb, y_bin, _ = data
    clf, _ = dict_fit
    make = lambda **kw: KerasPipelineClassifier(two_inputs, epochs=1, **kw)  # noqa: E731
    with pytest.raises(ValueError, match=r"X has inputs \['a', 'c'\], but the model's inputs are named \['a', 'b'\]"):
        make().fit({"a": Xa, "c": Xb}, y_bin)
    with pytest.raises(ValueError, match=r"different numbers of rows: \{'a': 60, 'b': 50\}"):
        make().fit({"a": Xa, "b": Xb[:50]}, y_bin)
    with pytest.raises(ValueError, match=r"transformer\(s\) for \['z'\], which are not inputs of X; the inputs are \['a', 'b'\]"):
        make(preprocessor={"z": StandardScaler()}).fit({"a": Xa, "b": Xb}, y_bin)
    with pytest.raises(TypeError, match="preprocessor must be a dict"):
        make(preprocessor=StandardScaler()).fit({"a": Xa, "b": Xb}, y_bin)
    with pytest.raises(ValueError, match="X is a single array"):
        make(preprocessor={"a": StandardScaler()}).fit(Xa, y_bin)
    with pytest.raises(ValueError, match=r"several inputs \['a', 'b'\], but X is a single array"):
        make().fit(np.hstack([Xa, Xb]), y_bin)
    with pytest.raises(ValueError, match="default model"):
        KerasPipelineClassifier(epochs=1).fit({"a": Xa, "b": Xb}, y_bin)
    with pytest.raises(ValueError, match=r"Input 'b': .*NaN"):
        make().fit({"a": Xa, "b": np.where(Xb > 1, np.nan, Xb)}, y_bin)
    # predict
    with pytest.raises(ValueError, match=r"X has inputs \['a'\], but the estimator was fitted on inputs \['a', 'b'\]"):
        clf.predict({"a": Xa})
    with pytest.raises(ValueError, match=r"fitted on several inputs \['a', 'b'\]"):
        clf.predict(Xa)
    with pytest.raises(ValueError, match=r"Input 'b': X has 3 features"):
        clf.predict({"a": Xa, "b": np.hstack([Xb, Xb[:, :1]])})


def test_save_and_export_take_several_inputs(data, dict_fit, tmp_path):
    """(Fixtures, export and every kind: tests/test_multi_io_persistence.py.)"""
    Xa, Xb, _, _ = data
    clf, _ = dict_fit
    clf.save(tmp_path / "est.skkp")
    loaded = load(tmp_path / "est.skkp", trusted=[f"{__name__}.two_inputs"])
    np.testing.assert_array_equal(loaded.predict_proba({"a": Xa, "b": Xb}),
                                  clf.predict_proba({"a": Xa, "b": Xb}))
    assert clf.export_model().input["a"].shape == (None, 3)


# -- several outputs ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def heads_fit(data):
    Xa, _, y_bin, y_cls = data
    clf = KerasPipelineClassifier(two_heads, preprocessor=StandardScaler(), epochs=2,
                                  random_state=0)
    return clf.fit(Xa, {"flag": y_bin, "kind": y_cls})


def test_classifier_heads_predict_like_sklearn_multioutput(data, heads_fit):
    Xa, _, y_bin, y_cls = data
    clf = heads_fit
    assert clf.target_type_ == "multiclass-multioutput" and clf.n_outputs_ == 2
    names = clf.target_encoder_.names_
    assert sorted(names) == ["flag", "kind"]
    kind = names.index("kind")
    assert clf.classes_[kind].tolist() == ["hi", "lo", "mid"] and clf.n_classes_[kind] == 3
    proba = clf.predict_proba(Xa)
    assert isinstance(proba, list) and proba[kind].shape == (N, 3) and proba[1 - kind].shape == (N, 2)
    np.testing.assert_allclose(proba[kind].sum(axis=1), 1.0, rtol=1e-5)
    pred = clf.predict(Xa)
    assert pred.shape == (N, 2)
    np.testing.assert_array_equal(pred[:, kind], clf.classes_[kind][proba[kind].argmax(axis=1)])
    truth = {"flag": y_bin, "kind": y_cls}
    expected = np.mean((pred[:, kind] == y_cls) & (pred[:, 1 - kind].astype(int) == y_bin))
    assert clf.score(Xa, truth) == pytest.approx(expected)
    assert clf.score(Xa, MultiOutput(truth)) == pytest.approx(expected)
    assert {"flag_loss", "kind_loss"} <= set(clf.history_)
    logp = clf.predict_log_proba(Xa)
    np.testing.assert_allclose(np.exp(logp[kind]), proba[kind], rtol=1e-6)
    with pytest.raises(ValueError, match="decision_function is not defined for several outputs"):
        clf.decision_function(Xa)


def test_loss_per_output_and_validation_split(data):
    Xa, _, y_bin, y_cls = data
    y = {"kind": y_cls, "flag": y_bin}
    clf = KerasPipelineClassifier(
        two_heads, loss={"kind": "categorical_crossentropy", "flag": "binary_crossentropy"},
        metrics=["accuracy"], validation_split=0.2, epochs=1, random_state=0,
    ).fit(Xa, y)
    assert {"kind_accuracy", "flag_accuracy", "val_kind_accuracy"} <= set(clf.history_)
    kind = clf.target_encoder_.names_.index("kind")
    assert clf.target_encoder_.heads_[kind].layout_ == "one_hot"  # from the per-output loss
    assert "val_loss" in clf.history_
    some = KerasPipelineClassifier(two_heads, loss={"kind": "categorical_crossentropy"},
                                   epochs=1).fit(Xa, y)  # the other output gets its default
    assert some.model_.loss == {"kind": "categorical_crossentropy", "flag": "binary_crossentropy"}


def test_class_weight_per_output_is_sklearns_product_of_weights(data):
    """Per-output class weights (a dict by output name, a list in y's order, or "balanced")
    weight each row by the product over its outputs, as scikit-learn's compute_sample_weight
    does for multi-output y: training with them equals training with that sample_weight."""
    from sklearn.utils.class_weight import compute_sample_weight

    Xa, _, y_bin, y_cls = data
    y = {"kind": y_cls, "flag": y_bin}
    weights = {"kind": {"hi": 5.0, "lo": 1.0, "mid": 0.5}, "flag": "balanced"}
    expected = (compute_sample_weight(weights["kind"], y_cls)
                * compute_sample_weight("balanced", y_bin))

    def fit(**kw):
        clf = KerasPipelineClassifier(two_heads, epochs=2, random_state=0, **kw)
        return clf.fit(Xa, y, sample_weight=kw.pop("sw", None)) if "sw" in kw else clf.fit(Xa, y)

    by_name = fit(class_weight=weights).predict_proba(Xa)
    by_weight = KerasPipelineClassifier(two_heads, epochs=2, random_state=0).fit(
        Xa, y, sample_weight=expected).predict_proba(Xa)
    plain = KerasPipelineClassifier(two_heads, epochs=2, random_state=0).fit(Xa, y).predict_proba(Xa)
    for a, b, c in zip(by_name, by_weight, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(np.abs(a - c).max() > 1e-4 for a, c in zip(by_name, plain))
    # a list in y's order (the list form of y, as scikit-learn takes it), and fit(class_weight=)
    as_list = KerasPipelineClassifier(two_heads, epochs=2, random_state=0).fit(
        Xa, [y_cls, y_bin], class_weight=[weights["kind"], "balanced"])
    names = as_list.target_encoder_.names_
    kind = names.index("kind")
    np.testing.assert_allclose(as_list.predict_proba(Xa)[kind], by_name[kind], rtol=1e-5, atol=1e-6)


def test_class_weight_per_output_errors_name_the_fix(data):
    Xa, _, y_bin, y_cls = data
    y = {"kind": y_cls, "flag": y_bin}
    clf = KerasPipelineClassifier(two_heads, epochs=1)
    with pytest.raises(ValueError, match=r"keys \['hi', 'lo'\], which look like labels.*\{output name: \{label: weight\}\}"):
        clf.set_params(class_weight={"hi": 2.0, "lo": 1.0}).fit(Xa, y)
    with pytest.raises(ValueError, match=r"class_weight\['flag'\] has keys \[7\] that are not labels"):
        clf.set_params(class_weight={"flag": {7: 2.0}}).fit(Xa, y)
    with pytest.raises(ValueError, match="class_weight is a list of 1, but y has 2 outputs"):
        clf.set_params(class_weight=[None]).fit(Xa, y)
    with pytest.raises(ValueError, match="a list, which is for several outputs"):
        clf.set_params(class_weight=[{0: 1.0}]).fit(Xa, y_bin)


def test_output_errors_name_both_lists(data):
    Xa, Xb, y_bin, y_cls = data
    with pytest.raises(ValueError, match=r"y has targets for outputs \['flag', 'sort'\], but the model's outputs are"):
        KerasPipelineClassifier(two_heads, epochs=1).fit(Xa, {"flag": y_bin, "sort": y_cls})
    with pytest.raises(ValueError, match=r"different numbers of rows: \{'flag': 60, 'kind': 59\}"):
        KerasPipelineClassifier(two_heads, epochs=1).fit(Xa, {"flag": y_bin, "kind": y_cls[:-1]})
    with pytest.raises(ValueError, match=r"y holds 3 target\(s\), but the model has 2 outputs \['r1', 'r2'\]"):
        KerasPipelineRegressor(two_values, epochs=1).fit({"a": Xa, "b": Xb}, [Xa[:, 0], Xa[:, 1], Xa[:, 2]])
    with pytest.raises(ValueError, match="single output"):
        KerasPipelineClassifier(two_inputs, epochs=1).fit({"a": Xa, "b": Xb}, [y_bin, y_bin])
    with pytest.raises(ValueError, match=r"The model has several outputs \['kind', 'flag'\]; pass y as a dict keyed by output name"):
        KerasPipelineClassifier(two_heads, epochs=1).fit(Xa, y_bin)
    with pytest.raises(ValueError, match=r"Target of output 'kind': .*missing labels"):
        KerasPipelineClassifier(two_heads, epochs=1).fit(
            Xa, {"flag": y_bin, "kind": np.where(y_bin == 1, None, y_cls).astype(object)})


def test_regressor_heads_multi_input_and_multi_output(data):
    Xa, Xb, _, _ = data
    X = {"a": Xa, "b": Xb}
    y = [Xa[:, 0] * 10.0, Xb[:, 1] - 2.0]
    reg = KerasPipelineRegressor(two_values, preprocessor={"a": StandardScaler()}, epochs=2,
                                 random_state=0).fit(X, y)
    assert reg.target_encoder_.names_ == ["r1", "r2"]
    pred = reg.predict(X)
    assert pred.shape == (N, 2)
    # each head's target transformer standardised its own target: predictions are on y's scale
    assert abs(pred[:, 0].mean() - y[0].mean()) < 3 * y[0].std()
    truth = np.column_stack(y)
    assert reg.score(X, y) == pytest.approx(r2_score(truth, pred))
    assert reg.score(X, truth) == pytest.approx(r2_score(truth, pred))


@pytest.mark.slow
def test_cross_val_score_and_grid_search_split_multi_output(data):
    Xa, Xb, y_bin, y_cls = data
    X = MultiInput({"a": Xa, "b": Xb})
    y = MultiOutput([Xa[:, 0], Xb[:, 1]])
    reg = KerasPipelineRegressor(two_values, epochs=1, random_state=0)
    scores = cross_val_score(reg, X, y, cv=KFold(2))
    assert scores.shape == (2,) and np.all(scores <= 1)
    # labels of mixed types (ints and strings): check_cv reads the targets through
    # numpy.asarray(MultiOutput) and picks KFold, as for any multi-output target
    clf = KerasPipelineClassifier(two_heads, epochs=1, random_state=0)
    search = GridSearchCV(clf, {"optimizer__learning_rate": [1e-3, 1e-2]}, cv=2)
    search.fit(Xa, MultiOutput({"flag": y_bin, "kind": y_cls}))
    assert np.all((search.cv_results_["mean_test_score"] >= 0) & (search.cv_results_["mean_test_score"] <= 1))
    assert search.best_estimator_.predict(Xa).shape == (N, 2)


def test_warm_start_continues_several_inputs_and_outputs(data):
    Xa, Xb, _, _ = data
    X = {"a": Xa, "b": Xb}
    y = [Xa[:, 0], Xb[:, 1]]
    reg = KerasPipelineRegressor(two_values, epochs=1, warm_start=True, random_state=0).fit(X, y)
    model = reg.model_
    reg.fit(X, y)
    assert reg.model_ is model and len(reg.history_["loss"]) == 2
    with pytest.raises(ValueError, match=r"y has 1 target\(s\), but the estimator was fitted with 2"):
        reg.fit(X, [Xa[:, 0]])


def test_per_input_transformer_parameters_are_searchable_names(data):
    Xa, Xb, y_bin, _ = data
    clf = KerasPipelineClassifier(two_inputs, preprocessor={"a": StandardScaler()}, epochs=1)
    params = clf.get_params()
    assert params["preprocessor__a__with_mean"] is True
    clone_ = clone(clf).set_params(preprocessor__a__with_mean=False, epochs=2)
    assert clone_.preprocessor["a"].with_mean is False and clone_.epochs == 2
    assert clf.preprocessor["a"].with_mean is True  # clone copied the dict and its transformer
    with pytest.raises(ValueError, match=r"no input 'z'; its inputs are \['a'\]"):
        clf.set_params(preprocessor__z__with_mean=False)
    fitted = clone_.fit({"a": Xa, "b": Xb}, y_bin)
    np.testing.assert_allclose(fitted.preprocessor_["a"].transform(Xa).mean(axis=0), Xa.mean(axis=0) / Xa.std(axis=0))


def test_sparse_dok_matrices_are_not_taken_for_dicts(data):
    """scipy's DOK matrix subclasses dict; it stays one sparse X (or y)."""
    import scipy.sparse as sp

    from skkeras_prep.multi_io import is_multi_input, is_multi_target

    dok = sp.dok_matrix(np.eye(3))
    assert not is_multi_input(dok) and not is_multi_target(dok)
    assert is_multi_input({"a": np.eye(3)}) and is_multi_target({"a": np.arange(3)})


def test_a_list_with_one_entry_per_row_is_one_target():
    """scikit-learn's convention first: a list of n 1-D arrays is the rows of a multilabel
    target; a list of k arrays of n rows each (k != n) is one target per output."""
    from skkeras_prep.multi_io import is_multi_target

    rows = [np.array([0, 1]), np.array([1, 0]), np.array([1, 1])]
    assert not is_multi_target(rows, 3)
    assert is_multi_target([np.arange(3), np.ones(3)], 3)
    assert not is_multi_target([np.arange(3), np.ones(2)], 3)


# -- with the pool, the compiled epoch loop, compile rules, logits, validation_data ------------
def test_multi_io_fits_take_the_compiled_loop_and_match_keras_fit(data, monkeypatch):
    """The compiled epoch loop (``_compiled_epochs``) runs dict batches (several inputs, several outputs)
    from whole arrays in memory and from the tf.data pipeline; both give Keras ``fit``'s
    weights and history to the bit (as tests/test_pool.py checks for one input and output)."""
    import skkeras_prep
    from skkeras_prep import _compiled_epochs, _dataset

    Xa, Xb, y_bin, y_cls = data
    X, y = {"a": Xa, "b": Xb}, [Xa[:, 0] * 2.0, Xb[:, 1] - 1.0]
    used = []
    for name in ("run", "run_arrays"):
        original = getattr(_compiled_epochs, name)
        monkeypatch.setattr(_compiled_epochs, name, lambda *a, _f=original, _n=name, **k: (used.append(_n), _f(*a, **k))[1])

    def fits(**kw):
        reg = KerasPipelineRegressor(two_values, preprocessor={"a": StandardScaler()}, epochs=3,
                                     batch_size=16, optimizer__learning_rate=0.05, random_state=0,
                                     **kw).fit(X, y)
        clf = KerasPipelineClassifier(two_heads, epochs=3, batch_size=16, random_state=0,
                                      **kw).fit(Xa, {"flag": y_bin, "kind": y_cls})
        return [(reg.predict(X), reg.history_), (clf.predict_proba(Xa), clf.history_)]

    keras_fit = fits(callbacks=[keras.callbacks.Callback()])  # an epoch callback needs model.fit
    assert used == []
    in_memory = fits()
    assert used == ["run_arrays", "run_arrays"]
    skkeras_prep.clear_cache()
    monkeypatch.setattr(_dataset, "MAX_IN_MEMORY_BYTES", 0)
    streamed = fits()
    assert used[2:] == ["run", "run"]
    for other in (in_memory, streamed):
        for (want, want_history), (got, history) in zip(keras_fit, other):
            for w, g in zip(want if isinstance(want, list) else [want],
                            got if isinstance(got, list) else [got]):
                np.testing.assert_array_equal(g, w)
            assert history == want_history
    assert keras_fit[0][1]["loss"][-1] < keras_fit[0][1]["loss"][0]
    assert {"r1_loss", "r2_loss"} <= set(keras_fit[0][1])


def test_pool_key_tells_models_apart_by_input_and_output_names():
    """Layer names are positions in the pool key, but a model with several inputs or outputs
    is fed and read by name: models given as lists that differ only in those names must not
    share a key (given as dicts, the keys are in the config already)."""
    from skkeras_prep._pool import pool_key

    def model(in_names, out_names, as_dict):
        a, b = (keras.Input((3,), name=in_names[0]), keras.Input((2,), name=in_names[1]))
        h = keras.layers.Concatenate()([a, b])
        outs = [keras.layers.Dense(1, name=name)(h) for name in out_names]
        m = keras.Model(dict(zip(in_names, (a, b))) if as_dict else [a, b],
                        dict(zip(out_names, outs)) if as_dict else outs)
        m.compile(optimizer="adam", loss="mse")
        return m

    for as_dict in (False, True):
        key = pool_key(model(("a", "b"), ("r1", "r2"), as_dict))
        assert key is not None and key == pool_key(model(("a", "b"), ("r1", "r2"), as_dict))
        assert pool_key(model(("c", "d"), ("r1", "r2"), as_dict)) != key
        assert pool_key(model(("a", "b"), ("s1", "s2"), as_dict)) != key


def logit_heads(meta):
    """two_heads without the activations: logits."""
    x = keras.Input(meta["input_shape_"])
    h = keras.layers.Dense(4, activation="relu")(x)
    return keras.Model(x, {"kind": keras.layers.Dense(3)(h), "flag": keras.layers.Dense(1)(h)})


def test_logits_per_output(data):
    Xa, _, y_bin, y_cls = data
    loss = {"kind": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "flag": keras.losses.BinaryCrossentropy(from_logits=True)}
    clf = KerasPipelineClassifier(logit_heads, loss=loss, epochs=1, random_state=0)
    clf.fit(Xa, {"flag": y_bin, "kind": y_cls})
    proba = clf.predict_proba(Xa)
    names = clf.target_encoder_.names_
    for name, p in zip(names, proba):
        assert p.min() >= 0.0 and p.max() <= 1.0
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert [h.logits_activation_ for h in clf.target_encoder_.heads_] == [
        {"kind": "softmax", "flag": "sigmoid"}[name] for name in names]
    with pytest.raises(ValueError, match="not probabilities"):  # logits without from_logits
        KerasPipelineClassifier(logit_heads, epochs=1, random_state=0).fit(
            Xa, {"flag": y_bin, "kind": y_cls}).predict_proba(Xa)


def test_compiled_multi_output_model_keeps_its_loss_and_takes_set_metrics(data):
    Xa, _, y_bin, y_cls = data

    def compiled(meta):
        model = two_heads(meta)
        model.compile(optimizer="sgd", loss={"kind": "categorical_crossentropy",
                                             "flag": "binary_crossentropy"})
        return model

    y = {"flag": y_bin, "kind": y_cls}
    clf = KerasPipelineClassifier(compiled, metrics=["accuracy"], epochs=1, random_state=0).fit(Xa, y)
    assert {"kind_accuracy", "flag_accuracy"} <= set(clf.history_)
    kind = clf.target_encoder_.names_.index("kind")
    assert clf.target_encoder_.heads_[kind].layout_ == "one_hot"  # the model's own loss kept
    assert type(clf.model_.optimizer).__name__ == "SGD"


def test_meta_and_compile_kwargs_for_several_outputs(data):
    Xa, _, y_bin, y_cls = data
    seen = {}

    def builder(meta, compile_kwargs):
        seen.update(meta=dict(meta), loss=compile_kwargs["loss"])
        return two_heads(meta)

    KerasPipelineClassifier(builder, epochs=1, random_state=0).fit(Xa, {"flag": y_bin, "kind": y_cls})
    assert seen["meta"]["output_names_"] == ["flag", "kind"]
    assert seen["meta"]["n_outputs_expected_"] == 2
    assert seen["loss"] == {"flag": "binary_crossentropy", "kind": "sparse_categorical_crossentropy"}
    with pytest.raises(KeyError, match="output_names_"):  # Meta lists the keys it has
        KerasPipelineClassifier(lambda meta: meta["no_such_key"], epochs=1).fit(Xa, y_bin)


def test_validation_data_batch_size_and_augmentation_with_several_inputs(data):
    Xa, Xb, _, _ = data
    X, y = {"a": Xa, "b": Xb}, [Xa[:, 0], Xb[:, 1]]
    X_val, y_val = {"a": Xa[:20], "b": Xb[:20]}, [Xa[:20, 0], Xb[:20, 1]]
    reg = KerasPipelineRegressor(two_values, preprocessor={"a": StandardScaler()}, epochs=2,
                                 random_state=0).fit(X, y, validation_data=(X_val, y_val))
    assert len(reg.history_["val_loss"]) == 2 and "val_r1_loss" in reg.history_
    np.testing.assert_allclose(reg.predict(X, batch_size=7), reg.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match="augmentation is not supported for X with several inputs"):
        KerasPipelineRegressor(two_values, augmentation={"flip": "horizontal"}, epochs=1).fit(X, y)


def test_dask_x_with_several_outputs_trains_and_predicts_lazily(data):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    Xa, Xb, y_bin, y_cls = data
    clf = KerasPipelineClassifier(two_heads, preprocessor=StandardScaler(), epochs=2,
                                  validation_split=0.2, random_state=0)
    clf.fit(da.from_array(Xa, chunks=20), {"flag": y_bin, "kind": y_cls})
    assert {"flag_loss", "kind_loss", "val_loss"} <= set(clf.history_)
    lazy_X = da.from_array(Xa, chunks=20)
    proba = clf.predict_proba(lazy_X)  # a list of lazy arrays, one per output
    assert isinstance(proba, list) and all(p.chunks[0] == (20, 20, 20) for p in proba)
    for got, want in zip(dask.compute(*proba), clf.predict_proba(Xa)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(lazy_X).compute(), clf.predict(Xa))
    reg = KerasPipelineRegressor(two_heads_values, epochs=1, random_state=0)
    reg.fit(da.from_array(Xa, chunks=20), {"v1": Xb[:, 0], "v2": Xb[:, 1]})
    np.testing.assert_allclose(reg.predict(lazy_X).compute(), reg.predict(Xa), atol=1e-6)


def two_heads_values(meta):
    """One input, two linear outputs."""
    x = keras.Input(meta["input_shape_"])
    h = keras.layers.Dense(4, activation="relu")(x)
    return keras.Model(x, [keras.layers.Dense(1, name="v1")(h), keras.layers.Dense(1, name="v2")(h)])


def _one_output(meta, wrap):
    """A functional model whose one output is given bare, as a list of one or a dict of one."""
    x = keras.Input(meta["input_shape_"])
    out = keras.layers.Dense(1, activation="sigmoid", name="p")(
        keras.layers.Dense(4, activation="relu")(x))
    return keras.Model(x, wrap(out))


def one_bare(meta):
    return _one_output(meta, lambda out: out)


def one_list(meta):
    return _one_output(meta, lambda out: [out])


def one_dict(meta):
    return _one_output(meta, lambda out: {"p": out})


@pytest.mark.parametrize("builder", [one_list, one_dict])
def test_a_list_or_dict_of_one_output_is_one_output(data, builder, tmp_path):
    """``keras.Model(inputs, [output])`` is one output, as Keras's fit takes it: y is one
    array, and fit, predict, save and export are those of the bare output."""
    from skkeras_prep.export import frame_to_inputs

    Xa, _, y_bin, _ = data
    bare = KerasPipelineClassifier(one_bare, epochs=2, random_state=0).fit(Xa, y_bin)
    clf = KerasPipelineClassifier(builder, epochs=2, random_state=0).fit(Xa, y_bin)
    assert clf.n_outputs_ == 1 and clf.classes_.tolist() == [0, 1]
    proba = clf.predict_proba(Xa)
    np.testing.assert_array_equal(proba, bare.predict_proba(Xa))
    exported = clf.export_model()
    np.testing.assert_allclose(np.asarray(exported(frame_to_inputs(exported, Xa))), proba, atol=1e-6)
    clf.save(tmp_path / "one.skkeras")
    loaded = load(tmp_path / "one.skkeras", trusted=[f"{__name__}.{builder.__name__}"])
    np.testing.assert_array_equal(loaded.predict_proba(Xa), proba)
