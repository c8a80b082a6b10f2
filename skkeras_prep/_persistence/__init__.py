"""Saving and loading estimators as one file (``est.save(path)``, ``skkeras_prep.load(path)``).

Each module has one job; each imports only the modules above it in this list:

    errors         the errors a refused file raises
    schema         a skops schema read as a description (nothing it names is imported)
    path_values    parameters that reach a path, a URL or the network, and their refusal
    row_size       sizes a file implies beyond its bytes (one input row, layer count)
    weights_check  a model.weights.h5 read as HDF5 metadata
    limits         the cost limits of ``load`` and their checks
    trusted        the trusted types, ``trusted=``, the trust check of the skops state
    references     Keras objects and classes in the parameters: marks and their resolution
    format         the file layout, and reading a file with every check done first
    saved_io       what a file holds for several inputs or outputs (format version 2)
    saving         ``save_estimator``
    loading        ``load``, ``inspect_file``

The threat model is in docs/persistence.md.
"""

from .limits import DEFAULT_LIMITS
from .loading import inspect_file, load
from .saving import save_estimator
from .trusted import default_trusted_types

__all__ = ["DEFAULT_LIMITS", "default_trusted_types", "inspect_file", "load", "save_estimator"]
