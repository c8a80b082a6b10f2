"""skkeras_prep: Keras models with their scikit-learn preprocessing, as scikit-learn estimators."""

from ._targets import ClassifierTargetEncoder
from .classifier import KerasPipelineClassifier
from .exceptions import SkKerasPrepWarning, TrainingDivergedError
from ._persistence import inspect_file, load
from .multi_io import MultiInput, MultiOutput
from ._config import config_context, get_config, set_config
from ._pool import clear_cache
from .regressor import KerasPipelineRegressor

__version__ = "0.1.0"

__all__ = [
    "ClassifierTargetEncoder",
    "KerasPipelineClassifier",
    "KerasPipelineRegressor",
    "MultiInput",
    "MultiOutput",
    "SkKerasPrepWarning",
    "TrainingDivergedError",
    "clear_cache",
    "config_context",
    "get_config",
    "inspect_file",
    "load",
    "set_config",
    "__version__",
]
