"""The savings on a warm fit (issue 21): each one gives exactly what the longer way gave."""

import keras
import numpy as np
import pytest

from skkeras_prep import KerasPipelineClassifier, _compiling, _dataset
from skkeras_prep._target_layout import Targets
from skkeras_prep.sources.arrays import ArraySource


def _optimizer_state(optimizer):
    config = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    return type(optimizer), config, [v.numpy().tolist() for v in optimizer.variables]


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop", "adamw"])
def test_an_optimizer_named_without_arguments_is_the_class_made_without_them(name):
    made, again = _compiling.resolve_optimizer(name, {}), _compiling.resolve_optimizer(name, {})
    assert made is not again  # never shared between fits
    expected = type(keras.optimizers.get(name))()
    assert _optimizer_state(made) == _optimizer_state(expected)


def test_routed_optimizer_arguments_still_apply_to_a_name():
    made = _compiling.resolve_optimizer("adam", {"learning_rate": 0.25})
    assert isinstance(made, keras.optimizers.Adam)
    assert float(made.learning_rate.numpy()) == 0.25


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n, batch_size", [(7, 7), (7, 100), (9, 4)])
def test_in_memory_order_is_the_pipelines_order(n, batch_size, shuffle):
    """One batch holding every row takes a shortcut (no permutation drawn); every epoch's
    order is still the one the pipeline's ``_EpochOrder`` gives, batch by batch."""
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    epochs, seed = 5, 3
    *_, order, _ = _dataset.in_memory_batches(
        ArraySource(x), Targets(np.zeros(n)), np.ones(n), batch_size=batch_size, epochs=epochs,
        shuffle=shuffle, seed=seed)
    pipeline = _dataset._EpochOrder(n, seed, shuffle)
    for epoch in range(epochs):
        expected = np.concatenate([
            np.arange(n)[pipeline.indices(epoch, start, min(n, start + batch_size))]
            for start in range(0, n, batch_size)])
        np.testing.assert_array_equal(order[epoch], expected)
    assert order.dtype == np.int32 and order.flags.writeable


class _Subclass(KerasPipelineClassifier):
    """A scikeras-style subclass: its own ``__init__`` with a new parameter."""

    def __init__(self, width=3, **kwargs):
        super().__init__(**kwargs)
        self.width = width


def test_parameter_names_follow_each_class_and_a_redefined_init():
    base = set(KerasPipelineClassifier().get_params())
    assert set(_Subclass(width=4).get_params()) == base | {"width"}
    assert set(KerasPipelineClassifier().get_params()) == base  # not the subclass's names

    class Later(_Subclass):
        pass

    assert set(Later().get_params()) == base | {"width"}

    def init(self, depth=1, **kwargs):
        _Subclass.__init__(self, **kwargs)
        self.depth = depth

    Later.__init__ = init  # the class's __init__ changes after its names were read
    assert set(Later(depth=2).get_params()) == base | {"width", "depth"}
