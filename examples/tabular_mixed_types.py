"""
Churn prediction on a mixed-type table
======================================

Numbers, text and categories with missing values.

The table is generated here (no download): numeric columns (one with missing values), a
text column (object dtype, with missing values) and pandas ``category`` columns (one with
missing values). A ColumnTransformer imputes, scales and one-hot encodes them inside the
estimator, so grid search and cross-validation refit the preprocessing on every training
fold. The script then

1. tunes the network size and learning rate with a small GridSearchCV,
2. cross-validates the best setting against logistic regression on the same preprocessing,
3. predicts for new customers given with reordered columns, gaps and a region never seen.

Run ``python examples/tabular_mixed_types.py`` (about 30 seconds on 2 cores).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402

NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "age"]
CATEGORICAL = ["contract", "payment_method", "region", "plan"]


def make_customers(n, seed):
    """A customer table and whether each customer churned ("yes" / "no")."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["month-to-month", "one year", "two year"], n, p=[0.55, 0.25, 0.2])
    payment = rng.choice(["card", "bank transfer", "e-check", "mailed check"], n)
    region = rng.choice(["north", "south", "east", "west"], n)
    plan = rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.3, 0.2])
    tenure = rng.gamma(2.0, 14.0, n).round()
    charges = 20 + 25 * (plan == "standard") + 55 * (plan == "premium") + rng.normal(0, 8, n)
    calls = rng.poisson(1.0 + 1.5 * (contract == "month-to-month"), n)
    age = rng.normal(45, 14, n).clip(18, 90).round()

    logit = (
        -1.0
        + 1.6 * (contract == "month-to-month")
        - 1.0 * (contract == "two year")
        - 0.04 * tenure
        + 0.02 * (charges - 50)
        + 0.45 * calls
        + 0.8 * (payment == "e-check")
        + 0.5 * (region == "south")
        - 0.015 * (age - 45)
        + 0.6 * (tenure < 6) * (plan == "premium")
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))

    frame = pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": charges.round(2),
            "support_calls": calls,
            "age": age,
            "contract": pd.Categorical(contract),
            "payment_method": pd.Series(payment, dtype=object),
            "region": pd.Categorical(region),
            "plan": pd.Categorical(plan, categories=["basic", "standard", "premium"], ordered=True),
        }
    )
    # gaps, as a real export has them
    frame.loc[rng.random(n) < 0.08, "age"] = np.nan
    frame.loc[rng.random(n) < 0.05, "monthly_charges"] = np.nan
    frame.loc[rng.random(n) < 0.06, "payment_method"] = np.nan
    frame.loc[rng.random(n) < 0.04, "region"] = np.nan
    return frame, np.where(churned, "yes", "no")


def make_preprocessor():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                CATEGORICAL,
            ),
        ]
    )


def print_table(header, rows):
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(f"{str(c):<{w}}" for c, w in zip(cells, widths))  # noqa: E731
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    print()


def main():
    start = time.perf_counter()
    X, y = make_customers(2500, seed=0)

    print(f"customers: {len(X)}, churn rate {np.mean(y == 'yes'):.1%}\n")
    print_table(
        ["column", "dtype", "missing"],
        [[c, str(X[c].dtype), f"{X[c].isna().mean():.1%}"] for c in X.columns],
    )

    net = KerasPipelineClassifier(
        MLP(hidden_layer_sizes=(16,)),
        make_preprocessor(),
        epochs=15,
        batch_size=64,
        random_state=0,
    )

    # 1. a small grid search: every candidate refits the ColumnTransformer on its folds
    grid = {
        "model__hidden_layer_sizes": [(16,), (32, 16)],
        "optimizer__learning_rate": [0.001, 0.01],
    }
    search = GridSearchCV(net, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc")
    search.fit(X, y)
    results = search.cv_results_
    order = np.argsort(results["rank_test_score"])
    print("GridSearchCV (3-fold ROC AUC)")
    print_table(
        ["rank", "hidden layers", "learning rate", "ROC AUC", "fit s"],
        [
            [
                results["rank_test_score"][i],
                results["param_model__hidden_layer_sizes"][i],
                results["param_optimizer__learning_rate"][i],
                f"{results['mean_test_score'][i]:.3f} +/- {results['std_test_score'][i]:.3f}",
                f"{results['mean_fit_time'][i]:.1f}",
            ]
            for i in order
        ],
    )
    print(f"best: {search.best_params_}\n")

    # 2. cross-validate the best network against a linear baseline on the same preprocessing
    cv = StratifiedKFold(5, shuffle=True, random_state=1)
    scoring = ["accuracy", "balanced_accuracy", "roc_auc"]
    models = {
        "KerasPipelineClassifier (best)": search.best_estimator_,
        "LogisticRegression": make_pipeline(make_preprocessor(), LogisticRegression(max_iter=1000)),
    }
    rows = []
    for name, model in models.items():
        scores = cross_validate(model, X, y, cv=cv, scoring=scoring)
        rows.append(
            [name]
            + [f"{scores['test_' + s].mean():.3f} +/- {scores['test_' + s].std():.3f}" for s in scoring]
            + [f"{scores['fit_time'].mean():.2f}"]
        )
    print("5-fold cross-validation")
    print_table(["model"] + scoring + ["fit s"], rows)

    # 3. new customers: columns in another order, missing values, a region never seen
    new, _ = make_customers(4, seed=42)
    new.loc[0, "age"] = np.nan
    new.loc[1, "payment_method"] = np.nan
    new["region"] = new["region"].cat.add_categories(["overseas"])
    new.loc[2, "region"] = "overseas"  # unknown to the fitted OneHotEncoder: ignored
    new = new[list(reversed(new.columns))]
    best = search.best_estimator_
    proba = best.predict_proba(new)[:, list(best.classes_).index("yes")]
    print("new customers (columns reordered; a gap in age, payment_method; an unseen region)")
    print_table(
        ["contract", "tenure", "region", "age", "payment", "P(churn)", "churn?"],
        [
            [
                new["contract"].iloc[i], int(new["tenure_months"].iloc[i]), new["region"].iloc[i],
                new["age"].iloc[i], new["payment_method"].iloc[i], f"{proba[i]:.2f}", pred,
            ]
            for i, pred in enumerate(best.predict(new))
        ],
    )
    print(f"total time: {time.perf_counter() - start:.0f} s")
    return search


if __name__ == "__main__":
    main()
