"""Plots of fitted estimators, in scikit-learn's Display style (matplotlib is optional).

``HistoryDisplay`` draws the learning curves a fit recorded in ``history_``: ``loss`` and
``val_loss`` per epoch, any chosen metrics (each with its ``val_`` twin) in a panel of their
own, and a vertical line at the epoch whose weights early stopping restored (``best_epoch_``).

>>> from skkeras_prep.plotting import HistoryDisplay          # doctest: +SKIP
>>> display = HistoryDisplay.from_estimator(clf, metrics=["accuracy"])   # doctest: +SKIP
>>> display.figure_.savefig("learning_curves.png")            # doctest: +SKIP

matplotlib is imported only when a plot is drawn; install it with the ``plot`` extra
(``pip install "skkeras_prep[plot]"``).
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["HistoryDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "HistoryDisplay draws with matplotlib, which is not installed. Install it with "
            "pip install \"skkeras_prep[plot]\" (or pip install matplotlib)."
        ) from exc
    return plt


def _metric_names(metrics, history):
    """The metric names to plot, each checked against the history's keys."""
    if metrics is None:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    try:
        metrics = list(metrics)
    except TypeError:
        raise TypeError(
            f"metrics must be None, a metric name or a list of names; got {metrics!r}."
        ) from None
    available = sorted(k for k in history if not k.startswith("val_") and k != "loss")
    names = []
    for name in metrics:
        if not isinstance(name, str):
            raise TypeError(f"metrics must hold metric names (str); got {name!r}.")
        if name == "loss":
            continue  # always drawn
        if name not in history and f"val_{name}" not in history:
            raise ValueError(
                f"metric {name!r} is not in the estimator's history_; recorded metrics: "
                f"{available or 'none'} (pass metrics=[...] to the estimator to record more)."
            )
        if name not in names:
            names.append(name)
    return names


def _figure_and_axes(ax, panels):
    """``(figure, axes)``: a new figure with one Axes per panel, or the user's ``ax``,
    checked to hold one Axes per panel."""
    if ax is None:
        figure, axes = _pyplot().subplots(
            1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False
        )
        return figure, axes[0]
    _pyplot()
    axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if len(axes) != len(panels):
        raise ValueError(
            f"ax must hold one Axes per panel ({len(panels)}: {panels}); got {len(axes)}."
        )
    return axes[0].figure, axes


def _draw_curves(axis, name, history):
    """Draw ``name`` (solid) and ``val_<name>`` (dashed) on ``axis``; ``{key: line}``."""
    n_epochs = len(history["loss"])
    lines = {}
    for key, style in ((name, "-"), (f"val_{name}", "--")):
        values = history.get(key)
        if values:
            # a key first recorded by a later fit (warm_start) covers the last epochs
            epochs = np.arange(n_epochs - len(values) + 1, n_epochs + 1)
            (lines[key],) = axis.plot(epochs, values, style, label=key)
    return lines


class HistoryDisplay:
    """Learning curves of a fitted estimator: loss, validation loss and metrics per epoch.

    Create it with :meth:`from_estimator`, or from a history dict and call :meth:`plot`.

    Parameters
    ----------
    history : dict of lists
        Per-epoch values, as in an estimator's ``history_`` (``loss`` is required; ``val_*``
        keys are drawn dashed beside their training twin). A key shorter than ``loss`` was
        first recorded by a later fit (``warm_start``) and is drawn over the last epochs.
    best_epoch : int or None, default=None
        Index (0-based, into the history) of the epoch whose weights early stopping restored;
        marked with a vertical line. None draws no mark.
    estimator_name : str or None, default=None
        Used in the figure's title.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure holding the plot.
    ax_ : matplotlib Axes or ndarray of Axes
        The axes: one Axes when only the loss is drawn, otherwise an array with the loss
        panel first and one panel per metric.
    lines_ : dict of str -> matplotlib Line2D
        The curve of each plotted history key (``"loss"``, ``"val_loss"``, ``"accuracy"``, ...).
    best_epoch_lines_ : list of matplotlib Line2D
        The vertical marks of the restored epoch, one per panel (empty without one).

    Examples
    --------
    >>> import matplotlib                                          # doctest: +SKIP
    >>> matplotlib.use("Agg")                                      # doctest: +SKIP
    >>> from skkeras_prep.plotting import HistoryDisplay          # doctest: +SKIP
    >>> clf = KerasPipelineClassifier(early_stopping=True, metrics=["accuracy"]).fit(X, y)  # doctest: +SKIP
    >>> HistoryDisplay.from_estimator(clf, metrics=["accuracy"]).figure_.savefig("curves.png")  # doctest: +SKIP
    """

    def __init__(self, history, *, best_epoch=None, estimator_name=None):
        self.history = history
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, metrics=None, ax=None):
        """Plot the learning curves of a fitted ``KerasPipelineClassifier`` or
        ``KerasPipelineRegressor``.

        Parameters
        ----------
        estimator : fitted estimator with ``history_``
        metrics : str, list of str or None, default=None
            Metrics recorded in ``history_`` (through the estimator's ``metrics``) to draw in
            panels of their own, each with its ``val_`` twin when there is one.
        ax : matplotlib Axes, sequence of Axes or None, default=None
            Where to draw: one Axes per panel (the loss, then each metric). None makes a new
            figure.

        Returns
        -------
        display : HistoryDisplay
        """
        check_is_fitted(estimator, "history_")
        display = cls(
            history=estimator.history_,
            best_epoch=getattr(estimator, "best_epoch_", None),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, metrics=metrics)

    def plot(self, ax=None, *, metrics=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, sequence of Axes or None, default=None
            One Axes per panel (the loss, then each metric); None makes a new figure.
        metrics : str, list of str or None, default=None
            History keys to draw besides the loss, one panel each.

        Returns
        -------
        display : HistoryDisplay
            This object, with ``figure_``, ``ax_``, ``lines_`` and ``best_epoch_lines_`` set.
        """
        history, best = self._checked()
        panels = ["loss"] + _metric_names(metrics, history)
        figure, axes = _figure_and_axes(ax, panels)
        self.lines_ = {}
        self.best_epoch_lines_ = []
        for axis, name in zip(axes, panels):
            self.lines_.update(_draw_curves(axis, name, history))
            if best is not None:
                self.best_epoch_lines_.append(
                    axis.axvline(best + 1, color="grey", linestyle=":",
                                 label=f"restored epoch {best + 1}")
                )
            axis.xaxis.get_major_locator().set_params(integer=True)
            axis.set_xlabel("epoch")
            axis.set_ylabel(name)
            axis.legend()
        if self.estimator_name:
            axes[0].set_title(f"{self.estimator_name}: learning curves")

        self.figure_ = figure
        self.ax_ = axes[0] if len(axes) == 1 else axes
        return self

    def _checked(self):
        """``(history, best_epoch)``, checked: a dict with a non-empty ``loss``, and None or
        an epoch index of it."""
        history = self.history
        if not isinstance(history, dict) or not history.get("loss"):
            raise ValueError(
                "history must be a dict of per-epoch lists with a non-empty 'loss', as an "
                f"estimator's history_; got {type(history).__name__}."
            )
        n_epochs = len(history["loss"])
        best = self.best_epoch
        if best is not None and not (isinstance(best, numbers.Integral) and 0 <= best < n_epochs):
            raise ValueError(
                f"best_epoch must be None or an epoch index in [0, {n_epochs - 1}]; got {best!r}."
            )
        return history, best
