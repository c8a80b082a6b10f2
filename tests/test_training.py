"""Training control: validation split, early stopping, callbacks, warm start, partial_fit,
verbosity and divergence."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor, TrainingDivergedError
from skkeras_prep.models import MLP


def small(**kwargs):
    params = dict(model=MLP((8,)), preprocessor=StandardScaler(), epochs=3, random_state=0)
    params.update(kwargs)
    return KerasPipelineClassifier(**params)


class CountingCallback(keras.callbacks.Callback):
    def __init__(self, label="counter"):
        super().__init__()
        self.label = label
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_seen += 1


def test_validation_split_reports_val_loss_and_metrics(iris):
    X, y = iris
    clf = small(validation_split=0.2, metrics=["accuracy"]).fit(X, y)
    assert set(clf.history_) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert all(len(v) == 3 for v in clf.history_.values())


@pytest.fixture
def validation_targets(monkeypatch):
    """The targets of every validation set a fit builds, in order."""
    from skkeras_prep import _dataset

    seen = []
    original = _dataset.evaluation_dataset

    def spy(X, y, w, **kwargs):
        seen.append(y.values.copy())
        return original(X, y, w, **kwargs)

    monkeypatch.setattr(_dataset, "evaluation_dataset", spy)
    return seen


def test_validation_split_is_stratified_and_seeded(iris, validation_targets):
    X, y = iris
    seen = validation_targets
    small(validation_split=0.2, epochs=1).fit(X, y)
    small(validation_split=0.2, epochs=1).fit(X, y)
    assert np.bincount(seen[0]).tolist() == [10, 10, 10]  # 20% of 50 per class
    np.testing.assert_array_equal(seen[0], seen[1])


def test_validation_split_is_stratified_for_one_hot_targets(iris, validation_targets):
    X, y = iris
    seen = validation_targets
    small(validation_split=0.2, epochs=1, loss="categorical_crossentropy").fit(X, y)
    assert seen[0].shape == (30, 3)
    assert seen[0].sum(axis=0).tolist() == [10, 10, 10]


def test_early_stopping_stops_and_restores_the_best_weights(iris):
    X, y = iris
    clf = small(
        epochs=200, early_stopping=True, n_iter_no_change=3, tol=0.0, optimizer__learning_rate=0.3
    ).fit(X, y)
    assert 3 < clf.n_iter_ < 200
    assert len(clf.history_["loss"]) == clf.n_iter_
    val = np.asarray(clf.history_["val_loss"])
    assert val.argmin() == clf.n_iter_ - 1 - 3  # stopped 3 epochs after the best one


def test_early_stopping_restores_weights_of_best_epoch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] > 0).astype(int)
    clf = small(
        epochs=60, early_stopping=True, n_iter_no_change=5, validation_split=0.3,
        optimizer__learning_rate=0.2, metrics=["accuracy"],
    ).fit(X, y)
    # evaluate the restored model on the same hold-out: it has the best val_loss seen
    best = min(clf.history_["val_loss"])
    assert best <= clf.history_["val_loss"][-1]


def test_user_callbacks_are_copied_never_shared(iris):
    X, y = iris
    user_cb = CountingCallback()
    est = small(callbacks=[user_cb])
    twin = clone(est)
    est.fit(X, y)
    twin.fit(X, y)
    assert user_cb.epochs_seen == 0  # the user's instance is never trained with
    assert est.callbacks[0] is user_cb and twin.callbacks[0] is not est.callbacks[0]


def test_callback_classes_get_routed_arguments(iris):
    X, y = iris
    made = []

    class Recorder(CountingCallback):
        def __init__(self, label="x"):
            super().__init__(label)
            made.append(self)

    small(callbacks=[Recorder], callbacks__0__label="routed").fit(X, y)
    small(callbacks={"rec": Recorder}, callbacks__rec__label="by-key").fit(X, y)
    assert [cb.label for cb in made] == ["routed", "by-key"]
    assert made[0].epochs_seen == 3
    with pytest.raises(ValueError, match="keyed"):
        small(callbacks=[Recorder], callbacks__5__label="x").fit(X, y)


def test_batch_level_callbacks_see_every_batch(iris):
    X, y = iris

    class BatchCounter(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            type(self).batches += 1

    small(callbacks=[BatchCounter], batch_size=50).fit(X, y)
    assert BatchCounter.batches == 3 * 3  # 3 epochs of 3 batches


def test_warm_start_continues_the_same_model(iris):
    X, y = iris
    clf = small(warm_start=True, epochs=5)
    clf.fit(X, y)
    model = clf.model_
    weights = [w.copy() for w in model.get_weights()]
    first_losses = list(clf.history_["loss"])
    clf.fit(X, y)
    assert clf.model_ is model
    assert clf.n_iter_ == 5  # the epochs of the last fit (MLPClassifier's rule)
    assert len(clf.history_["loss"]) == 10
    assert clf.history_["loss"][:5] == first_losses
    assert clf.history_["loss"][5] < first_losses[0]  # continued, not restarted
    assert any(not np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))

    cold = small(warm_start=False, epochs=5).fit(X, y)
    first = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not first and cold.n_iter_ == 5


def test_partial_fit_accumulates_and_guards_classes_and_features(iris):
    X, y = iris
    clf = small()
    clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    pre = clf.preprocessor_
    clf.partial_fit(X[100:], y[100:])
    assert clf.preprocessor_ is pre
    assert clf.n_iter_ == 1 and len(clf.history_["loss"]) == 2  # n_iter_: the last call
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="new labels \\[5\\]"):
        clf.partial_fit(X[:10], np.full(10, 5))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:10, :3], y[:10])


def test_partial_fit_uses_the_preprocessors_partial_fit(iris):
    X, y = iris
    clf = small()
    clf.partial_fit(X[:75], y[:75], classes=[0, 1, 2])
    clf.partial_fit(X[75:], y[75:])
    np.testing.assert_allclose(clf.preprocessor_.mean_, X.mean(axis=0))  # seen every row


def test_partial_fit_without_all_classes_says_how_to_fix(iris):
    X, y = iris
    clf = small()
    clf.partial_fit(X[:100], y[:100])  # only classes 0 and 1
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X[100:], y[100:])


def test_verbose_levels(iris, capfd):
    X, y = iris
    small(verbose=0).fit(X, y).predict(X)
    out, err = capfd.readouterr()
    assert out == ""
    small(verbose=2).fit(X, y)
    out, _ = capfd.readouterr()
    assert out.count("loss:") == 3  # one line per epoch
    small(verbose=1).fit(X, y)
    out, _ = capfd.readouterr()
    assert "━" in out or "=" in out  # a progress bar


def test_divergence_raises_with_a_remedy():
    X = np.random.RandomState(0).normal(size=(64, 3)) * 1e6
    y = X[:, 0] * 1e6
    reg = KerasPipelineRegressor(
        MLP((8,)), target_transformer=None, epochs=5, random_state=0, optimizer="sgd",
        optimizer__learning_rate=1e6,
    )
    with pytest.raises(TrainingDivergedError, match="learning rate"):
        reg.fit(X, y)
    assert not hasattr(reg, "model_")  # no silently broken model is left behind


def test_a_metric_class_is_instantiated_so_the_estimator_pickles_and_saves(iris, tmp_path):
    """scikeras's Basic Usage passes metrics=[keras.metrics.R2Score]; Keras keeps a class in
    its compile config and cannot serialize it, so pickle and save failed after training."""
    import pickle

    import skkeras_prep

    X, y = iris
    reg = KerasPipelineRegressor(MLP((4,)), epochs=1, metrics=[keras.metrics.R2Score],
                                 random_state=0).fit(X, y.astype(float))
    assert "r2_score" in reg.history_
    np.testing.assert_allclose(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))
    reg.save(tmp_path / "reg.skkp")
    np.testing.assert_allclose(skkeras_prep.load(tmp_path / "reg.skkp").predict(X), reg.predict(X))
    with pytest.raises(TypeError, match="not a keras.metrics.Metric"):
        small(epochs=1, metrics=[dict]).fit(X, y)
