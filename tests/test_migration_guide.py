"""docs/migrating-from-scikeras.md is true: every row of its four tables has a test here
(``ROWS`` maps each row to it, and ``test_every_row_of_the_guide_has_a_test`` fails on a row
without one), and the guide maps every scikeras parameter.

Where a row states scikeras's behaviour, it is read from ``fixtures/scikeras_0_13.json``
(scikeras is not installed here; with it installed, the parameter list is also read from
scikeras itself). Tiny models, 1-2 epochs, 60 rows."""

import inspect
import json
import pathlib
import random

import keras
import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skkeras_prep import ClassifierTargetEncoder, KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.models import output_units

HERE = pathlib.Path(__file__).resolve().parent
GUIDE = (HERE.parent / "docs" / "migrating-from-scikeras.md").read_text()
SCIKERAS = json.loads((HERE / "fixtures" / "scikeras_0_13.json").read_text())
TABLES = ["## Defaults that differ", "## Parameters, side by side",
          "## Methods and fitted attributes", "## What the builder receives"]
N = 60


def table_rows(title):
    """The rows of one table of the guide, each keyed by its first cell (its second when the
    first is "—", a feature scikeras does not have)."""
    start = GUIDE.index(title)
    end = GUIDE.index("\n## ", start + 3)
    lines = [line for line in GUIDE[start:end].splitlines() if line.startswith("|")]
    keys = []
    for line in lines[2:]:  # after the header and the ---|--- line
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        keys.append(cells[1] if cells[0] == "—" else cells[0])
    return keys


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4)).astype("float32")
    return X, (X[:, 0] + X[:, 1] > 0).astype(int), 100.0 + 30.0 * X[:, 0]


def tiny(meta, hidden=4):
    units, activation = output_units(meta)
    return keras.Sequential([keras.Input(meta["input_shape_"]),
                             keras.layers.Dense(hidden, activation="relu"),
                             keras.layers.Dense(units, activation=activation)])


def compiled(meta):
    model = tiny(meta)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy")
    return model


@pytest.fixture(scope="module")
def clf(data):
    X, y, _ = data
    return KerasPipelineClassifier(tiny, epochs=2, metrics=["acc"], random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def reg(data):
    X, _, y = data
    return KerasPipelineRegressor(tiny, epochs=2, random_state=0).fit(X, y)


def _default(name):
    return inspect.signature(KerasPipelineClassifier).parameters[name].default


def builder_receives(data, **params):
    """Everything a builder declaring ``**kwargs`` is given, after ``initialize``."""
    X, y, _ = data
    seen = {}

    def build(meta, **given):
        seen.update(given)
        return tiny(meta)

    KerasPipelineClassifier(build, **params).initialize(X, y)
    return seen


# -- Defaults that differ --------------------------------------------------------------------------
def defaults_epochs():
    assert SCIKERAS["defaults"]["epochs"] == 1 and _default("epochs") == 100


def defaults_optimizer(data):
    assert SCIKERAS["defaults"]["optimizer"] == "rmsprop" and _default("optimizer") is None
    X, y, _ = data
    built = KerasPipelineClassifier(tiny).initialize(X, y)
    assert isinstance(built.model_.optimizer, keras.optimizers.Adam)  # None means adam


def defaults_verbose():
    assert SCIKERAS["defaults"]["verbose"] == 1 and _default("verbose") == 0


def defaults_batch_size():
    assert SCIKERAS["defaults"]["batch_size"] is None
    assert _default("batch_size") == 32
    assert inspect.signature(KerasPipelineRegressor).parameters["batch_size"].default == 64


def defaults_loss(clf, reg):
    assert SCIKERAS["defaults"]["loss"] is None
    assert clf.model_.loss == "binary_crossentropy"  # one sigmoid unit for a binary target
    assert reg.model_.loss == "mean_squared_error"


def defaults_model(data):
    assert SCIKERAS["defaults"]["model"] is None
    X, y, _ = data
    built = KerasPipelineClassifier(model__hidden_layer_sizes=(3,)).initialize(X, y)
    assert built.predict(X).shape == (N,)  # the default network, skkeras_prep.models.MLP
    assert any(getattr(layer, "units", None) == 3 for layer in built.model_.layers)


def defaults_regressor_targets(reg, data):
    _, _, y = data
    assert reg.target_transformer == "auto"
    scaler = reg.target_encoder_.target_transformer_
    assert isinstance(scaler, StandardScaler) and scaler.mean_[0] == pytest.approx(y.mean())


def defaults_random_state(data):
    X, y, _ = data
    numpy_state = np.random.get_state()[1].copy()
    random.seed(1)  # whatever the global generators hold, the fit's seeds are its own
    a = KerasPipelineClassifier(tiny, random_state=5).initialize(X, y).predict_proba(X)
    random.seed(2)
    b = KerasPipelineClassifier(tiny, random_state=5).initialize(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # not seeded


# -- Parameters, side by side --------------------------------------------------------------------
def params_model(data):
    X, y, _ = data
    model = tiny({"input_shape_": (4,), "n_classes_": 2, "target_type_": "binary",
                  "n_outputs_": 1, "classes_": np.array([0, 1])})
    before = [w.copy() for w in model.get_weights()]
    fitted = KerasPipelineClassifier(model, epochs=1).fit(X, y)
    assert fitted.model_ is not model  # cloned
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # not mutated


def params_build_fn():
    assert "build_fn" in SCIKERAS["parameters"]["KerasClassifier"]
    assert "build_fn" not in KerasPipelineClassifier().get_params()


def params_plain_builder_keywords(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="model__"):
        KerasPipelineClassifier(tiny, hidden=3, epochs=1).fit(X, y)
    built = KerasPipelineClassifier(tiny, model__hidden=3).initialize(X, y)
    assert built.model_.layers[0].units == 3


def params_preprocessor(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, preprocessor=StandardScaler()).initialize(X * 10, y)
    np.testing.assert_allclose(fitted.preprocessor_.mean_, (X * 10).mean(axis=0), rtol=1e-4)


def params_warm_start(data):
    X, y, _ = data
    est = KerasPipelineClassifier(tiny, epochs=1, warm_start=True, random_state=0).fit(X, y)
    weights = est.model_.get_weights()
    est.fit(X, y)
    assert len(est.history_["loss"]) == 2  # continued
    assert not all(np.array_equal(a, b) for a, b in zip(weights, est.model_.get_weights()))


def params_random_state(data):
    X, y, _ = data
    for state in (np.random.RandomState(3), np.random.default_rng(3), None):
        assert KerasPipelineClassifier(tiny, random_state=state).initialize(X, y).n_iter_ == 0


def params_optimizer(data):
    X, y, _ = data
    given = keras.optimizers.SGD(learning_rate=0.05)
    for optimizer in ("sgd", keras.optimizers.SGD, given):
        built = KerasPipelineClassifier(tiny, optimizer=optimizer).initialize(X, y)
        assert isinstance(built.model_.optimizer, keras.optimizers.SGD)
        assert built.model_.optimizer is not given  # an instance is copied


def params_validation_batch_size(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, validation_split=0.25, validation_batch_size=4,
                                     epochs=1).fit(X, y)
    assert "val_loss" in fitted.history_


def params_verbose(data, capsys):
    X, y, _ = data
    KerasPipelineClassifier(tiny, verbose=False, epochs=1).fit(X, y)
    assert capsys.readouterr().out == ""
    KerasPipelineClassifier(tiny, verbose=True).initialize(X, y)  # True (1) is accepted


class Counter(keras.callbacks.Callback):
    def __init__(self, start=0):
        super().__init__()
        self.epochs = start

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def params_callbacks(data):
    X, y, _ = data
    given = Counter()
    fitted = KerasPipelineClassifier(tiny, callbacks=[given, Counter], callbacks__1__start=10,
                                     epochs=2).fit(X, y)
    assert given.epochs == 0  # a copy ran
    assert [c.epochs for c in fitted.callbacks_] == [2, 12]


def params_validation_split(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, validation_split=0.2, epochs=1, random_state=0).fit(X, y)
    assert len(fitted.history_["val_loss"]) == 1  # seeded and stratified: tests/test_training.py


def params_shuffle(data):
    X, y, _ = data
    a = KerasPipelineClassifier(tiny, shuffle=False, epochs=1, random_state=0).fit(X, y)
    assert a.n_iter_ == 1


def params_run_eagerly(data):
    X, y, _ = data
    built = KerasPipelineClassifier(tiny, run_eagerly=True, jit_compile=False).initialize(X, y)
    assert built.model_.run_eagerly is True and built.model_.jit_compile is False


def params_epochs(clf):
    assert clf.n_iter_ == 2 and _default("epochs") == 100


def params_class_weight(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, class_weight="balanced", epochs=1).fit(X, y)
    assert fitted.n_iter_ == 1
    with pytest.raises(ValueError, match="not labels of y"):
        KerasPipelineClassifier(tiny, class_weight={"a": 1.0}, epochs=1).fit(X, y)


def params_early_stopping(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, early_stopping=True, n_iter_no_change=1, tol=10.0,
                                     epochs=20, random_state=0).fit(X, y)
    assert fitted.n_iter_ < 20 and fitted.best_epoch_ is not None


def params_target_transformer(data):
    X, _, y = data
    raw = KerasPipelineRegressor(tiny, target_transformer=None).initialize(X, y)
    assert raw.target_encoder_.target_transformer_ is None


def params_fit_predict_routed(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, fit__validation_split=0.2, predict__batch_size=7,
                                     epochs=1).fit(X, y)
    assert "val_loss" in fitted.history_ and fitted.predict(X).shape == (N,)


def params_compile_routed(data):
    X, y, _ = data
    assert "compile" in SCIKERAS["routing_prefixes"]
    with pytest.raises(ValueError, match="compile__"):
        KerasPipelineClassifier(tiny, compile__run_eagerly=True, epochs=1).fit(X, y)


def params_score_routed(data):
    X, y, _ = data
    fitted = KerasPipelineClassifier(tiny, score__normalize=False, epochs=1).fit(X, y)
    assert fitted.score(X, y) == pytest.approx((fitted.predict(X) == y).sum())


# -- Methods and fitted attributes ---------------------------------------------------------------
def methods_fit(data):
    X, y, _ = data
    est = KerasPipelineClassifier(tiny, epochs=3)
    est.fit(X, y, epochs=1, validation_data=(X[:10], y[:10]))
    assert est.n_iter_ == 1 and est.epochs == 3 and "val_loss" in est.history_


def methods_partial_fit(data):
    X, y, _ = data
    est = KerasPipelineClassifier(tiny, epochs=5).partial_fit(X, y, classes=[0, 1])
    assert est.n_iter_ == 1


def methods_predict(clf, data):
    X, _, _ = data
    np.testing.assert_array_equal(clf.predict_proba(X, batch_size=7), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict_proba(X)[:5], clf.predict_proba(X[:5]))


def methods_score(clf, data):
    X, y, _ = data
    assert clf.score(X, y) == pytest.approx((clf.predict(X) == y).mean())


def methods_model_history(clf):
    assert isinstance(clf.model_, keras.Model)
    assert type(clf.history_) is dict and all(type(v) is list for v in clf.history_.values())


def methods_initialized(clf):
    check_is_fitted(clf)
    assert not hasattr(clf, "initialized_")


def methods_n_features(data):
    import pandas as pd

    X, y, _ = data
    frame = pd.DataFrame(X, columns=list("abcd"))
    fitted = KerasPipelineClassifier(tiny).initialize(frame, y)
    assert fitted.n_features_in_ == 4 and list(fitted.feature_names_in_) == list("abcd")


def methods_classes(clf):
    assert list(clf.classes_) == [0, 1] and clf.n_classes_ == 2
    assert clf.target_type_ == "binary" and clf.n_outputs_ == 1


def methods_meta_attributes(data):
    X, _, _ = data
    seen = builder_receives(data)
    assert seen["X_shape_"] == X.shape and seen["X_dtype_"] == X.dtype
    assert seen["n_outputs_expected_"] == 1 and "y_dtype_" in seen and seen["input_shape_"] == (4,)

def methods_encoders(data):
    X, y, _ = data
    built = KerasPipelineClassifier(tiny, preprocessor=StandardScaler()).initialize(X, y)
    assert isinstance(built.preprocessor_, StandardScaler)
    assert isinstance(built.target_encoder_, ClassifierTargetEncoder)


class SmoothEncoderClassifier(KerasPipelineClassifier):
    @property
    def target_encoder(self):
        return ClassifierTargetEncoder()


def methods_encoder_hooks(data):
    X, y, _ = data
    assert SmoothEncoderClassifier(tiny).initialize(X, y).predict(X).shape == (N,)


def methods_export_model(clf, data):
    X, _, _ = data
    out = np.asarray(clf.export_model()(X.astype("float64")))
    np.testing.assert_allclose(out, clf.predict_proba(X), rtol=1e-4, atol=1e-5)


def methods_history_display(clf):
    pytest.importorskip("matplotlib")
    from skkeras_prep.plotting import HistoryDisplay

    assert HistoryDisplay.from_estimator(clf) is not None


# -- What the builder receives -----------------------------------------------------------------
def builder_meta(data):
    X, y, _ = data
    seen = {}

    def build(meta):
        seen["meta"] = meta
        with pytest.raises(KeyError, match="The available keys are"):
            meta["nope"]
        return tiny(meta)

    KerasPipelineClassifier(build).initialize(X, y)
    assert {"n_features_in_", "input_shape_", "n_classes_", "n_outputs_", "classes_",
            "target_type_", "random_seed_", "feature_encoder_", "target_encoder_"} <= set(seen["meta"])


def builder_meta_keys_by_name(data):
    X, y, _ = data

    def build(n_features_in_, n_classes_, meta):
        assert n_features_in_ == 4 and n_classes_ == 2
        return tiny(meta)

    KerasPipelineClassifier(build).initialize(X, y)


def builder_compile_kwargs(data):
    seen = builder_receives(data, optimizer="sgd", metrics=["acc"])
    assert isinstance(seen["compile_kwargs"]["optimizer"], keras.optimizers.SGD)
    assert seen["compile_kwargs"]["loss"] == "binary_crossentropy"
    assert seen["compile_kwargs"]["metrics"] == ["acc"]

def builder_params(data):
    seen = builder_receives(data, epochs=1, optimizer__learning_rate=0.01)
    assert seen["params"]["epochs"] == 1 and seen["params"]["optimizer__learning_rate"] == 0.01

def builder_model_values(data):
    X, y, _ = data
    built = KerasPipelineClassifier(tiny, model__hidden=2).initialize(X, y)
    assert built.model_.layers[0].units == 2


def builder_plain_keywords(data):
    params_plain_builder_keywords(data)


# Rows whose behaviour is tested at length in other files: the tests that hold them (each
# must exist; test_every_row_of_the_guide_has_a_test checks).
FORMS = "tests/test_scikeras_forms.py::"
ELSEWHERE = {
    "`optimizer__*`": [FORMS + "test_nested_routed_arguments_build_the_inner_object",
                       FORMS + "test_a_key_below_an_object_without_that_argument_is_refused",
                       "tests/test_bad_input_cases.py::test_learning_rate_schedule_is_accepted"],
    "`loss`, `loss__*`": [FORMS + "test_loss_class_by_name_with_routed_arguments",
                          FORMS + "test_loss_list_one_per_output",
                          FORMS + "test_loss_dict_naming_some_outputs_gets_defaults_for_the_others",
                          FORMS + "test_nested_loss_arguments_build_the_inner_object"],
    "`metrics`, `metrics__*`": [FORMS + "test_a_single_metric_is_a_list_of_one",
                                FORMS + "test_metrics_per_output_lists_of_lists",
                                FORMS + "test_metric_class_with_routed_arguments_by_name",
                                FORMS + "test_history_keys_are_what_keras_reports"],
    "`batch_size` (None → 32; -1 = all rows)": [
        FORMS + "test_batch_size_minus_one_is_all_rows_in_one_batch"],
    "`initialize(X, y)`": [FORMS + "test_initialize_builds_and_compiles_without_training",
                           "tests/test_scikeras_compat.py::test_initialize_wraps_a_trained_model"],
    "`current_epoch`": [FORMS + "test_n_iter_counts_the_epochs_of_the_last_call_like_mlp"],
    "pickle": [FORMS + "test_pickle_round_trips_user_classes_then_keeps_training",
               FORMS + "test_a_class_defined_inside_a_function_is_refused_by_name",
               "tests/test_persistence.py::test_loaded_estimator_keeps_training"],
    "a `model__<name>` the builder does not declare, or an argument it needs that is not given": [
        FORMS + "test_builder_argument_mismatch_is_both_value_and_type_error"],
    "a model whose outputs are a one-element list or dict (`keras.Model(inp, [out])`)": [
        FORMS + "test_one_element_outputs_fit_predict_save_and_export"],
}

ROWS = {
    # Defaults that differ
    "`epochs`": defaults_epochs,
    "`optimizer`": defaults_optimizer,
    "`verbose`": defaults_verbose,
    "`batch_size`": defaults_batch_size,
    "`loss`": defaults_loss,
    "`model`": defaults_model,
    "regressor targets": defaults_regressor_targets,
    "`random_state`": defaults_random_state,
    # Parameters, side by side
    "`model` (callable, `keras.Model`, None)": params_model,
    "`build_fn` (deprecated alias)": params_build_fn,
    "builder arguments as plain keywords (`hidden_layer_sizes=...`)": params_plain_builder_keywords,
    "`preprocessor`": params_preprocessor,
    "`warm_start`": params_warm_start,
    "`validation_batch_size`": params_validation_batch_size,
    "`verbose` (int or bool)": params_verbose,
    "`callbacks` (instances or classes), `callbacks__*`": params_callbacks,
    "`validation_split`": params_validation_split,
    "`shuffle`": params_shuffle,
    "`run_eagerly`": params_run_eagerly,
    "`class_weight` (classifier)": params_class_weight,
    "`early_stopping`, `n_iter_no_change`, `tol`": params_early_stopping,
    "`target_transformer` (regressor)": params_target_transformer,
    "`fit__*`, `predict__*`": params_fit_predict_routed,
    "`compile__*`": params_compile_routed,
    "`score__*`": params_score_routed,
    # Methods and fitted attributes
    "`fit(X, y, sample_weight=None, **kwargs)`": methods_fit,
    "`partial_fit(X, y, ...)`": methods_partial_fit,
    "`predict(X, **kwargs)`, `predict_proba(X, **kwargs)`": methods_predict,
    "`score(X, y, sample_weight=None)`": methods_score,
    "`model_`, `history_`": methods_model_history,
    "`initialized_`": methods_initialized,
    "`n_features_in_`, `feature_names_in_`": methods_n_features,
    "`classes_`, `n_classes_`, `target_type_`, `n_outputs_`": methods_classes,
    "`X_shape_`, `X_dtype_`, `y_dtype_`, `n_outputs_expected_`": methods_meta_attributes,
    "`target_encoder_`, `feature_encoder_`": methods_encoders,
    "`target_encoder` / `feature_encoder` (override in a subclass)": methods_encoder_hooks,
    "`export_model()`": methods_export_model,
    "`skkeras_prep.plotting.HistoryDisplay`": methods_history_display,
    # What the builder receives
    "`meta`": builder_meta,
    "each meta key by name (`n_classes_`, ...)": builder_meta_keys_by_name,
    "`compile_kwargs`": builder_compile_kwargs,
    "`params`": builder_params,
    "`model__<name>` values": builder_model_values,
    "plain keyword arguments of the estimator (`hidden_layer_sizes=...`)": builder_plain_keywords,
}
# first cells that repeat in two tables ("`optimizer`", "`random_state`", "`epochs`"): the
# Parameters rows of those names have these tests too
PARAMETER_ROWS = {"`optimizer`": params_optimizer, "`random_state`": params_random_state,
                  "`epochs`": params_epochs}


def test_every_row_of_the_guide_has_a_test():
    rows = [row for title in TABLES for row in table_rows(title)]
    assert len(rows) >= 50
    missing = sorted(set(rows) - set(ROWS) - set(ELSEWHERE))
    assert not missing, f"rows of docs/migrating-from-scikeras.md without a test: {missing}"
    stale = sorted((set(ROWS) | set(ELSEWHERE)) - set(rows))
    assert not stale, f"tests of rows the guide no longer has: {stale}"
    for row, tests in ELSEWHERE.items():
        for test in tests:
            path, name = test.split("::")
            assert f"def {name}(" in (HERE.parent / path).read_text(), f"{row}: no test {test}"


@pytest.mark.parametrize("row", sorted(set(ROWS) | {f"{k} (parameter)" for k in PARAMETER_ROWS}))
def test_row(row, request):
    if row.endswith(" (parameter)"):
        test = PARAMETER_ROWS[row[:-len(" (parameter)")]]
    else:
        test = ROWS[row]
    kwargs = {name: request.getfixturevalue(name) for name in inspect.signature(test).parameters}
    test(**kwargs)


# -- the prose of the guide ----------------------------------------------------------------------
def test_no_stale_marks_in_the_guide():
    assert "issue 12" not in GUIDE and "Assumptions" not in GUIDE and "Status." not in GUIDE


def test_edit_3_rmsprop_replaces_a_builder_compiled_optimizer(data):
    """The guide warns next to edit 3: optimizer="rmsprop" recompiles a builder-compiled model
    with RMSprop, replacing the builder's optimizer (scikeras kept the model's own)."""
    assert "replaced" in GUIDE[GUIDE.index("3. set the defaults"):GUIDE.index("## Defaults")]
    assert SCIKERAS["behaviour"]["compiled_model_with_optimizer_set"] == "keeps the model's own optimizer"
    X, y, _ = data
    kept = KerasPipelineClassifier(compiled).initialize(X, y)
    assert isinstance(kept.model_.optimizer, keras.optimizers.SGD)
    replaced = KerasPipelineClassifier(compiled, optimizer="rmsprop").initialize(X, y)
    assert isinstance(replaced.model_.optimizer, keras.optimizers.RMSprop)


def test_single_class_y_is_refused_with_the_reason(data):
    """scikeras trains on one class; here fit raises a clear error (the guide says why;
    scikit-learn's check_classifiers_one_label accepts either behaviour)."""
    assert SCIKERAS["behaviour"]["single_class_y"] == "trains"
    assert "check_classifiers_one_label" in GUIDE
    X, _, _ = data
    with pytest.raises(ValueError, match=r"only one class \(\[7\]\); a classifier needs"):
        KerasPipelineClassifier(tiny, epochs=1).fit(X, np.full(N, 7))


def test_the_rewrapping_trap_is_documented_where_model_is():
    assert "export_model()" in KerasPipelineRegressor.__doc__.split("model_ : keras.Model")[1][:600]
    assert "The trap of re-wrapping `model_`" in GUIDE


# -- the migration guide covers every scikeras parameter ---------------------------------------
def _parameter_rows():
    table = GUIDE[GUIDE.index("## Parameters, side by side"):GUIDE.index("## Methods and fitted attributes")]
    return [line.split("|")[1] for line in table.splitlines() if line.startswith("| ")]


def _unmapped(names):
    rows = _parameter_rows()
    return sorted(n for n in names if not any(f"`{n}`" in row or f"`{n} " in row or f"`{n}__" in row
                                              for row in rows))


def test_the_migration_guide_maps_every_recorded_scikeras_parameter():
    names = set(SCIKERAS["parameters"]["KerasClassifier"]) | set(SCIKERAS["parameters"]["KerasRegressor"])
    missing = _unmapped(names)
    assert not missing, f"the guide's parameter table has no row for {missing}"


def test_the_migration_guide_maps_every_scikeras_parameter():
    """docs/migrating-from-scikeras.md has a row for each constructor parameter of scikeras's
    estimators (read from scikeras itself, which the bench extra installs)."""
    wrappers = pytest.importorskip("scikeras.wrappers")
    names = set()
    for cls in (wrappers.KerasClassifier, wrappers.KerasRegressor):
        names.update(p.name for p in inspect.signature(cls.__init__).parameters.values()
                     if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD)
    names.discard("self")
    missing = _unmapped(names)
    assert not missing, f"the guide's parameter table has no row for {missing}"
