"""Tabular inputs, targets and weights (issue 3).

* Inputs: DataFrames with numeric, object and category columns and missing values through a
  ColumnTransformer; column names; the NaN policy; scipy sparse input and sparse preprocessor
  output kept sparse until the batch; lists, int/bool/float inputs, read-only memmaps.
* Targets: multilabel indicators; labels as Series, categoricals, bools and strings; a
  column-vector y.
* Weights: sample_weight in fit and score, class_weight, metadata routing, bad weights.

Fits are tiny (an 8-unit MLP, a few epochs) and seeded: two fits with the same random_state
and the same float32 batches give the same model, so many tests compare a fit on one input
kind with a fit on the equivalent plain array.
"""

import contextlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import DataConversionWarning, UnsetMetadataPassedError
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, hamming_loss
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.class_weight import compute_sample_weight

from skkeras_prep import KerasPipelineClassifier, _dataset, _estimator
from skkeras_prep._target_layout import Targets
from skkeras_prep._validation import check_transformed, check_X
from skkeras_prep.models import MLP
from skkeras_prep.sources import ArraySource, SparseSource, as_source

ATOL = 1e-5  # same seed, same float32 batches: equal up to float round-off


def clf(preprocessor=None, **params):
    params.setdefault("epochs", 3)
    params.setdefault("random_state", 0)
    return KerasPipelineClassifier(MLP(hidden_layer_sizes=(8,)), preprocessor, **params)


@pytest.fixture(autouse=True)
def _routing_left_off():
    """Metadata routing is only ever enabled inside a config_context."""
    assert not sklearn.get_config()["enable_metadata_routing"]
    yield
    assert not sklearn.get_config()["enable_metadata_routing"]


# -- DataFrames with mixed column types ----------------------------------------------------
NUMERIC = ["age", "income", "visits"]
CATEGORICAL = ["city", "plan"]


def make_frame(n, seed):
    """Numeric (float with NaN, int), object (with NaN) and category (with NaN) columns."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n)
    income = rng.lognormal(10, 0.5, n)
    visits = rng.integers(0, 10, n)
    city = rng.choice(["lyon", "nice", "paris"], n)
    plan = rng.choice(["basic", "pro"], n)
    score = (age - 40) / 12 + 1.5 * (city == "paris") - 1.2 * (plan == "basic") + 0.1 * visits
    y = np.where(score + 0.3 * rng.normal(size=n) > 0, "churn", "stay")
    frame = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "visits": visits,
            "city": pd.Series(city, dtype=object),
            "plan": pd.Categorical(plan),
        }
    )
    frame.loc[::7, "age"] = np.nan
    frame.loc[3::9, "city"] = np.nan
    frame.loc[5::11, "plan"] = np.nan
    return frame, y


def mixed_preprocessor():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                CATEGORICAL,
            ),
        ]
    )


@pytest.fixture(scope="module")
def frame_data():
    return make_frame(240, seed=0)


@pytest.fixture(scope="module")
def frame_model(frame_data):
    X, y = frame_data
    return clf(mixed_preprocessor(), epochs=15, optimizer__learning_rate=0.01).fit(X, y)


def test_frame_has_the_column_kinds_and_missing_values(frame_data):
    X, _ = frame_data
    assert X["city"].dtype == object
    assert isinstance(X["plan"].dtype, pd.CategoricalDtype)
    assert X[["age", "city", "plan"]].isna().any().all()


def test_frame_fits_through_column_transformer(frame_model, frame_data):
    X, y = frame_data
    assert list(frame_model.feature_names_in_) == list(X.columns)
    assert frame_model.n_features_in_ == X.shape[1]
    assert isinstance(frame_model.preprocessor_, ColumnTransformer)
    assert frame_model.input_shape_ == (len(NUMERIC) + 3 + 2,)  # 3 cities, 2 plans one-hot
    assert frame_model.classes_.tolist() == ["churn", "stay"]
    proba = frame_model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    majority = max(np.mean(y == "churn"), np.mean(y == "stay"))
    assert frame_model.score(X, y) > majority + 0.1


def test_frame_with_reordered_columns_predicts_by_name(frame_model, frame_data):
    X, _ = frame_data
    shuffled = X[["plan", "visits", "city", "income", "age"]]
    np.testing.assert_array_equal(frame_model.predict_proba(shuffled), frame_model.predict_proba(X))
    np.testing.assert_array_equal(frame_model.predict(shuffled), frame_model.predict(X))


def test_frame_missing_column_is_named(frame_model, frame_data):
    X, _ = frame_data
    with pytest.raises(ValueError, match=r"missing column\(s\) \['income'\].*columns seen at fit"):
        frame_model.predict(X.drop(columns="income"))


def test_frame_unexpected_column_is_named(frame_model, frame_data):
    X, _ = frame_data
    with pytest.raises(ValueError, match=r"unexpected column\(s\) \['region'\]"):
        frame_model.predict(X.assign(region="north"))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['plan'\] and unexpected column\(s\) \['tier'\]"):
        frame_model.predict(X.rename(columns={"plan": "tier"}))


def test_frame_unseen_category_at_predict_is_ignored(frame_model, frame_data):
    X, _ = frame_data
    new = X.head(5).copy()
    new["city"] = "rome"
    new["plan"] = pd.Categorical(["enterprise"] * 5)
    proba = frame_model.predict_proba(new)
    assert proba.shape == (5, 2)
    assert np.isfinite(proba).all()


# -- NaN policy ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nan_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X_nan = X.copy()
    X_nan[::6, 2] = np.nan
    return X, X_nan, y


class _BuilderSpy:
    """A model builder that records whether it was called (i.e. training had started)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, meta):
        self.calls += 1
        return MLP(hidden_layer_sizes=(4,)).build(meta)


def test_nan_accepted_when_the_preprocessor_imputes(nan_data):
    _, X_nan, y = nan_data
    est = clf(make_pipeline(SimpleImputer(), StandardScaler()))
    assert get_tags(est).input_tags.allow_nan
    est.fit(X_nan, y)
    proba = est.predict_proba(X_nan)
    assert proba.shape == (len(y), 2) and np.isfinite(proba).all()


def test_nan_without_preprocessor_says_how_to_fix(nan_data):
    _, X_nan, y = nan_data
    assert not get_tags(clf()).input_tags.allow_nan
    with pytest.raises(ValueError, match=r"(?s)NaN.*preprocessor=make_pipeline\(SimpleImputer\(\)"):
        clf().fit(X_nan, y)
    X_inf = np.where(np.isnan(X_nan), np.inf, X_nan)
    with pytest.raises(ValueError, match=r"infinity"):
        clf().fit(X_inf, y)


def test_nan_after_preprocessing_names_the_column_before_training(nan_data):
    _, X_nan, y = nan_data
    spy = _BuilderSpy()
    est = KerasPipelineClassifier(spy, StandardScaler(), epochs=1)
    with pytest.raises(ValueError, match=r"after preprocessing, in transformed column\(s\) \[2\].*SimpleImputer"):
        est.fit(X_nan, y)
    assert spy.calls == 0  # rejected before the model was built
    assert not hasattr(est, "model_")


def test_nan_after_column_transformer_names_transformed_column(frame_data):
    X, y = frame_data
    # age (with NaN) is not imputed and lands after the 3 one-hot city columns
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]), ("num", StandardScaler(), ["age"])]
    )
    spy = _BuilderSpy()
    with pytest.raises(ValueError, match=r"column\(s\) \[4\] \(\['num__age'\]\)"):
        KerasPipelineClassifier(spy, pre, epochs=1).fit(X, y)
    assert spy.calls == 0


def test_inf_after_preprocessing_is_rejected(frame_data):
    X, y = frame_data
    log = FunctionTransformer(np.log, feature_names_out="one-to-one")  # log(0) = -inf
    pre = ColumnTransformer([("log", log, ["visits"]), ("num", SimpleImputer(), ["age"])])
    assert (X["visits"] == 0).any()
    with np.errstate(divide="ignore"), pytest.raises(ValueError, match=r"\[0\] \(\['log__visits'\]\)"):
        clf(pre).fit(X, y)


def test_nan_reaching_the_model_at_predict_is_rejected(nan_data):
    X, X_nan, y = nan_data
    est = clf(StandardScaler()).fit(X, y)
    with pytest.raises(ValueError, match=r"after preprocessing, in transformed column\(s\) \[2\]"):
        est.predict(X_nan)


# -- sparse input and sparse preprocessor output -------------------------------------------
SPARSE_TYPES = [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array, sp.coo_array]


@pytest.fixture(scope="module")
def sparse_data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 12))
    X[rng.random(X.shape) < 0.7] = 0.0
    y = (X[:, 0] - X[:, 1] + X[:, 2] > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def dense_reference(sparse_data):
    X, y = sparse_data
    return clf(batch_size=16).fit(X, y).predict_proba(X)


@pytest.mark.parametrize("kind", SPARSE_TYPES, ids=lambda k: k.__name__)
def test_sparse_input_trains_like_dense(kind, sparse_data, dense_reference):
    X, y = sparse_data
    Xs = kind(X)
    est = clf(batch_size=16).fit(Xs, y)
    np.testing.assert_allclose(est.predict_proba(Xs), dense_reference, atol=ATOL)
    np.testing.assert_allclose(est.predict_proba(X), dense_reference, atol=ATOL)


@pytest.mark.parametrize("kind", SPARSE_TYPES, ids=lambda k: k.__name__)
def test_row_store_keeps_sparse_as_csr(kind, sparse_data):
    X, _ = sparse_data
    Xs = kind(X)
    store = as_source(Xs).X
    assert sp.issparse(store) and store.format == "csr"
    assert isinstance(store, sp.sparray) == isinstance(Xs, sp.sparray)
    assert store.nnz == np.count_nonzero(X)
    if Xs.format == "csr":
        assert store is Xs  # no copy at all
    dense = np.ascontiguousarray(X)
    assert np.shares_memory(as_source(dense).X, dense)


def test_check_transformed_keeps_sparse(sparse_data):
    X, _ = sparse_data
    out = check_transformed(as_source(sp.csr_matrix(X)), StandardScaler(with_mean=False))
    assert isinstance(out, SparseSource) and sp.issparse(out.X)


def test_gather_rows_densifies_only_the_requested_rows():
    X = sp.csr_matrix(np.array([[0, 2, 0], [1, 0, 0], [0, 0, 3], [4, 0, 5]], dtype=np.int64))
    batch = as_source(X).gather(np.array([1, 3]))
    assert batch.dtype == np.float32 and isinstance(batch, np.ndarray)
    np.testing.assert_array_equal(batch, [[1, 0, 0], [4, 0, 5]])
    np.testing.assert_array_equal(as_source(X).gather(slice(0, 2)), [[0, 2, 0], [1, 0, 0]])


def test_gather_rows_never_densifies_the_whole_matrix():
    # dense, this matrix would need 4 TB; two of its rows need 8 MB
    n = 10**6
    X = sp.csr_matrix(([1.0, 2.0, 3.0], ([0, 5, 5], [7, 0, n - 1])), shape=(n, n))
    batch = as_source(X).gather(np.array([0, 5]))
    assert batch.shape == (2, n) and batch.dtype == np.float32
    assert batch[0, 7] == 1.0 and batch[1, 0] == 2.0 and batch[1, n - 1] == 3.0
    assert np.count_nonzero(batch) == 3


def test_wide_rows_get_smaller_prediction_and_validation_batches():
    n, width = 200, 200_000  # 800 KB per dense float32 row
    X = sp.random(n, width, density=1e-4, format="csr", dtype=np.float32, random_state=0)
    cap = _dataset.MAX_EVAL_BATCH_BYTES // (4 * width)
    assert cap < n
    batches = [np.asarray(b) for b in _dataset.prediction_batches(as_source(X), batch_size=8192)]
    assert max(len(b) for b in batches) <= cap
    np.testing.assert_array_equal(np.concatenate(batches), X.toarray())
    with contextlib.ExitStack() as stack:
        val = _dataset.evaluation_dataset(as_source(X), Targets(np.zeros(n)), np.ones(n), batch_size=1024, stack=stack)
        sizes = [int(x.shape[0]) for x, _, _ in val]
    assert max(sizes) <= cap and sum(sizes) == n


@pytest.fixture
def densified(monkeypatch):
    """Record the shape of every sparse matrix turned dense (toarray / todense)."""
    shapes = []
    for cls in (sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.csc_array):
        for method in ("toarray", "todense"):
            real = getattr(cls, method)

            def spy(self, *args, _real=real, **kwargs):
                shapes.append(self.shape)
                return _real(self, *args, **kwargs)

            monkeypatch.setattr(cls, method, spy)
    return shapes


@pytest.fixture
def gather_spy(monkeypatch):
    """Record, for every batch, the row store it was gathered from and the batch's shape."""
    calls = []
    for cls in (ArraySource, SparseSource):
        def spy(self, index, _real=cls.gather):
            out = _real(self, index)
            X = self.X
            calls.append((sp.issparse(X), getattr(X, "format", None), X.shape, out.shape, out.dtype))
            return out

        monkeypatch.setattr(cls, "gather", spy)
    return calls


def test_sparse_input_is_densified_one_batch_at_a_time(gather_spy, densified, monkeypatch, sparse_data):
    X, y = sparse_data
    Xs = sp.csc_matrix(X)
    est = clf(batch_size=16, epochs=2).fit(Xs, y)
    assert densified and max(rows for rows, _ in densified) <= 16
    assert len(gather_spy) == 2 * int(np.ceil(len(y) / 16))
    for is_sparse, fmt, store_shape, batch_shape, dtype in gather_spy:
        assert is_sparse and fmt == "csr" and store_shape == X.shape
        assert batch_shape[0] <= 16 and batch_shape[1] == X.shape[1]
        assert dtype == np.float32
    gather_spy.clear()
    densified.clear()
    monkeypatch.setattr(_estimator, "_PREDICT_BATCH_SIZE", 40)
    est.predict_proba(Xs)
    assert len(gather_spy) == int(np.ceil(len(y) / 40))
    assert all(call[0] and call[3][0] <= 40 for call in gather_spy)
    assert densified and max(rows for rows, _ in densified) <= 40


def test_sparse_preprocessor_output_stays_sparse(gather_spy, densified):
    rng = np.random.default_rng(3)
    n = 200
    X = pd.DataFrame(
        {"shop": rng.integers(0, 60, n).astype(str), "item": rng.integers(0, 40, n).astype(str)}
    )
    y = (X["shop"].astype(int) % 2).to_numpy()
    est = clf(OneHotEncoder(handle_unknown="ignore"), batch_size=32).fit(X, y)
    assert sp.issparse(est.preprocessor_.transform(X))
    width = est.input_shape_[0]
    assert width == X["shop"].nunique() + X["item"].nunique()
    assert gather_spy
    for is_sparse, fmt, store_shape, batch_shape, _ in gather_spy:
        assert is_sparse and fmt == "csr" and store_shape == (n, width)
        assert batch_shape[0] <= 32
    assert densified and max(rows for rows, _ in densified) <= 32
    assert accuracy_score(y, est.predict(X)) > 0.5


# -- lists, integer/bool/float inputs, read-only memmaps ---------------------------------
@pytest.fixture(scope="module")
def plain_data():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 3] > 0).astype(int)
    return X, y


INPUT_KINDS = {
    # kind -> (input built from the float64 base X, the float64 array it stands for)
    "list": lambda X: (X.tolist(), X),
    "int64": lambda X: ((X * 3).astype(np.int64), (X * 3).astype(np.int64).astype(np.float64)),
    "bool": lambda X: (X > 0, (X > 0).astype(np.float64)),
    "float32": lambda X: (X.astype(np.float32), X.astype(np.float32).astype(np.float64)),
}


@pytest.mark.parametrize("scaled", [False, True], ids=["no preprocessor", "StandardScaler"])
@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
def test_input_kinds_train_like_float64(kind, scaled, plain_data):
    X, y = plain_data
    given, as_float = INPUT_KINDS[kind](X)
    est = clf(StandardScaler() if scaled else None).fit(given, y)
    reference = clf(StandardScaler() if scaled else None).fit(as_float, y)
    assert est.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(est.predict_proba(given), reference.predict_proba(as_float), atol=ATOL)


@pytest.fixture(scope="module")
def readonly_memmap(plain_data, tmp_path_factory):
    X, _ = plain_data
    path = tmp_path_factory.mktemp("memmap") / "X.f64"
    writer = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    writer[:] = X
    writer.flush()
    del writer
    return np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)


def test_readonly_memmap_is_read_in_place(readonly_memmap, plain_data):
    X, y = plain_data
    assert not readonly_memmap.flags.writeable
    est = clf()
    checked = check_X(est, readonly_memmap, reset=True, preprocessor=None)
    assert np.shares_memory(as_source(checked).X, readonly_memmap)  # no copy
    est.fit(readonly_memmap, y)
    np.testing.assert_allclose(
        est.predict_proba(readonly_memmap), clf().fit(X, y).predict_proba(X), atol=ATOL
    )


def test_readonly_memmap_with_preprocessor(readonly_memmap, plain_data):
    X, y = plain_data
    est = clf(StandardScaler()).fit(readonly_memmap, y)
    np.testing.assert_allclose(
        est.predict_proba(readonly_memmap),
        clf(StandardScaler()).fit(X, y).predict_proba(X),
        atol=ATOL,
    )


# -- multilabel indicator targets ----------------------------------------------------------
@pytest.fixture(scope="module")
def multilabel_data():
    X, Y = make_multilabel_classification(n_samples=240, n_features=10, n_classes=4, random_state=0)
    return X, Y


def multilabel_clf():
    return clf(StandardScaler(), epochs=10, optimizer__learning_rate=0.01)


@pytest.fixture(scope="module")
def multilabel_model(multilabel_data):
    X, Y = multilabel_data
    return multilabel_clf().fit(X, Y)


def test_multilabel_uses_sigmoid_outputs_and_binary_crossentropy(multilabel_model):
    est = multilabel_model
    assert est.target_type_ == "multilabel-indicator"
    assert est.classes_.tolist() == [0, 1, 2, 3]
    assert est.n_outputs_ == 4
    last = est.model_.layers[-1]
    assert last.units == 4 and last.activation.__name__ == "sigmoid"
    assert est.loss is None and est.model_.loss == "binary_crossentropy"


def test_multilabel_predict_and_predict_proba(multilabel_model, multilabel_data):
    X, Y = multilabel_data
    proba = multilabel_model.predict_proba(X)
    assert proba.shape == Y.shape
    assert ((proba >= 0) & (proba <= 1)).all()
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent sigmoids, not a softmax
    pred = multilabel_model.predict(X)
    assert pred.shape == Y.shape
    assert set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    majority = np.tile((Y.mean(axis=0) > 0.5).astype(int), (len(Y), 1))
    assert hamming_loss(Y, pred) < 0.8 * hamming_loss(Y, majority)
    assert multilabel_model.score(X, Y) == pytest.approx(accuracy_score(Y, pred))


@pytest.mark.parametrize(
    "as_kind",
    [lambda Y: Y.astype(bool), lambda Y: pd.DataFrame(Y, columns=list("abcd")), sp.csr_matrix],
    ids=["bool", "DataFrame", "sparse"],
)
def test_multilabel_target_kinds_match_int_indicator(as_kind, multilabel_model, multilabel_data):
    X, Y = multilabel_data
    est = multilabel_clf().fit(X, as_kind(Y))
    assert est.target_type_ == "multilabel-indicator"
    np.testing.assert_allclose(est.predict_proba(X), multilabel_model.predict_proba(X), atol=ATOL)


def test_multilabel_partial_fit_checks_the_label_count(multilabel_data):
    X, Y = multilabel_data
    est = clf(StandardScaler()).partial_fit(X, Y)
    with pytest.raises(ValueError, match="indicator matrix with 4 columns"):
        est.partial_fit(X, Y[:, :3])


# -- label kinds ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def label_data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 4))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])  # classes 0, 1, 2
    reference = clf().fit(X, y)
    return X, y, reference.predict(X), reference.predict_proba(X)


NAMES = np.array(["ant", "bee", "cat"])  # sorted, so class i of the reference is NAMES[i]

LABEL_KINDS = {
    "numpy str": (lambda y: NAMES[y], NAMES),
    "object": (lambda y: NAMES[y].astype(object), NAMES),
    "list of str": (lambda y: NAMES[y].tolist(), NAMES),
    "Series str": (lambda y: pd.Series(NAMES[y]), NAMES),
    "Series int": (lambda y: pd.Series(y + 10), np.array([10, 11, 12])),
    "categorical str": (lambda y: pd.Series(pd.Categorical(NAMES[y])), NAMES),
    "categorical int": (lambda y: pd.Series(pd.Categorical(y + 10)), np.array([10, 11, 12])),
    "bare Categorical": (lambda y: pd.Categorical(NAMES[y]), NAMES),
}


@pytest.mark.parametrize("kind", sorted(LABEL_KINDS))
def test_label_kinds(kind, label_data):
    X, y, ref_pred, ref_proba = label_data
    make, classes = LABEL_KINDS[kind]
    est = clf().fit(X, make(y))
    np.testing.assert_array_equal(est.classes_, classes)
    np.testing.assert_allclose(est.predict_proba(X), ref_proba, atol=ATOL)
    np.testing.assert_array_equal(est.predict(X), classes[ref_pred])
    assert est.score(X, make(y)) == pytest.approx(accuracy_score(y, ref_pred))


def test_bool_labels(plain_data):
    X, y = plain_data
    reference = clf().fit(X, y)
    est = clf().fit(X, y.astype(bool))
    assert est.classes_.dtype == bool and est.classes_.tolist() == [False, True]
    pred = est.predict(X)
    assert pred.dtype == bool
    np.testing.assert_array_equal(pred, reference.predict(X).astype(bool))


def test_column_vector_y_warns_and_works(label_data):
    X, y, ref_pred, ref_proba = label_data
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        est = clf().fit(X, NAMES[y].reshape(-1, 1))
    assert est.predict(X).shape == (len(y),)
    np.testing.assert_array_equal(est.predict(X), NAMES[ref_pred])
    np.testing.assert_allclose(est.predict_proba(X), ref_proba, atol=ATOL)


# -- sample_weight and class_weight --------------------------------------------------------
WEIGHT_EPOCHS = 20


@pytest.fixture(scope="module")
def weight_data():
    rng = np.random.default_rng(6)
    n = 300
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0, "cat", "dog")
    # WEIGHT_EPOCHS, not 5: after 5 epochs the shift toward the heavy class ranged from 0.02
    # to 0.22 over random_state 0-5, so "> 0.1" held or not by the seed's luck (it failed for
    # random_state=0 once the seeds stopped coming from Python's random). After 20 epochs it
    # was 0.17 to 0.37 for every one of those seeds.
    unweighted = clf(epochs=WEIGHT_EPOCHS).fit(X, y).predict(X)
    return X, y, unweighted


def share(pred, label):
    return float(np.mean(pred == label))


def test_sample_weight_shifts_predictions_toward_heavy_class(weight_data):
    X, y, unweighted = weight_data
    w = np.where(y == "cat", 20.0, 1.0)
    weighted = clf(epochs=WEIGHT_EPOCHS).fit(X, y, sample_weight=w).predict(X)
    assert share(weighted, "cat") > share(unweighted, "cat") + 0.1


def test_class_weight_dict_keyed_by_string_labels(weight_data):
    X, y, unweighted = weight_data
    est = clf(epochs=WEIGHT_EPOCHS, class_weight={"cat": 20.0, "dog": 1.0}).fit(X, y)
    assert share(est.predict(X), "cat") > share(unweighted, "cat") + 0.1
    same = clf(epochs=WEIGHT_EPOCHS).fit(X, y, sample_weight=np.where(y == "cat", 20.0, 1.0))
    np.testing.assert_allclose(est.predict_proba(X), same.predict_proba(X), atol=ATOL)


def test_class_weight_multiplies_sample_weight(weight_data):
    X, y, _ = weight_data
    sw = np.linspace(0.5, 2.0, len(y))
    est = clf(epochs=2, class_weight={"cat": 3.0, "dog": 1.0}).fit(X, y, sample_weight=sw)
    same = clf(epochs=2).fit(X, y, sample_weight=sw * np.where(y == "cat", 3.0, 1.0))
    np.testing.assert_allclose(est.predict_proba(X), same.predict_proba(X), atol=ATOL)


def test_class_weight_balanced_helps_the_minority(weight_data):
    X, _, _ = weight_data
    y = np.where(np.arange(len(X)) < 260, "dog", "cat")  # 40 cats, 260 dogs
    plain = clf(epochs=5).fit(X, y)
    balanced = clf(epochs=5, class_weight="balanced").fit(X, y)
    assert share(balanced.predict(X), "cat") > share(plain.predict(X), "cat") + 0.1
    same = clf(epochs=5).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(balanced.predict_proba(X), same.predict_proba(X), atol=ATOL)


def test_score_uses_sample_weight(weight_data):
    X, y, _ = weight_data
    est = clf(epochs=2).fit(X, y)
    pred = est.predict(X)
    assert 0 < accuracy_score(y, pred) < 1
    w = np.where(pred == y, 1.0, 5.0)  # wrong rows count five times
    assert est.score(X, y, sample_weight=w) == pytest.approx(accuracy_score(y, pred, sample_weight=w))
    assert est.score(X, y, sample_weight=w) < est.score(X, y) - 0.05


@pytest.mark.parametrize(
    "make_weight, message",
    [
        (lambda n: np.ones(n - 1), r"sample_weight.shape == \(\d+,\), expected \(300,\)"),
        (lambda n: np.r_[-1.0, np.ones(n - 1)], "Negative values in sample_weight"),
        (lambda n: np.zeros(n), "All sample weights are zero"),
        (lambda n: np.r_[np.nan, np.ones(n - 1)], "NaN or infinity"),
        (lambda n: np.ones((n, 2)), "1D array or scalar"),
        (lambda n: np.array(["a"] * n), "must be numeric"),
    ],
    ids=["wrong length", "negative", "all zero", "nan", "2-D", "strings"],
)
def test_bad_sample_weight_is_rejected_before_training(make_weight, message, weight_data):
    X, y, _ = weight_data
    spy = _BuilderSpy()
    est = KerasPipelineClassifier(spy, epochs=1)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y, sample_weight=make_weight(len(y)))
    assert spy.calls == 0


def test_bad_class_weight_is_rejected(weight_data):
    X, y, _ = weight_data
    with pytest.raises(ValueError, match=r"class_weight has keys \['bird'\].*\['cat', 'dog'\]"):
        clf(class_weight={"cat": 1.0, "bird": 2.0}).fit(X, y)
    with pytest.raises(ValueError, match=r"parameter 'class_weight' must be None, one of \{'balanced'\}, a dict"):
        clf(class_weight="auto").fit(X, y)


# -- metadata routing ----------------------------------------------------------------------
def routed_clf(**params):
    # WEIGHT_EPOCHS: the routing tests also check that the weights shift predictions, which
    # after 5 epochs held or not by the seed's luck (see weight_data).
    return clf(epochs=WEIGHT_EPOCHS, **params).set_fit_request(sample_weight=True)


def test_fit_requests_sample_weight():
    with sklearn.config_context(enable_metadata_routing=True):
        est = routed_clf()
        assert est.get_metadata_routing().fit.requests["sample_weight"] is True
        assert sklearn.base.clone(est).get_metadata_routing().fit.requests["sample_weight"] is True


def test_unrequested_sample_weight_is_an_error_under_routing(weight_data):
    X, y, _ = weight_data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), clf(epochs=1))
        with pytest.raises(UnsetMetadataPassedError, match="KerasPipelineClassifier.fit"):
            pipe.fit(X, y, sample_weight=np.ones(len(y)))


def test_routing_through_pipeline(weight_data):
    X, y, _ = weight_data
    w = np.where(y == "cat", 20.0, 1.0)
    Xs = StandardScaler().fit_transform(X)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), routed_clf())
        pipe.fit(X, y, sample_weight=w)
        routed = pipe.predict_proba(X)
        unweighted = make_pipeline(StandardScaler(), clf(epochs=WEIGHT_EPOCHS)).fit(X, y).predict(X)
    direct = clf(epochs=WEIGHT_EPOCHS).fit(Xs, y, sample_weight=w)
    np.testing.assert_allclose(routed, direct.predict_proba(Xs), atol=ATOL)
    assert share(pipe.predict(X), "cat") > share(unweighted, "cat") + 0.1


def test_routing_through_grid_search(weight_data):
    X, y, _ = weight_data
    w = np.where(y == "cat", 20.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = routed_clf().set_score_request(sample_weight=True)
        grid = {"epochs": [WEIGHT_EPOCHS, WEIGHT_EPOCHS + 5]}
        search = GridSearchCV(est, grid, cv=KFold(2)).fit(X, y, sample_weight=w)
    best = search.best_params_["epochs"]
    direct = clf(epochs=best).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(search.predict_proba(X), direct.predict_proba(X), atol=ATOL)
    unweighted = clf(epochs=best).fit(X, y).predict(X)
    assert share(search.predict(X), "cat") > share(unweighted, "cat") + 0.1


def test_routing_through_cross_validate(weight_data):
    X, y, _ = weight_data
    w = np.where(y == "cat", 20.0, 1.0)
    cv = KFold(2)
    with sklearn.config_context(enable_metadata_routing=True):
        est = routed_clf().set_score_request(sample_weight=False)  # weights for fit only
        result = cross_validate(
            est, X, y, cv=cv, params={"sample_weight": w}, return_estimator=True
        )
    for fitted, (train, _) in zip(result["estimator"], cv.split(X)):
        weighted = clf(epochs=WEIGHT_EPOCHS).fit(X[train], y[train], sample_weight=w[train])
        np.testing.assert_allclose(fitted.predict_proba(X), weighted.predict_proba(X), atol=ATOL)
        unweighted = clf(epochs=WEIGHT_EPOCHS).fit(X[train], y[train]).predict(X)
        assert share(fitted.predict(X), "cat") > share(unweighted, "cat") + 0.1
