"""
Save, load and export for serving
=================================

Fit on a mixed-type table, save and reload the estimator, export it for serving.

Runs offline in well under a minute::

    python examples/export_for_serving.py

Steps: generate a table with numbers, text categories and missing values; fit a
KerasPipelineClassifier with a ColumnTransformer; save it to one file and load it back; export
a keras.Model that takes the raw columns; write it as a TensorFlow SavedModel, reload that
with tf.saved_model.load; write the same model as an ONNX file (skkeras_prep.export.to_onnx)
and run it with onnxruntime, which needs no TensorFlow; check that every route gives the same
probabilities.
"""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quieter TensorFlow start-up (example only)

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler  # noqa: E402

import skkeras_prep  # noqa: E402
from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.export import frame_to_inputs, onnx_inputs, to_onnx  # noqa: E402
from skkeras_prep.models import MLP  # noqa: E402


def make_customers(n, seed):
    """A churn-like table: numbers, text categories and missing values of both kinds."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({
        "age": rng.normal(42, 12, n).round(),
        "monthly_fee": rng.gamma(4.0, 12.0, n).round(2),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "plan": rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.3, 0.2]),
    })
    table.loc[rng.random(n) < 0.1, "age"] = np.nan
    table.loc[rng.random(n) < 0.08, "region"] = None
    age = table["age"].fillna(42)
    score = 0.04 * table["monthly_fee"] - 0.03 * age + (table["plan"] == "basic")
    churned = np.where(score + rng.normal(0, 0.5, n) > score.median(), "churned", "stayed")
    return table, churned


def build_classifier():
    preprocessor = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["age", "monthly_fee"]),
        ("region", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                 OneHotEncoder(handle_unknown="ignore")), ["region"]),
        ("plan", OrdinalEncoder(categories=[["basic", "standard", "premium"]],
                                handle_unknown="use_encoded_value", unknown_value=-1), ["plan"]),
    ])
    return KerasPipelineClassifier(MLP((16,)), preprocessor, epochs=20, random_state=0)


def report(label, probabilities, reference):
    gap = float(np.max(np.abs(probabilities - reference)))
    print(f"{label:<34} max |difference| = {gap:.2e}  {'OK' if gap < 1e-5 else 'MISMATCH'}")
    return gap < 1e-5


def main():
    train, y = make_customers(2000, seed=0)
    new_rows, _ = make_customers(8, seed=1)
    new_rows.loc[0, "region"] = "atlantis"  # a region never seen in training
    new_rows.loc[1, "plan"] = "enterprise"  # a plan never seen in training
    new_rows.loc[2, ["age", "region"]] = [np.nan, None]  # missing values

    clf = build_classifier().fit(train, y)
    reference = clf.predict_proba(new_rows)
    print(f"classes {clf.classes_.tolist()}; first rows:\n{np.round(reference[:3], 3)}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "churn.skkeras")
        clf.save(path)  # one file: Keras model + preprocessor + metadata
        loaded = skkeras_prep.load(path)
        ok = report("loaded estimator", loaded.predict_proba(new_rows), reference)

        exported = loaded.export_model()  # raw columns in, probabilities out
        inputs = frame_to_inputs(exported, new_rows)  # dict of (n, 1) tensors, text as strings
        ok &= report("exported keras.Model", exported(inputs).numpy(), reference)

        exported.export(os.path.join(tmp, "saved_model"), verbose=False)
        served = tf.saved_model.load(os.path.join(tmp, "saved_model"))
        ok &= report("SavedModel 'serve' signature", served.serve(inputs).numpy(), reference)

        # The same model as ONNX: onnxruntime serves it without TensorFlow. One input per
        # column, (n, 1): float64 numbers (NaN = missing), str text ("" = missing).
        to_onnx(loaded, os.path.join(tmp, "churn.onnx"))
        session = onnxruntime.InferenceSession(os.path.join(tmp, "churn.onnx"),
                                               providers=["CPUExecutionProvider"])
        feeds = onnx_inputs(session, new_rows)  # plain numpy arrays, by input name
        ok &= report("ONNX file in onnxruntime", session.run(None, feeds)[0], reference)

    print("all predictions agree" if ok else "predictions DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    if main():  # exit only on failure: the docs gallery runs this script inside its own process
        raise SystemExit("the estimator, the loaded file and the exported models disagree")
