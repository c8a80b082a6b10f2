"""Quickstart: a Keras network as a scikit-learn estimator on the digits data set.

1. 5-fold stratified cross-validation of KerasPipelineClassifier with a StandardScaler
   preprocessor that is refitted on each training fold (no leakage).
2. A small GridSearchCV over a preprocessor parameter and a model parameter.

Run:  python examples/quickstart.py        (about a minute on 2 cores)
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
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
    return scores, grid


if __name__ == "__main__":
    main()
