"""The package's warning class and error helpers."""


class SkKerasPrepWarning(UserWarning):
    """Warning issued by skkeras_prep: a file saved under other library versions is loaded,
    or raw input values are too large for float32 to hold exactly."""


class TrainingDivergedError(ValueError):
    """Raised when the training loss becomes NaN or infinite.

    It subclasses ``ValueError`` so that code catching bad-input errors also catches it.
    """


class InvalidParameterError(ValueError, TypeError):
    """Raised at ``fit`` when a constructor or routed parameter has a value it does not accept.

    It subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's own
    ``InvalidParameterError`` does), so code catching either catches it. The message names the
    class, the parameter, what it accepts and the value it got.
    """


class RoutedArgumentError(InvalidParameterError):
    """Raised when a routed parameter names an argument its target does not take: a
    ``model__*`` name that is not an argument of the model builder (or an argument the builder
    needs that was not given), or a ``loss__*``, ``optimizer__*`` or ``metrics__*`` key below
    an object that takes no such argument.

    Like ``InvalidParameterError`` it subclasses both ``ValueError`` (what this library raised
    before) and ``TypeError`` (what scikeras raises), so code written for either keeps working.
    """
