"""The estimator inside scikit-learn's model selection and meta-estimators."""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skkeras_prep import KerasPipelineClassifier
from skkeras_prep.models import MLP


def small(**kwargs):
    params = dict(model=MLP((16,)), preprocessor=StandardScaler(), epochs=30, random_state=0,
                  optimizer__learning_rate=0.01)
    params.update(kwargs)
    return KerasPipelineClassifier(**params)


def test_inside_a_pipeline(iris):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("net", small(preprocessor=None))]).fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert pipe.predict_proba(X).shape == (150, 3)


def test_cross_val_score_stratifies_iris_sorted_by_class(iris):
    """Iris is sorted by class: unstratified 5-fold would test on classes never trained on."""
    X, y = iris
    scores = cross_val_score(KerasPipelineClassifier(preprocessor=StandardScaler(), random_state=0), X, y, cv=5)
    assert scores.mean() >= 0.9, scores


def test_cross_validate_with_probability_scorers(iris):
    X, y = iris
    result = cross_validate(
        small(), X, y, cv=3, scoring=["accuracy", "roc_auc_ovr", "neg_log_loss"]
    )
    assert result["test_accuracy"].mean() > 0.85
    assert result["test_roc_auc_ovr"].mean() > 0.95
    assert -0.6 < result["test_neg_log_loss"].mean() < 0


def test_each_fold_refits_the_preprocessor(iris):
    X, y = iris
    result = cross_validate(small(epochs=1), X, y, cv=3, return_estimator=True)
    means = [est.preprocessor_.mean_ for est in result["estimator"]]
    assert not np.allclose(means[0], means[1])
    folds = list(StratifiedKFold(3).split(X, y))
    for (train, _), mean in zip(folds, means):
        np.testing.assert_allclose(mean, X[train].mean(axis=0))


GRID = {
    "preprocessor__with_mean": [True, False],
    "model__hidden_layer_sizes": [(4,), (16,)],
    "optimizer__learning_rate": [0.001, 0.01],
    "epochs": [2, 4],
}


def _check_grid_result(search):
    assert len(search.cv_results_["params"]) == 16
    best = search.best_estimator_
    for key, value in search.best_params_.items():
        assert best.get_params()[key] == value
    assert best.model_.optimizer.learning_rate.numpy() == pytest.approx(
        best.get_params()["optimizer__learning_rate"]
    )
    assert best.n_iter_ == best.epochs
    # each candidate was really trained with its own settings: scores differ
    assert len(set(np.round(search.cv_results_["mean_test_score"], 6))) > 4


def test_grid_search_over_every_kind_of_parameter(iris):
    X, y = iris
    search = GridSearchCV(small(), GRID, cv=2, n_jobs=1).fit(X, y)
    _check_grid_result(search)


@pytest.mark.slow
def test_grid_search_in_parallel_processes(iris):
    X, y = iris
    serial = GridSearchCV(small(), GRID, cv=2, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(small(), GRID, cv=2, n_jobs=2).fit(X, y)
    _check_grid_result(parallel)
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_randomized_search(iris):
    X, y = iris
    search = RandomizedSearchCV(
        small(),
        {"optimizer__learning_rate": loguniform(1e-3, 1e-1), "model__dropout": [0.0, 0.2]},
        n_iter=3, cv=2, random_state=0,
    ).fit(X, y)
    assert search.best_score_ > 0.7
    assert 1e-3 <= search.best_params_["optimizer__learning_rate"] <= 1e-1


def test_calibrated_classifier(iris):
    X, y = iris
    calibrated = CalibratedClassifierCV(small(), cv=2).fit(X, y)
    proba = calibrated.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert calibrated.score(X, y) > 0.8


def test_soft_voting_and_stacking(iris):
    X, y = iris
    voting = VotingClassifier(
        [("net", small()), ("lr", LogisticRegression(max_iter=500))], voting="soft"
    ).fit(X, y)
    assert voting.predict_proba(X).shape == (150, 3)
    assert voting.score(X, y) > 0.9
    stacking = StackingClassifier(
        [("net", small()), ("lr", LogisticRegression(max_iter=500))],
        final_estimator=LogisticRegression(max_iter=500), cv=2,
    ).fit(X, y)
    assert stacking.score(X, y) > 0.9


@pytest.mark.slow
def test_digits_quality_matches_sklearn_mlp(digits):
    """Default settings; MLPClassifier reaches 0.977 on the same shuffled stratified folds."""
    X, y = digits
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(
        KerasPipelineClassifier(preprocessor=StandardScaler(), random_state=0), X, y, cv=folds
    )
    assert scores.mean() >= 0.97, scores
