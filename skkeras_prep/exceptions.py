"""The package's warning class and error helpers."""


class SkKerasPrepWarning(UserWarning):
    """Warning issued by skkeras_prep (for example a routed parameter that is ignored)."""


class TrainingDivergedError(ValueError):
    """Raised when the training loss becomes NaN or infinite.

    It subclasses ``ValueError`` so that code catching bad-input errors also catches it.
    """
