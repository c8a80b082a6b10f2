"""The ``distribution`` parameter of the estimators: which ``tf.distribute`` strategy trains the model.

The parameter takes None, a strategy name (``STRATEGY_NAMES``), a factory (a callable
returning a strategy), a ``tf.distribute.Strategy`` instance, or a ``StrategySpec``. A
strategy instance cannot be pickled (loky, Dask) or saved (skops), so pickling and saving
store a ``StrategySpec`` in its place: the strategy's name and devices, from which
``resolve`` builds an equal strategy in the process that fits. ``clone`` shares the
instance (``_estimator.__sklearn_clone__``): a deep copy would restart the strategy's
collective keys, so fits of two clones could collide, and a strategy holds no training state.

``resolve`` is called at the start of each fit; the strategy it returns enters in
``_training.model_scope`` (model, optimizer and metrics) and Keras distributes the
training pipelines with it (docs/scaling.md, "Several devices for one model").
TensorFlow is imported only when a strategy is resolved or described.
"""

__all__ = ["STRATEGY_NAMES", "StrategySpec"]

# name -> (tf.distribute class name, whether it takes a device list)
_STRATEGIES = {
    "mirrored": ("MirroredStrategy", True),
    "one_device": ("OneDeviceStrategy", True),
    "multi_worker_mirrored": ("MultiWorkerMirroredStrategy", False),
}
STRATEGY_NAMES = tuple(_STRATEGIES)
# The strategies built from names and specs in this process, by (name, devices). A strategy
# is a description of devices, not training state, so fits share it; one strategy per
# device set also keeps each strategy's collective keys apart.
_BUILT = {}


class StrategySpec:
    """What is needed to rebuild a ``tf.distribute`` strategy: a name from
    ``STRATEGY_NAMES`` and, for the strategies that take them, the device names (None: the
    strategy's default, all visible GPUs or else the CPU). Picklable and saved with the
    estimator; ``build()`` makes the strategy."""

    def __init__(self, name, devices=None):
        self.name = name
        self.devices = None if devices is None else tuple(str(d) for d in devices)

    def build(self):
        """The strategy, made once per process for each spec and reused after (see
        ``_BUILT``)."""
        check_name(self.name)
        key = (self.name, self.devices)
        if key not in _BUILT:
            _BUILT[key] = self._make()
        return _BUILT[key]

    def _make(self):
        import tensorflow as tf

        class_name, takes_devices = _STRATEGIES[self.name]
        cls = getattr(tf.distribute, class_name)
        if self.name == "one_device":
            return cls(self.devices[0] if self.devices else _default_device())
        if self.name == "mirrored":
            # reduce on one device instead of collective ops: the collective keys of two
            # MirroredStrategy objects over the same devices start at the same numbers, and
            # a fit under one then collides with an earlier fit under the other ("Shape
            # mismatch in the collective instance ...")
            return cls(list(self.devices) if self.devices else None,
                       cross_device_ops=tf.distribute.ReductionToOneDevice())
        return cls(list(self.devices)) if takes_devices and self.devices else cls()

    def __eq__(self, other):
        return (type(other) is StrategySpec and other.name == self.name
                and other.devices == self.devices)

    def __hash__(self):
        return hash((self.name, self.devices))

    def __repr__(self):
        devices = "" if self.devices is None else f", devices={list(self.devices)!r}"
        return f"StrategySpec({self.name!r}{devices})"


def _default_device():
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name if gpus else "/cpu:0"


def check_name(name):
    if name not in _STRATEGIES:
        raise ValueError(
            f"Unknown distribution strategy name {name!r}; use one of {list(STRATEGY_NAMES)}, "
            "a tf.distribute.Strategy instance, or a callable that returns one."
        )


def is_strategy(value):
    """Whether ``value`` is a ``tf.distribute.Strategy`` (without importing TensorFlow when
    it cannot be one)."""
    if value is None or isinstance(value, (str, StrategySpec)) or isinstance(value, type):
        return False
    import tensorflow as tf

    return isinstance(value, tf.distribute.Strategy)


def describe(strategy):
    """A ``StrategySpec`` for a strategy instance: its class's name and its devices. A
    strategy of another class is refused, naming the ways that can be saved."""
    by_class = {class_name: name for name, (class_name, _) in _STRATEGIES.items()}
    name = by_class.get(type(strategy).__name__)
    if name is None:
        raise TypeError(
            f"A {type(strategy).__name__} cannot be pickled or saved with the estimator, and "
            f"it is not one this package knows how to rebuild ({list(STRATEGY_NAMES)}). Pass "
            "distribution= as a factory (a module-level function returning the strategy) "
            "instead of the instance."
        )
    if not _STRATEGIES[name][1]:
        return StrategySpec(name)
    return StrategySpec(name, tuple(strategy.extended.worker_devices))


def picklable(value):
    """``value`` with a strategy instance replaced by its ``StrategySpec``."""
    return describe(value) if is_strategy(value) else value


def resolve(value):
    """The strategy for the ``distribution`` parameter's value, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return StrategySpec(value).build()
    if isinstance(value, StrategySpec):
        return value.build()
    if is_strategy(value):
        return value
    strategy = value()  # a factory: validate_params checked that it is callable
    if not is_strategy(strategy):
        raise TypeError(
            f"distribution={value!r} is a factory that returned {type(strategy).__name__}; "
            "it must return a tf.distribute.Strategy."
        )
    return strategy


def replicas(strategy):
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)
