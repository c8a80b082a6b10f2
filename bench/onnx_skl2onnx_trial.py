"""The route not taken for text columns in ONNX (issue 26): skl2onnx on the fitted preprocessor.

    .venv/bin/python -m bench.onnx_skl2onnx_trial

Converts the ColumnTransformer of bench/onnx_serving.py (the one of
examples/export_for_serving.py) with skl2onnx, runs it in onnxruntime on held-out rows with
missing and unseen values, and prints, for each variant, whether it converts and runs, and
the largest difference from ``transform``. ``to_onnx`` converts ``export_model`` with tf2onnx
instead (docs/persistence.md says why); this script keeps the evidence reproducible.
"""

import numpy as np


def variants():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    def preprocessor(text_imputer):
        region = OneHotEncoder(handle_unknown="ignore")
        if text_imputer:
            region = make_pipeline(SimpleImputer(strategy="most_frequent"), region)
        return ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             ["age", "fee"]),
            ("region", region, ["region"]),
            ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
             ["plan"]),
        ])

    for text_imputer in (True, False):
        for dtype in (np.float64, np.float32):
            yield text_imputer, dtype, preprocessor(text_imputer)


def main():
    import onnxruntime
    from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as OrtNotImplemented
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    from bench.onnx_serving import make_table

    X, _ = make_table(2000, 0)
    rows, _ = make_table(200, 1)
    rows.loc[rows.index[0], "region"] = "atlantis"
    rows.loc[rows.index[1], "plan"] = "enterprise"
    for text_imputer, dtype, pre in variants():
        label = f"text imputer: {text_imputer}, numbers as {np.dtype(dtype).name}"
        expected = pre.fit(X).transform(rows)
        number = DoubleTensorType if dtype == np.float64 else FloatTensorType
        types = [("age", number([None, 1])), ("fee", number([None, 1])),
                 ("region", StringTensorType([None, 1])), ("plan", StringTensorType([None, 1]))]
        feeds = {"age": rows[["age"]].to_numpy(dtype), "fee": rows[["fee"]].to_numpy(dtype),
                 "region": rows[["region"]].fillna("").astype(str).to_numpy(object),
                 "plan": rows[["plan"]].fillna("").astype(str).to_numpy(object)}
        try:
            proto = convert_sklearn(pre, initial_types=types,
                                    target_opset={"": 18, "ai.onnx.ml": 3})
            session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                                   providers=["CPUExecutionProvider"])
            got = session.run(None, feeds)[0]
        except (NotImplementedError, OrtNotImplemented) as error:
            print(f"{label}: fails: {type(error).__name__}: {str(error)[:160]}")
            continue
        gap = np.abs(got - expected).max(axis=1)
        missing = rows["region"].isna().to_numpy()
        print(f"{label}: runs; max |difference| {gap.max():.2e}; rows above 1e-5: "
              f"{int((gap > 1e-5).sum())} of {len(rows)} (rows with a missing region: "
              f"{int(missing.sum())}, of them above 1e-5: {int((gap[missing] > 1e-5).sum())})")


if __name__ == "__main__":
    main()
