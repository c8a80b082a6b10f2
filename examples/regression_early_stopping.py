"""
Regression with early stopping
==============================

Regression with early stopping on the diabetes data set, and a learning curve from
``history_``.

KerasPipelineRegressor standardises X (preprocessor) and y (target_transformer="auto"),
holds out 20% of the training rows, stops when the validation loss has not improved for
10 epochs and restores the best weights.

Run ``python examples/regression_early_stopping.py`` (about 20 seconds on 2 cores).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score, train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skkeras_prep import KerasPipelineRegressor  # noqa: E402
from skkeras_prep.plotting import HistoryDisplay  # noqa: E402


def main():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    reg = KerasPipelineRegressor(
        preprocessor=StandardScaler(),
        epochs=300,
        early_stopping=True,
        validation_split=0.2,
        n_iter_no_change=10,
        random_state=0,
    )
    reg.fit(X_train, y_train)
    history = reg.history_
    best = min(range(reg.n_iter_), key=lambda i: history["val_loss"][i])
    print(f"stopped after {reg.n_iter_} of {reg.epochs} epochs; best epoch {best + 1} restored\n")

    print("learning curve (loss on standardised y)")
    print(f"{'epoch':>6}{'loss':>10}{'val_loss':>10}  val_loss")
    top = max(history["val_loss"])
    step = max(1, reg.n_iter_ // 15)
    for i in list(range(0, reg.n_iter_, step)) + [best]:
        bar = "#" * int(30 * history["val_loss"][i] / top)
        mark = " <- best" if i == best else ""
        print(f"{i + 1:>6}{history['loss'][i]:>10.4f}{history['val_loss'][i]:>10.4f}  {bar}{mark}")

    HistoryDisplay.from_estimator(reg).figure_.tight_layout()  # the same curves, drawn

    print(f"\nheld-out R^2: {reg.score(X_test, y_test):.3f}")
    scores = cross_val_score(reg, X, y, cv=KFold(5, shuffle=True, random_state=0))
    print(f"5-fold CV R^2: {scores.mean():.3f} +/- {scores.std():.3f}")
    plt.show()
    return reg, scores


if __name__ == "__main__":
    main()
