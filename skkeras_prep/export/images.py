"""The inputs of an exported image estimator (an ``ImageLoader`` preprocessor).

``image_inputs(estimator, input)`` returns the Keras input and the float32 images the model
receives, for one of two kinds of input:

* ``"images"`` (the default): images of the trained size ``(batch, h, w, c)``, uint8 (0-255)
  or float, as decoded by ``tf.io.decode_image``; the loader's ``scale`` is built in;
* ``"bytes"``: encoded image files ``(batch,)`` of ``tf.string`` (PNG, JPEG, GIF, BMP), decoded,
  resized and scaled in the model with the ops ``ImageLoader`` uses in training, so a server
  can send the raw file bytes.
"""

import keras

from ..images import ImageLoader
from ._common import ExportError
from .layers import DecodeImages, ScaleImages

#: The ``input`` values of an image estimator's export.
IMAGE_INPUTS = ("images", "bytes")


def exports_images(estimator):
    """Whether the estimator's fitted preprocessor is an ``ImageLoader``."""
    return isinstance(getattr(estimator, "preprocessor_", None), ImageLoader)


def image_inputs(estimator, input):
    """(inputs, images): the Keras input of the given kind and the float32 images it gives."""
    input = "images" if input is None else input
    if input not in IMAGE_INPUTS:
        raise ExportError(
            f"export_model(input={input!r}): an estimator with an ImageLoader preprocessor "
            f"exports input='images' (arrays of shape (n,) + {tuple(estimator.input_shape_)}, "
            "uint8 or float) or input='bytes' (encoded image files as tf.string)."
        )
    settings = estimator.preprocessor_.settings()
    if input == "images":
        images = keras.Input(shape=settings.row_shape, dtype="float32", name="images")
        return images, ScaleImages(settings.scale)(images)
    encoded = keras.Input(shape=(), dtype="string", name="image_bytes")
    return encoded, DecodeImages(settings.size, settings.channels, settings.interpolation,
                                 settings.crop_to_aspect_ratio, settings.scale)(encoded)
