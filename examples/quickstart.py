"""
Quickstart
==========

A Keras network as a scikit-learn estimator on the digits data set.

1. 5-fold stratified cross-validation of KerasPipelineClassifier with a StandardScaler
   preprocessor that is refitted on each training fold (no leakage).
2. A small GridSearchCV over a preprocessor parameter and a model parameter, with a plot of
   its results.
3. The confusion matrix of the best setting on held-out digits.

Run ``python examples/quickstart.py`` (about a minute on 2 cores; ``--quick``: fewer epochs).
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV, StratifiedKFold, cross_val_score, train_test_split,
)
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402


def main(quick=False):
    X, y = load_digits(return_X_y=True)
    print(f"digits: {X.shape[0]} images of {X.shape[1]} pixels, {len(set(y))} classes\n")

    clf = KerasPipelineClassifier(preprocessor=StandardScaler(), random_state=0)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    start = time.perf_counter()
    scores = cross_val_score(clf, X, y, cv=folds)
    elapsed = time.perf_counter() - start
    print("1) 5-fold stratified cross-validation, default settings")
    print(f"   {'fold':<6}{'accuracy':>10}")
    for i, score in enumerate(scores, 1):
        print(f"   {i:<6}{score:>10.4f}")
    print(f"   {'mean':<6}{scores.mean():>10.4f}  (+/- {scores.std():.4f}), {elapsed:.1f} s\n")

    grid = GridSearchCV(
        KerasPipelineClassifier(MLP(), StandardScaler(), epochs=20 if quick else 40, random_state=0),
        param_grid={
            "preprocessor__with_mean": [True, False],
            "model__hidden_layer_sizes": [(32,), (128,)],
        },
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    grid.fit(X, y)
    elapsed = time.perf_counter() - start
    print(f"2) GridSearchCV over a preprocessor and a model parameter ({elapsed:.1f} s)")
    print(f"   {'with_mean':<11}{'hidden':<10}{'mean acc':>10}{'rank':>6}")
    results = grid.cv_results_
    for i in range(len(results["params"])):
        params = results["params"][i]
        print(
            f"   {params['preprocessor__with_mean']!s:<11}"
            f"{params['model__hidden_layer_sizes']!s:<10}"
            f"{results['mean_test_score'][i]:>10.4f}{results['rank_test_score'][i]:>6}"
        )
    print(f"   best: {grid.best_params_} -> {grid.best_score_:.4f}")
    plot_search(grid)

    # 3) the best setting, refitted on 75% of the digits, on the other 25%
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    best = clone(grid.best_estimator_).fit(X_train, y_train)
    print(f"3) held-out accuracy of the best setting: {best.score(X_test, y_test):.4f}")
    display = ConfusionMatrixDisplay.from_estimator(best, X_test, y_test, colorbar=False)
    display.ax_.set_title("Best setting on held-out digits")
    plt.show()
    return scores, grid


def plot_search(grid):
    """Mean cross-validated accuracy of each candidate, with its spread over the folds."""
    results = grid.cv_results_
    labels = [f"with_mean={p['preprocessor__with_mean']}\nhidden={p['model__hidden_layer_sizes']}"
              for p in results["params"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.errorbar(range(len(labels)), results["mean_test_score"], yerr=results["std_test_score"],
                fmt="o", capsize=4)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("mean CV accuracy")
    ax.set_title("GridSearchCV: one point per candidate (bars: std over folds)")
    fig.tight_layout()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
