"""HistoryDisplay (skkeras_prep.plotting) and the restored epoch it marks (best_epoch_)."""

import sys

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep.models import MLP
from skkeras_prep.plotting import HistoryDisplay

matplotlib = pytest.importorskip("matplotlib")  # the [test] extra installs it
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def small(**kwargs):
    params = dict(model=MLP((8,)), preprocessor=StandardScaler(), random_state=0)
    params.update(kwargs)
    return KerasPipelineClassifier(**params)


@pytest.fixture(scope="module")
def stopped(iris):
    """A classifier that stopped early: high learning rate, so val_loss turns up quickly."""
    X, y = iris
    clf = small(epochs=200, early_stopping=True, n_iter_no_change=3, tol=0.0,
                metrics=["accuracy"], optimizer__learning_rate=0.3)
    return clf.fit(X, y)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_best_epoch_is_the_epoch_early_stopping_restored(stopped, iris):
    val = np.asarray(stopped.history_["val_loss"])
    assert stopped.n_iter_ < stopped.epochs
    assert stopped.best_epoch_ == int(val.argmin())  # tol=0: the first lowest val_loss
    assert stopped.best_epoch_ == stopped.n_iter_ - 1 - stopped.n_iter_no_change


def test_best_epoch_is_none_without_early_stopping(iris):
    X, y = iris
    assert small(epochs=2).fit(X, y).best_epoch_ is None


def test_a_users_early_stopping_callback_sets_best_epoch(iris):
    X, y = iris
    callback = keras.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    clf = small(epochs=4, callbacks=[callback]).fit(X, y)
    loss = np.asarray(clf.history_["loss"])
    assert clf.best_epoch_ == int(loss.argmin())


def test_best_epoch_counts_the_epochs_of_earlier_fits_when_warm_starting(iris):
    X, y = iris
    clf = small(epochs=3, warm_start=True).fit(X, y)
    assert clf.best_epoch_ is None
    clf.set_params(early_stopping=True, n_iter_no_change=50, tol=0.0).fit(X, y)
    assert len(clf.history_["loss"]) == 6 and clf.n_iter_ == 3  # n_iter_: the last fit
    later = np.asarray(clf.history_["val_loss"])  # recorded from the second fit on
    assert len(later) == 3
    assert clf.best_epoch_ == 3 + int(later.argmin())
    display = HistoryDisplay.from_estimator(clf)
    np.testing.assert_array_equal(display.lines_["val_loss"].get_xdata(), [4, 5, 6])
    assert display.best_epoch_lines_[0].get_xdata()[0] == clf.best_epoch_ + 1


def test_from_estimator_draws_loss_val_loss_and_marks_the_restored_epoch(stopped):
    display = HistoryDisplay.from_estimator(stopped)
    assert isinstance(display.ax_, matplotlib.axes.Axes)
    assert display.figure_ is display.ax_.figure
    assert set(display.lines_) == {"loss", "val_loss"}
    for key, line in display.lines_.items():
        np.testing.assert_allclose(line.get_ydata(), stopped.history_[key])
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, stopped.n_iter_ + 1))
    (mark,) = display.best_epoch_lines_
    assert mark.get_xdata()[0] == stopped.best_epoch_ + 1
    assert f"restored epoch {stopped.best_epoch_ + 1}" in [
        t.get_text() for t in display.ax_.get_legend().get_texts()
    ]


def test_metrics_get_a_panel_each_with_their_validation_twin(stopped):
    display = HistoryDisplay.from_estimator(stopped, metrics=["accuracy"])
    assert len(display.ax_) == 2
    assert set(display.lines_) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert display.lines_["val_accuracy"].axes is display.ax_[1]
    assert len(display.best_epoch_lines_) == 2
    np.testing.assert_allclose(display.lines_["accuracy"].get_ydata(), stopped.history_["accuracy"])


def test_plot_draws_on_the_axes_it_is_given(stopped):
    figure, axes = plt.subplots(1, 2)
    display = HistoryDisplay.from_estimator(stopped, metrics="accuracy", ax=axes)
    assert display.figure_ is figure
    assert list(display.ax_) == list(axes)
    with pytest.raises(ValueError, match=r"one Axes per panel \(2"):
        HistoryDisplay.from_estimator(stopped, metrics=["accuracy"], ax=axes[0])
    single = HistoryDisplay.from_estimator(stopped, ax=axes[0])
    assert single.ax_ is axes[0] and single.lines_["loss"].axes is axes[0]


def test_a_regressor_without_validation_draws_only_the_loss(iris):
    X, y = iris
    reg = KerasPipelineRegressor(MLP((4,)), epochs=2, random_state=0).fit(X, y.astype(float))
    display = HistoryDisplay(reg.history_).plot()
    assert set(display.lines_) == {"loss"}
    assert display.best_epoch_lines_ == []


def test_an_unknown_metric_names_the_recorded_ones(stopped):
    with pytest.raises(ValueError, match=r"'auc' is not in the estimator's history_.*\['accuracy'\]"):
        HistoryDisplay.from_estimator(stopped, metrics=["auc"])
    with pytest.raises(TypeError, match="metric names"):
        HistoryDisplay.from_estimator(stopped, metrics=[1])


def test_bad_histories_are_refused():
    with pytest.raises(ValueError, match="non-empty 'loss'"):
        HistoryDisplay({"val_loss": [1.0]}).plot()
    with pytest.raises(ValueError, match=r"best_epoch must be None or an epoch index in \[0, 1\]"):
        HistoryDisplay({"loss": [1.0, 0.5]}, best_epoch=2).plot()


def test_an_unfitted_estimator_is_refused():
    with pytest.raises(NotFittedError):
        HistoryDisplay.from_estimator(small())


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "skkeras_prep\[plot\]"'):
        HistoryDisplay({"loss": [1.0, 0.5]}).plot()


def test_best_epoch_survives_save_and_load(stopped, tmp_path):
    import skkeras_prep

    stopped.save(tmp_path / "clf.skkp")
    loaded = skkeras_prep.load(tmp_path / "clf.skkp")
    assert loaded.best_epoch_ == stopped.best_epoch_
    (mark,) = HistoryDisplay.from_estimator(loaded).best_epoch_lines_
    assert mark.get_xdata()[0] == stopped.best_epoch_ + 1
