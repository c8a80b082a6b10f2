"""Three published scikeras / Keras-wrapper examples, ported with the smallest possible changes.

- scikeras's Basic Usage notebook (docs/source/notebooks/Basic_Usage.md),
- scikeras's MLPClassifier / MLPRegressor tutorial (docs/source/notebooks/MLPClassifier_MLPRegressor.md),
- the ``keras.wrappers.SKLearnClassifier`` docstring example (keras/src/wrappers/sklearn_wrapper.py).

The code below is theirs, section by section, with each change marked ``# PORT:`` and listed,
before and after, in docs/migrating-from-scikeras.md ("The three ported examples"). Changes
made only to keep the test suite fast (smaller data, fewer epochs, ``n_jobs=1``, a
``random_state``) are marked ``# TEST:`` and change nothing else.
"""

import pickle
from typing import Any, Dict, Iterable

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification, make_moons, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# PORT: from scikeras.wrappers import KerasClassifier, KerasRegressor
from skkeras_prep import KerasPipelineClassifier as KerasClassifier
from skkeras_prep import KerasPipelineRegressor as KerasRegressor

# PORT: the notebooks' "silence TensorFlow logging" cell is left out: get_logger().setLevel
# changes process-wide state, and this library never sets TF's random state, so it has no
# "Setting the random state for TF" warning to filter.


# -- Basic Usage notebook ----------------------------------------------------------------------
def get_clf(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    n_classes_ = meta["n_classes_"]  # noqa: F841 (as in the notebook)
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def get_reg(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1))
    return model


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(1000, 20, n_informative=10, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def basic_clf(classification):
    """Sections 2.3-2.4: defining and training the classifier."""
    X, y = classification
    clf = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        model__hidden_layer_sizes=(100,),  # PORT: hidden_layer_sizes=(100,),
        model__dropout=0.5,  # PORT: dropout=0.5,
        epochs=3,  # TEST: scikeras's default is 1 epoch, this library's 100
        random_state=0,  # TEST
    )
    clf.fit(X, y)
    return clf


@pytest.fixture(scope="module")
def regression():
    X_regr, y_regr = make_regression(1000, 20, n_informative=10, random_state=0)
    return X_regr, y_regr


@pytest.fixture(scope="module")
def basic_reg(regression):
    """Sections 3.3: defining and training the regressor."""
    X_regr, y_regr = regression
    reg = KerasRegressor(
        model=get_reg,
        loss="mse",
        metrics=[keras.metrics.R2Score],
        model__hidden_layer_sizes=(100,),  # PORT: hidden_layer_sizes=(100,),
        model__dropout=0.5,  # PORT: dropout=0.5,
        epochs=3,  # TEST
        random_state=0,  # TEST
    )
    reg.fit(X_regr, y_regr)
    return reg


def test_basic_usage_classifier_predictions(basic_clf, classification):
    X, y = classification
    y_pred = basic_clf.predict(X[:5])
    y_proba = basic_clf.predict_proba(X[:5])
    assert set(y_pred) <= {0, 1} and y_proba.shape == (5, 2)
    np.testing.assert_allclose(y_proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(y_pred, y_proba.argmax(axis=1))
    assert basic_clf.score(X, y) > 0.7


def test_basic_usage_regressor_predictions(basic_reg, regression):
    X_regr, y_regr = regression
    y_pred = basic_reg.predict(X_regr[:5])
    assert y_pred.shape == (5,)
    assert "r2_score" in basic_reg.history_
    assert basic_reg.score(X_regr, y_regr) > 0.5


def test_basic_usage_saving_the_whole_model_with_pickle(basic_reg, regression):
    """Section 4.1."""
    X_regr, _ = regression
    bytes_model = pickle.dumps(basic_reg)
    new_reg = pickle.loads(bytes_model)
    np.testing.assert_allclose(new_reg.predict(X_regr[:5]), basic_reg.predict(X_regr[:5]))


def test_basic_usage_in_a_pipeline(basic_clf, classification):
    """Section 5."""
    X, y = classification
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("clf", basic_clf),
    ])
    y_proba = pipe.fit(X, y).predict(X)
    assert y_proba.shape == (len(X),)


# The sections below need scikeras-compatibility features of issue 12 (branch `compat`); each
# test names the features it needs.
def test_basic_usage_saving_with_keras_and_initialize(basic_reg, regression, tmp_path):
    """Section 4.2. Needs: initialize(X, y)."""
    X_regr, y_regr = regression
    # Save to disk
    pred_old = basic_reg.predict(X_regr)
    basic_reg.model_.save(tmp_path / "my_model.keras")  # TEST: "/tmp/my_model.keras"
    # Load the model back into memory
    new_reg_model = keras.saving.load_model(tmp_path / "my_model.keras")
    # Now we need to instantiate a new SciKeras object
    # since we only saved the Keras model
    # PORT: the original fit standardised y (target_transformer="auto"); a wrapped model is
    # taken as trained on raw y unless told otherwise, so the scaling is named explicitly.
    reg_new = KerasRegressor(new_reg_model, target_transformer=StandardScaler())
    # use initialize to avoid re-fitting
    reg_new.initialize(X_regr, y_regr)
    pred_new = reg_new.predict(X_regr)
    np.testing.assert_allclose(pred_old, pred_new, rtol=1e-5)


class MaxValLoss(keras.callbacks.Callback):

    def __init__(self, monitor: str, threashold: float):
        self.monitor = monitor
        self.threashold = threashold

    def on_epoch_end(self, epoch, logs=None):
        if logs[self.monitor] > self.threashold:
            print("Threashold reached; stopping training")
            self.model.stop_training = True


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=0)
    return X, y


def test_basic_usage_callbacks(moons):
    """Section 6. Needs: the fit__ prefix (fit__validation_split), verbose=False."""
    X, y = moons
    kwargs = dict(
        model=get_clf,
        loss="binary_crossentropy",
        dropout=0.5,
        hidden_layer_sizes=(100,),
        metrics=["binary_accuracy"],
        fit__validation_split=0.2,
        epochs=20,
        verbose=False,
        random_state=0
    )
    # PORT: dropout=0.5, hidden_layer_sizes=(100,) -> model__dropout, model__hidden_layer_sizes
    kwargs["model__dropout"] = kwargs.pop("dropout")
    kwargs["model__hidden_layer_sizes"] = kwargs.pop("hidden_layer_sizes")

    # First test without the callback
    clf = KerasClassifier(**kwargs)
    clf.fit(X, y)
    assert len(clf.history_["loss"]) == 20
    assert len(clf.history_["val_binary_accuracy"]) == 20  # fit__validation_split took effect

    # Test with the callback
    cb = MaxValLoss(monitor="val_binary_accuracy", threashold=0.75)
    clf = KerasClassifier(
        **kwargs,
        callbacks=[cb]
    )
    clf.fit(X, y)
    accuracy = clf.history_["val_binary_accuracy"]
    above = [i for i, value in enumerate(accuracy) if value > 0.75]
    assert len(clf.history_["loss"]) == (above[0] + 1 if above else 20)


@pytest.mark.slow
def test_basic_usage_grid_search(moons):
    """Section 7.2. Needs: verbose=False."""
    X, y = moons
    clf = KerasClassifier(
        model=get_clf,
        loss="binary_crossentropy",
        optimizer="adam",
        optimizer__learning_rate=0.1,
        model__hidden_layer_sizes=(100,),
        model__dropout=0.5,
        verbose=False,
        epochs=2,  # TEST: the notebook trains scikeras's default, 1 epoch
    )
    params = {
        'optimizer__learning_rate': [0.05, 0.1],
        'model__hidden_layer_sizes': [(100, ), (50, 50, )],
        'model__dropout': [0, 0.5],
    }
    gs = GridSearchCV(clf, params, scoring='accuracy', n_jobs=1, verbose=True, cv=2)  # TEST: n_jobs=-1, cv=5
    gs.fit(X, y)
    print(gs.best_score_, gs.best_params_)
    assert set(gs.best_params_) == set(params)
    assert len({round(s, 6) for s in gs.cv_results_["mean_test_score"]}) > 1  # parameters took effect


# -- MLPClassifier / MLPRegressor tutorial -----------------------------------------------------
def get_clf_model(hidden_layer_sizes: Iterable[int], meta: Dict[str, Any], compile_kwargs: Dict[str, Any]):
    model = keras.Sequential()
    inp = keras.layers.Input(shape=(meta["n_features_in_"],))
    model.add(inp)
    for hidden_layer_size in hidden_layer_sizes:
        layer = keras.layers.Dense(hidden_layer_size, activation="relu")
        model.add(layer)
    if meta["target_type_"] == "binary":
        n_output_units = 1
        output_activation = "sigmoid"
        loss = "binary_crossentropy"
    elif meta["target_type_"] == "multiclass":
        n_output_units = meta["n_classes_"]
        output_activation = "softmax"
        loss = "sparse_categorical_crossentropy"
    else:
        raise NotImplementedError(f"Unsupported task type: {meta['target_type_']}")
    out = keras.layers.Dense(n_output_units, activation=output_activation)
    model.add(out)
    model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
    return model


@pytest.fixture(scope="module")
def tutorial_data():
    X, y = make_classification(random_state=0)  # TEST: random_state=0
    return X, y


def test_mlp_tutorial_function_with_compile_kwargs(tutorial_data):
    """Sections 2.5 and 3. Needs: the compile_kwargs builder argument; a builder that compiles
    its model keeps the estimator's optimizer (compile_kwargs["optimizer"])."""
    clf = KerasClassifier(
        model=get_clf_model,
        model__hidden_layer_sizes=(100, ),  # PORT: hidden_layer_sizes=(100, ),
        optimizer="adam",
        optimizer__learning_rate=0.001,
        epochs=20,  # TEST: epochs=50
        verbose=0,
        random_state=0,  # TEST
    )
    X, y = tutorial_data
    # check that fit works
    clf.fit(X, y)
    # check score
    print(clf.score(X, y))
    assert clf.score(X, y) > 0.7
    assert isinstance(clf.model_.optimizer, keras.optimizers.Adam)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.001)


class MLPClassifier(KerasClassifier):

    def __init__(
        self,
        hidden_layer_sizes=(100, ),
        optimizer="adam",
        optimizer__learning_rate=0.001,
        epochs=200,
        verbose=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.epochs = epochs
        self.verbose = verbose

    def _keras_build_fn(self, compile_kwargs: Dict[str, Any]):
        model = keras.Sequential()
        inp = keras.layers.Input(shape=(self.n_features_in_,))
        model.add(inp)
        for hidden_layer_size in self.hidden_layer_sizes:
            layer = keras.layers.Dense(hidden_layer_size, activation="relu")
            model.add(layer)
        if self.target_type_ == "binary":
            n_output_units = 1
            output_activation = "sigmoid"
            loss = "binary_crossentropy"
        elif self.target_type_ == "multiclass":
            n_output_units = self.n_classes_
            output_activation = "softmax"
            loss = "sparse_categorical_crossentropy"
        else:
            raise NotImplementedError(f"Unsupported task type: {self.target_type_}")
        out = keras.layers.Dense(n_output_units, activation=output_activation)
        model.add(out)
        model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
        return model


def test_mlp_tutorial_subclassed_classifier(tutorial_data):
    """Section 4.1. Needs: subclassing with _keras_build_fn (n_features_in_, target_type_ and
    n_classes_ set on the estimator before it is called), the subclass's parameters
    searchable, and compile_kwargs."""
    X, y = tutorial_data
    clf = MLPClassifier(epochs=20, random_state=0)  # for notebook execution time  # TEST: random_state

    # check score
    print(clf.fit(X, y).score(X, y))
    assert clf.score(X, y) > 0.7
    assert clf.model_.layers[0].units == 100  # the subclass's model was trained, not the default MLP
    assert clf.get_params()["hidden_layer_sizes"] == (100,)
    small = clf.set_params(hidden_layer_sizes=(7,)).fit(X, y)
    assert small.model_.layers[0].units == 7  # a searched parameter has an effect


class MLPRegressor(KerasRegressor):

    def __init__(
        self,
        hidden_layer_sizes=(100, ),
        optimizer="adam",
        optimizer__learning_rate=0.001,
        epochs=200,
        verbose=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.epochs = epochs
        self.verbose = verbose

    def _keras_build_fn(self, compile_kwargs: Dict[str, Any]):
        model = keras.Sequential()
        inp = keras.layers.Input(shape=(self.n_features_in_,))
        model.add(inp)
        for hidden_layer_size in self.hidden_layer_sizes:
            layer = keras.layers.Dense(hidden_layer_size, activation="relu")
            model.add(layer)
        out = keras.layers.Dense(1)
        model.add(out)
        model.compile(loss="mse", optimizer=compile_kwargs["optimizer"])
        return model


def test_mlp_tutorial_subclassed_regressor():
    """Section 5. Needs: subclassing with _keras_build_fn, and compile_kwargs."""
    reg = MLPRegressor(epochs=20, random_state=0)  # for notebook execution time  # TEST: random_state

    # Define a simple linear relationship
    y = np.arange(100)
    X = (y/2).reshape(-1, 1)

    # check score
    reg.fit(X, y)
    print(reg.score(X, y))
    assert reg.score(X, y) > 0  # better than the mean after 20 epochs
    assert reg.model_.layers[0].units == 100


# -- keras.wrappers.SKLearnClassifier docstring example ----------------------------------------
from keras.layers import Dense, Input  # noqa: E402
from keras.models import Model  # noqa: E402


def dynamic_model(meta, loss, layers=[10]):  # PORT: def dynamic_model(X, y, loss, layers=[10]):
    # Creates a basic MLP model dynamically choosing the input and
    # output shapes.
    n_features_in = meta["n_features_in_"]  # PORT: X.shape[1]
    inp = Input(shape=(n_features_in,))

    hidden = inp
    for layer_size in layers:
        hidden = Dense(layer_size, activation="relu")(hidden)

    n_outputs = meta["n_classes_"]  # PORT: y.shape[1] if len(y.shape) > 1 else 1 (y one-hot)
    out = Dense(n_outputs, activation="softmax")(hidden)
    model = Model(inp, out)
    model.compile(loss=loss, optimizer="rmsprop")

    return model


def test_keras_sklearn_wrapper_docstring_example():
    """Needs: fit(X, y, epochs=...) keyword arguments; a builder's compiled model (here
    rmsprop and categorical cross-entropy on a 2-unit softmax) is trained as compiled when the
    estimator's own optimizer and loss are left at their defaults."""
    # PORT: from keras.wrappers import SKLearnClassifier
    SKLearnClassifier = KerasClassifier

    X, y = make_classification(n_samples=1000, n_features=10, random_state=0)  # TEST: random_state
    est = SKLearnClassifier(
        model=dynamic_model,
        # PORT: model_kwargs={"loss": "categorical_crossentropy", "layers": [20, 20, 20]},
        model__loss="categorical_crossentropy",
        model__layers=[20, 20, 20],
        random_state=0,  # TEST
    )

    est.fit(X, y, epochs=5)
    assert est.n_iter_ == 5  # the fit keyword won over the constructor's epochs=100
    assert est.epochs == 100  # and did not change the parameter
    assert est.predict_proba(X[:3]).shape == (3, 2)
    assert est.score(X, y) > 0.7

