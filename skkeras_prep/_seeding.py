"""Seeding a built Keras model from one integer, without process-wide random state.

Keras gives every unseeded initializer, dropout, noise and ``Random*`` layer a default seed
drawn from Python's ``random`` module when the layer is created. Those draws depend on
whatever else in the process uses ``random`` (other threads, Dask workers, notebooks), so
they cannot make a fit repeatable. ``reseed_model(model, seed)`` runs after the model is
built and replaces each of them with a seed derived from the fit's seed and the part's
position in the model:

- **weights**: each variable whose layer holds its initializer as ``<name>_initializer``
  (``kernel`` <- ``kernel_initializer``, ``gamma`` <- ``gamma_initializer``,
  ``embeddings`` <- ``embeddings_initializer``; for ``<x>_kernel`` also ``<x>_initializer``,
  as in ``recurrent_kernel`` and ``depthwise_kernel``) is redrawn from a copy of that
  initializer with an explicit seed. Only random initializers whose seed was left unset are
  redrawn; deterministic ones (zeros, ones, constants) and initializers given an explicit
  seed keep what Keras made. The layer's own initializer attributes are not changed.
- **dropout, noise and ``Random*`` layers**: the state of each unseeded ``SeedGenerator`` a
  layer owns is set to ``[derived seed, 0]``. The state is a variable, so a traced training
  step reads it, and it advances from there as in Keras.

Not covered (Keras's draw is kept, so these parts are not repeatable under other threads):
a weight whose initializer the layer does not keep as a ``<name>_initializer`` attribute
(for example a custom layer calling ``add_weight(initializer="random_normal")`` directly;
give that initializer an explicit seed), a weight that does not exist yet when this runs
(``build_model`` first calls a subclassed model without ``build()`` once, so that its
weights exist), initializers given as plain functions, and random ops called with ``seed=None``
inside a layer's ``call`` (Keras's global generator). An LSTM bias with
``unit_forget_bias=True`` is left alone, because Keras builds it from a wrapped initializer.

Keras internals used, through ``_compat`` (``keras_layers``, ``keras_own_state``):
``Layer._flatten_layers``, the layer's own ``_trainable_variables``/``_non_trainable_variables``
lists and ``_seed_generators``.
"""

import keras
import numpy as np

from ._compat import keras_layers, keras_own_state

_WEIGHT, _GENERATOR = 0, 1


def derived_seed(seed, kind, *position):
    """A seed in [1, 2**31 - 2] for one random part, from the fit's seed and its position."""
    entropy = [int(seed) % 2**63, kind, *position]
    state = np.random.SeedSequence(entropy).generate_state(1)[0]
    return int(state) % (2**31 - 2) + 1


def reseed_model(model, seed):
    """Redraw ``model``'s randomly initialised weights and reset its seed generators from
    ``seed``. Returns the number of weights and generators reseeded."""
    done = 0
    seen = set()
    for layer_index, layer in enumerate(_layers(model)):
        own, generators = _own_state(layer)
        for var_index, variable in enumerate(own):
            if id(variable) in seen:
                continue
            seen.add(id(variable))
            initializer = _seedless_initializer(layer, variable.name)
            if initializer is None:
                continue
            seeded = _with_seed(initializer, derived_seed(seed, _WEIGHT, layer_index, var_index))
            if seeded is not None:
                variable.assign(seeded(tuple(variable.shape), dtype=variable.dtype))
                done += 1
        for gen_index, generator in enumerate(generators):
            if id(generator) in seen or generator.get_config().get("seed") is not None:
                continue
            seen.add(id(generator))
            value = [derived_seed(seed, _GENERATOR, layer_index, gen_index), 0]
            generator.state.assign(keras.ops.convert_to_tensor(value, dtype=generator.state.dtype))
            done += 1
    return done


_layers = keras_layers
_own_state = keras_own_state


def _seedless_initializer(layer, name):
    """The layer's random initializer for weight ``name`` if its seed was left unset."""
    if name == "bias" and getattr(layer, "unit_forget_bias", False) is True:
        return None
    candidates = [name]
    if name.endswith("_kernel"):
        candidates.append(name[: -len("_kernel")])
    for base in candidates:
        for attr in (f"{base}_initializer", f"_{base}_initializer"):
            initializer = getattr(layer, attr, None)
            if isinstance(initializer, keras.initializers.Initializer):
                config = initializer.get_config()
                if "seed" in config and config["seed"] is None:
                    return initializer
                return None
    return None


def _with_seed(initializer, seed):
    """A copy of ``initializer`` with an explicit seed, or None if it cannot be copied."""
    try:
        return type(initializer).from_config({**initializer.get_config(), "seed": seed})
    except (TypeError, ValueError):
        return None
