"""An error raised by the user's own loss or metric while Keras first runs it, said as what it
is: which function failed, at which line, what it receives, and how to fix it.

Keras traces a loss or metric into the training step before the first batch, and an error in
the user's arithmetic (an integer ``y_true`` minus a float ``y_pred``, shapes that do not
broadcast) surfaces as TensorFlow's message about an op ("Input 'y' of 'Sub' Op has type
float32 that does not match type int32 of argument 'x'"), naming neither the function nor
what it was given. ``explaining`` re-raises it naming both. It recognises the user's code by
the functions the model was compiled with (plain functions, and the methods of the user's
own ``Loss`` and ``Metric`` classes) among the frames of the error; errors raised anywhere
else pass through unchanged.
"""

import contextlib
import types

from ._compat import keras_user_losses_and_metrics
from ._pickling import leaves


def _ours_or_keras(item):
    return type(item).__module__.startswith(("keras", "skkeras_prep"))


def _codes(value, kind):
    """``{code object: kind}`` of the user's functions in a loss or metrics structure."""
    codes = {}
    for item in leaves(value):
        if isinstance(item, types.FunctionType):
            codes[item.__code__] = kind
        elif item is not None and not isinstance(item, str) and not _ours_or_keras(item):
            for method in vars(type(item)).values():  # a Loss or Metric class of the user's
                if isinstance(method, types.FunctionType):
                    codes[method.__code__] = kind
    return codes


def _user_frame(traceback, codes):
    """``(kind, code, line)`` of the deepest frame of ``traceback`` running one of ``codes``."""
    found = None
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code in codes:
            found = codes[code], code, traceback.tb_lineno
        traceback = traceback.tb_next
    return found


def _received(targets):
    """What a loss or metric of each output gets as ``y_true``, from the ``Targets``' heads."""
    described = []
    for name, start, stop, dtype, squeeze in targets.heads:
        if name is None:
            dims = ", ".join(str(d) for d in targets.row_shape)
            described.append(f"y_true is {targets.dtype.name} of shape (batch, {dims})"
                             if dims else f"y_true is {targets.dtype.name} of shape (batch,)")
        else:
            shape = "(batch,)" if squeeze else f"(batch, {stop - start})"
            described.append(f"y_true for output {name!r} is {dtype} of shape {shape}")
    return "; ".join(described)


@contextlib.contextmanager
def explaining(model, targets):
    """Around training the compiled ``model`` on ``targets`` (a ``_target_layout.Targets``):
    an error raised in the user's loss or metric is re-raised (same type, chained) naming the
    function, its line, and the ``y_true`` it receives."""
    try:
        yield
    except (TypeError, ValueError) as error:
        losses, metrics = keras_user_losses_and_metrics(model)
        found = _user_frame(error.__traceback__, {**_codes(metrics, "metric"),
                                                  **_codes(losses, "loss")})
        if found is None:
            raise
        kind, code, line = found
        raise type(error)(
            f"Your {kind} {code.co_name!r} ({code.co_filename}, line {line}) failed when "
            f"Keras ran it on the first batch: {error} Here {_received(targets)}, and y_pred "
            "is the model's output (float32, shape (batch, units)). Make the function work on "
            "those: e.g. y_true = keras.ops.cast(y_true, y_pred.dtype) before arithmetic with "
            "y_pred, and reshape it where the shapes differ."
        ) from error
