"""The encoded targets of a fit (``_target_layout.Targets``) and the one kind of source the
pipelines read (``RowSource.parts``): one output or input is the case of several with one
entry, and the pipelines hand Keras the same structures from memory and from tf.data."""

import contextlib
import gc
import pathlib
import pickle
import re
import weakref

import keras
import numpy as np
import pytest

from skkeras_prep import KerasPipelineClassifier, _dataset
from skkeras_prep._target_layout import Targets, side_by_side
from skkeras_prep._targets import (ClassifierTargetEncoder, MultiOutputEncoder,
                                   RegressorTargetEncoder)
from skkeras_prep.sources import ArraySource
from skkeras_prep.sources.named import NamedSource

N = 12
LABELS = np.array(["lo", "mid", "hi"])[np.arange(N) % 3]
FLAGS = np.arange(N) % 2
PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skkeras_prep"


def _numpy_cast(columns, dtype):
    return columns.astype(dtype)


def _two_outputs(make_head=ClassifierTargetEncoder):
    encoder = MultiOutputEncoder(make_head, "classifier")
    encoder.fit({"kind": LABELS, "flag": FLAGS})
    encoder.set_output_width({"flag": 1, "kind": 3})
    return encoder


def test_one_output_is_one_unnamed_head_whose_batch_goes_to_keras_as_it_is():
    encoder = ClassifierTargetEncoder()
    encoder.fit(LABELS)
    encoder.set_output_width(3, "sparse_categorical_crossentropy")
    targets = encoder.targets(LABELS)
    assert targets.single and len(targets) == N
    assert targets.heads == ((None, 0, 1, "int32", True),)
    assert targets.values.dtype == np.uint8 and targets.dtype == np.int32  # stored compactly
    batch = targets.batch(np.array([0, 1, 2]))
    assert batch.dtype == np.int32
    np.testing.assert_array_equal(batch, np.searchsorted(encoder.classes_, LABELS[:3]))
    assert targets.split(batch, _numpy_cast) is batch


def test_several_outputs_are_named_heads_cut_per_batch_in_the_models_order():
    encoder = _two_outputs()
    targets = encoder.targets({"kind": LABELS, "flag": FLAGS})
    assert not targets.single and targets.dtype == np.float32
    assert [head[0] for head in targets.heads] == ["flag", "kind"]  # the model's order, not y's
    assert targets.values.shape == (N, 2)
    cut = targets.split(targets.batch(slice(0, 5)), _numpy_cast)
    assert sorted(cut) == ["flag", "kind"]
    assert cut["flag"].shape == (5, 1) and cut["flag"].dtype == np.float32  # one sigmoid unit
    assert cut["kind"].shape == (5,) and cut["kind"].dtype == np.int32  # sparse class indices
    np.testing.assert_array_equal(cut["flag"][:, 0], FLAGS[:5])
    np.testing.assert_array_equal(encoder.heads_[1].classes_[cut["kind"]], LABELS[:5])


def test_take_keeps_the_dtype_and_heads():
    targets = _two_outputs().targets({"kind": LABELS, "flag": FLAGS})
    part = targets.take(np.array([1, 4]))
    assert len(part) == 2 and part.dtype == targets.dtype and part.heads == targets.heads
    np.testing.assert_array_equal(part.values, targets.values[[1, 4]])
    one = Targets(np.arange(5.0))
    assert one.single and one.dtype == np.float64 and len(one.take(slice(1, 3))) == 2


def test_side_by_side_keeps_each_outputs_dtype_and_width():
    a = Targets(np.array([0, 2, 1], dtype=np.uint8), np.int32)
    b = Targets(np.eye(3, dtype=np.uint8), np.float32)
    joined = side_by_side(["a", "b"], [a, b])
    assert joined.heads == (("a", 0, 1, "int32", True), ("b", 1, 4, "float32", False))
    assert joined.values.shape == (3, 4) and joined.values.dtype == np.uint8
    cut = joined.split(joined.batch(slice(None)), _numpy_cast)
    np.testing.assert_array_equal(cut["a"], [0, 2, 1])
    np.testing.assert_array_equal(cut["b"], np.eye(3))


class _Doubled(ClassifierTargetEncoder):
    """A user's encoder: overrides ``encode`` only."""

    def encode(self, y):
        return super().encode(y).astype(np.float32) * 2


def test_targets_come_from_a_subclass_encode_for_one_output_and_per_output():
    encoder = _Doubled()
    encoder.fit(LABELS)
    encoder.set_output_width(3, "categorical_crossentropy")
    np.testing.assert_array_equal(encoder.targets(LABELS).values.sum(axis=1), 2.0)
    values = _two_outputs(_Doubled).targets({"kind": LABELS, "flag": FLAGS}).values
    np.testing.assert_array_equal(values[:, 0], 2.0 * FLAGS)  # flag (the model's first): doubled


def test_encoders_stay_where_saved_files_and_pickles_name_them():
    for cls in (ClassifierTargetEncoder, RegressorTargetEncoder, MultiOutputEncoder):
        assert cls.__module__ == "skkeras_prep._targets"
    encoder = ClassifierTargetEncoder()
    encoder.fit(LABELS)  # returns the checked labels
    assert b"skkeras_prep._targets" in pickle.dumps(encoder)
    again = pickle.loads(pickle.dumps(_two_outputs()))
    np.testing.assert_array_equal(again.targets({"kind": LABELS, "flag": FLAGS}).values,
                                  _two_outputs().targets({"kind": LABELS, "flag": FLAGS}).values)


def test_every_source_is_read_through_its_parts():
    one = ArraySource(np.zeros((N, 2)))
    assert one.parts == {None: one}
    a, b = ArraySource(np.zeros((N, 2))), ArraySource(np.ones((N, 3)))
    several = NamedSource({"a": a, "b": b})
    assert several.parts == {"a": a, "b": b}
    assert list(several.take(np.arange(3)).parts) == ["a", "b"]


@pytest.mark.parametrize("batch_size", [N, 5])  # one batch directly, or through tf.data
def test_prediction_batches_are_arrays_for_one_input_and_dicts_for_several(batch_size):
    Xa = np.arange(N * 2, dtype=np.float32).reshape(N, 2)
    Xb = -np.arange(N * 3, dtype=np.float32).reshape(N, 3)
    single = list(_dataset.prediction_batches(ArraySource(Xa), batch_size=batch_size))
    assert not any(isinstance(batch, dict) for batch in single)
    np.testing.assert_array_equal(np.concatenate([np.asarray(b) for b in single]), Xa)
    batches = list(_dataset.prediction_batches(
        NamedSource({"a": ArraySource(Xa), "b": ArraySource(Xb)}), batch_size=batch_size))
    assert len(batches) == -(-N // batch_size) and all(sorted(b) == ["a", "b"] for b in batches)
    np.testing.assert_array_equal(np.concatenate([np.asarray(b["b"]) for b in batches]), Xb)


@pytest.mark.parametrize("several", [False, True], ids=["one output", "several outputs"])
def test_memory_and_tf_data_give_keras_the_same_targets(several):
    X = np.arange(N * 2, dtype=np.float32).reshape(N, 2)
    if several:
        targets = _two_outputs().targets({"kind": LABELS, "flag": FLAGS})
    else:
        targets = Targets(np.arange(N, dtype=np.uint8) % 3, np.int32)
    w = np.ones(N, np.float32)
    _, y, _, order, _ = _dataset.in_memory_batches(
        ArraySource(X), targets, w, batch_size=N, epochs=1, shuffle=False, seed=0)
    with contextlib.ExitStack() as stack:
        dataset, _ = _dataset.training_dataset(ArraySource(X), targets, w, batch_size=N, epochs=1,
                                               shuffle=False, seed=0, stack=stack)
        _, streamed, _ = next(iter(dataset))
    memory, streamed = keras.tree.flatten(y), keras.tree.flatten(streamed)
    assert len(memory) == len(streamed) == (2 if several else 1)
    for from_memory, from_pipeline in zip(memory, streamed):
        assert from_memory.dtype == from_pipeline.numpy().dtype
        np.testing.assert_array_equal(from_memory[order[0]], from_pipeline.numpy())


def test_a_fit_lets_the_encoded_targets_go(monkeypatch):
    """TensorFlow keeps a pipeline's gather function for the life of the process; it reaches
    the targets only through the holder the fit empties, so their values go with the fit."""
    seen = []
    real = _dataset.training_dataset

    def spy(X, targets, w, **kwargs):
        seen.append(weakref.ref(targets.values))
        return real(X, targets, w, **kwargs)

    monkeypatch.setattr(_dataset, "training_dataset", spy)
    monkeypatch.setattr(_dataset, "MAX_IN_MEMORY_BYTES", 0)  # the tf.data pipeline

    def two_heads(meta):
        x = keras.Input(meta["input_shape_"])
        return keras.Model(x, {"kind": keras.layers.Dense(3, activation="softmax")(x),
                               "flag": keras.layers.Dense(1, activation="sigmoid")(x)})

    X = np.random.default_rng(0).normal(size=(N, 2))
    est = KerasPipelineClassifier(two_heads, epochs=1, random_state=0)
    est.fit(X, {"kind": LABELS, "flag": FLAGS})
    gc.collect()
    assert len(seen) == 1 and seen[0]() is None


def test_the_training_modules_never_ask_how_many_inputs_or_outputs():
    for name in ("_dataset.py", "_training.py", "_compiled_epochs.py"):
        text = (PACKAGE / name).read_text()
        assert not re.search(r"\bMulti\w*|y_heads|y_dtype|isinstance\(\w+, dict\)", text), name


# -- one output or several: the questions every encoder answers the same way -------------------
def _one_output():
    encoder = ClassifierTargetEncoder()
    encoder.fit(LABELS)
    encoder.set_output_width(3, "sparse_categorical_crossentropy")
    return encoder


def test_the_encoder_of_several_outputs_keeps_the_path_files_and_pickles_name():
    from skkeras_prep import _target_layout, _targets

    assert _targets.MultiOutputEncoder is _target_layout.MultiOutputEncoder
    assert MultiOutputEncoder.__module__ == "skkeras_prep._targets"  # what pickle and skops write
    data = pickle.dumps(_two_outputs())
    assert b"skkeras_prep._targets" in data and b"_target_layout" not in data
    again = pickle.loads(data)
    assert type(again) is MultiOutputEncoder and again.names_ == ["flag", "kind"]
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _targets.Nothing  # noqa: B018


def test_model_outputs_are_read_per_head_for_one_output_and_several():
    from skkeras_prep._target_layout import join_rows, map_heads, model_output_count

    one, two = _one_output(), _two_outputs()
    assert (model_output_count(one), model_output_count(two), model_output_count(None)) == (1, 2, 1)
    assert map_heads(one, "out", lambda head, part: (head, part)) == (one, "out")
    by_name = map_heads(two, {"kind": "k", "flag": "f"}, lambda head, part: (head, part))
    assert by_name == [(two.heads_[0], "f"), (two.heads_[1], "k")]  # the encoder's order
    assert map_heads(two, ["f", "k"], lambda head, part: part, join=tuple) == ("f", "k")
    np.testing.assert_array_equal(join_rows([np.zeros((2, 1)), np.ones((1, 1))]),
                                  [[0], [0], [1]])
    joined = join_rows([[np.zeros((2, 1)), np.zeros((2, 3))], [np.ones((1, 1)), np.ones((1, 3))]])
    assert [part.shape for part in joined] == [(3, 1), (3, 3)]


def test_output_widths_read_one_output_from_a_structure_of_one():
    from skkeras_prep._target_layout import output_widths

    def width(shape, name=None):
        return (name, shape[1])

    def names(count):
        return [f"o{i}" for i in range(count)]

    assert output_widths((None, 3), width, names) == (None, 3)
    assert output_widths([(None, 3)], width, names) == (None, 3)  # keras.Model(inp, [out])
    assert output_widths({"a": (None, 3)}, width, names) == (None, 3)
    assert output_widths(((None, 1), (None, 2)), width, names) == {"o0": ("o0", 1), "o1": ("o1", 2)}
    assert output_widths({"a": (None, 1), "b": (None, 2)}, width, names) == {
        "a": ("a", 1), "b": ("b", 2)}


def test_losses_and_targets_are_laid_out_per_output_for_one_output_and_several():
    from skkeras_prep._target_layout import (as_predicted, default_losses, named_outputs,
                                             output_targets, per_output)

    one, two = _one_output(), _two_outputs()
    assert per_output(["mse"], 3) == "mse" and per_output({"a": "mse"}, 3) == "mse"
    with pytest.raises(ValueError, match="`loss` has 2 entries, but the model has one output"):
        per_output(["mse", "mae"], 3)
    widths = {"flag": 1, "kind": 3}
    assert default_losses(one, 3) is None
    defaults = default_losses(two, widths)
    assert defaults == {"flag": "binary_crossentropy", "kind": "sparse_categorical_crossentropy"}
    assert per_output({"kind": "mse"}, widths, defaults) == {
        "flag": "binary_crossentropy", "kind": "mse"}
    outputs, keyed = output_targets(one, LABELS)
    assert outputs == [(None, one, LABELS)] and not keyed
    outputs, keyed = output_targets(two, {"kind": LABELS, "flag": FLAGS})
    assert keyed and [(name, head) for name, head, _ in outputs] == [
        ("flag", two.heads_[0]), ("kind", two.heads_[1])]
    np.testing.assert_array_equal(outputs[1][2], LABELS)
    assert as_predicted(one, LABELS) is LABELS
    assert named_outputs({"output_names_": ["a", "b"]}) and not named_outputs({"output_names_": None})
