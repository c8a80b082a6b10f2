"""
Learning curves with HistoryDisplay
===================================

Loss, validation loss and accuracy per epoch, and the epoch whose weights early stopping
restored.

KerasPipelineClassifier on the breast cancer data set, with a StandardScaler preprocessor,
early stopping on a 20% validation split, and accuracy recorded as a metric. The plot is saved
as a PNG (matplotlib's Agg backend, so no display is needed).

Run ``python examples/plot_learning_curves.py [output.png]`` (about 10 seconds on 2 cores).
Needs matplotlib: the README's set-up command installs it (extra "examples"; alone: "plot").
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

try:
    import matplotlib
except ImportError:
    sys.exit('This example draws with matplotlib: pip install "skkeras_prep[plot]"')

from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402
from skkeras_prep.plotting import HistoryDisplay  # noqa: E402


def main(path="learning_curves.png"):
    matplotlib.use("Agg")  # draw to a file, no window
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

    clf = KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(32,)), StandardScaler(), epochs=200, early_stopping=True,
        validation_split=0.2, n_iter_no_change=10, metrics=["accuracy"],
        optimizer__learning_rate=3e-3, random_state=0,
    ).fit(X_train, y_train)
    print(f"stopped after {clf.n_iter_} of {clf.epochs} epochs; "
          f"best epoch {clf.best_epoch_ + 1} restored")
    print(f"held-out accuracy: {clf.score(X_test, y_test):.3f}")

    display = HistoryDisplay.from_estimator(clf, metrics=["accuracy"])
    display.figure_.tight_layout()
    display.figure_.savefig(path, dpi=80)
    print(f"learning curves saved to {path} (curves: {', '.join(display.lines_)})")
    return display


if __name__ == "__main__":
    main(*sys.argv[1:2])
