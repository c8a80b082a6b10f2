"""skkeras_prep: Keras models with their scikit-learn preprocessing, as scikit-learn estimators."""

from .classifier import KerasPipelineClassifier
from .exceptions import SkKerasPrepWarning, TrainingDivergedError
from ._persistence import inspect_file, load
from .multi_io import MultiInput, MultiOutput
from .regressor import KerasPipelineRegressor

__version__ = "0.1.0"

__all__ = [
    "KerasPipelineClassifier",
    "KerasPipelineRegressor",
    "MultiInput",
    "MultiOutput",
    "SkKerasPrepWarning",
    "TrainingDivergedError",
    "inspect_file",
    "load",
    "__version__",
]
