"""Image files as a row source: batches of file paths, decoded inside the ``tf.data`` graph.

``ImageFileSource`` gathers a batch of paths (``batch_dtype = "string"``, one path a row), and
its ``graph_decoder`` reads, decodes, resizes and scales them with TensorFlow's own ops
(``tf.io.read_file``, ``tf.io.decode_image``, ``tf.image.resize``) inside the parallel map of
the pipeline. No Python runs per image, and memory is bounded by the batches in flight, not
by the folder. The same ops (``decode_images``) serve the exported model's bytes input, so a
served image gives what ``predict`` gives.

``check_image_files`` is the cheap check made before any decoding: each file exists and starts
with the signature of a format TensorFlow decodes (PNG, JPEG, GIF, BMP). Decoding itself runs
in the graph, where a failure could not name its file; checking the first bytes up front
names it, and says how many others failed.

TensorFlow is imported only when a decoder runs.
"""

import collections
import os
import re

import numpy as np

from .protocol import RowSource

#: Channels per ``color_mode`` (as in ``keras.utils.image_dataset_from_directory``).
CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
#: The ``interpolation`` values ``tf.image.resize`` takes.
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                  "mitchellcubic")
# The first bytes of each format tf.io.decode_image reads.
_SIGNATURES = {
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "JPEG": (b"\xff\xd8\xff",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "BMP": (b"BM",),
}
_SIGNATURE_BYTES = max(len(s) for group in _SIGNATURES.values() for s in group)
# Interpolations whose resize to the image's own size returns the image unchanged (their kernel
# weighs only the pixel itself at whole-pixel offsets): an image already of the target size
# skips the resize, so a folder stored at the trained size costs a decode and a cast only.
# The other kernels (lanczos, gaussian, mitchellcubic) change or round it, and always resize.
_EXACT_AT_SAME_SIZE = frozenset({"bilinear", "nearest", "bicubic", "area"})


class ImageSettings(collections.namedtuple(
        "ImageSettings", "size channels interpolation crop_to_aspect_ratio scale")):
    """How a file becomes a model row: ``size`` (height, width), ``channels``, the resize
    ``interpolation``, whether to centre-crop to the target aspect ratio first, and the factor
    each value is multiplied by (``scale``, None for 1)."""

    @property
    def row_shape(self):
        return (int(self.size[0]), int(self.size[1]), int(self.channels))


def _image_format(head):
    for name, signatures in _SIGNATURES.items():
        if any(head.startswith(s) for s in signatures):
            return name
    return None


def check_image_files(paths, *, signatures=False):
    """Raise a ``ValueError`` naming the first path that does not exist, is not a file, or
    does not start like a PNG, JPEG, GIF or BMP file, with the number of others that fail.
    Reads the first bytes of each file only. With ``signatures=True``, returns the
    ``(size, modification time in ns)`` of each file (for cache keys); else None, so that a
    large folder does not hold a stat result per file (about 0.5 KB each)."""
    problems, stats = [], []
    for path in paths:
        try:
            stat = os.stat(path)
            with open(path, "rb") as handle:
                head = handle.read(_SIGNATURE_BYTES)
        except FileNotFoundError:
            problems.append((path, "does not exist"))
            continue
        except IsADirectoryError:
            problems.append((path, "is a directory, not an image file"))
            continue
        except OSError as error:
            problems.append((path, f"cannot be read ({error.strerror or error})"))
            continue
        if _image_format(head) is None:
            problems.append((path, "is not a PNG, JPEG, GIF or BMP image (its first bytes are "
                                   f"{head[:8]!r})"))
            continue
        if signatures:
            stats.append((stat.st_size, stat.st_mtime_ns))
    if problems:
        raise ValueError(_failure_message(problems, len(paths)))
    return stats if signatures else None


def _failure_message(problems, total):
    """The first failing file and its reason, and how many (and which) others failed."""
    first, reason = problems[0]
    others = len(problems) - 1
    more = (f" {others} other file(s) of the {total} failed too" if others else
            f" It is the only one of the {total} files that failed")
    shown = ", ".join(repr(os.fsdecode(p)) for p, _ in problems[1:4])
    return (
        f"Image file {os.fsdecode(first)!r} {reason}.{more}"
        f"{' (' + shown + (', ...' if others > 3 else '') + ')' if others else ''}. "
        "Pass only paths of existing, readable image files (skkeras_prep.images.image_folder "
        "lists the images of a folder by extension)."
    )


def undecodable_files(paths, settings):
    """(path, reason) for each file that TensorFlow cannot decode, found by decoding each one
    eagerly; only run after a decode failure in the graph, which cannot name its file."""
    import tensorflow as tf

    problems = []
    for path in paths:
        try:
            _decode_one(tf.io.read_file(path), settings)
        except (tf.errors.OpError, ValueError) as error:
            reason = getattr(error, "message", str(error)).strip().splitlines()[0]
            reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*$", "", reason)
            problems.append((path, f"could not be decoded ({reason})"))
    return problems


def _decode_one(data, settings):
    """One encoded image (a scalar tf.string of file contents) -> float32 (h, w, c)."""
    import tensorflow as tf

    height, width, channels = settings.row_shape
    image = tf.io.decode_image(data, channels=channels, expand_animations=False)
    if settings.crop_to_aspect_ratio:
        # centre crop to the target aspect ratio, as keras.preprocessing.image.smart_resize
        shape = tf.shape(image)
        h, w = shape[0], shape[1]
        crop_h = tf.maximum(tf.minimum(h, (w * height) // width), 1)
        crop_w = tf.maximum(tf.minimum(w, (h * width) // height), 1)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        image = image[top:top + crop_h, left:left + crop_w, :]
    if settings.interpolation in _EXACT_AT_SAME_SIZE:
        shape = tf.shape(image)
        same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
        image = tf.cond(same, lambda: tf.cast(image, tf.float32),
                        lambda: _resized(image, settings))
    else:
        image = _resized(image, settings)
    if settings.scale is not None and settings.scale != 1:
        image = image * tf.constant(settings.scale, tf.float32)
    return tf.ensure_shape(image, settings.row_shape)


def _resized(image, settings):
    import tensorflow as tf

    resized = tf.image.resize(image, settings.size, method=settings.interpolation)
    return tf.cast(resized, tf.float32)


def decode_images(batch, settings, *, contents=False):
    """TensorFlow ops: a 1-D tf.string batch of file paths (or, with ``contents=True``, of
    encoded image bytes) -> float32 ``(batch, h, w, c)`` images, decoded, resized and
    scaled as ``settings`` says."""
    import tensorflow as tf

    @tf.autograph.experimental.do_not_convert  # TensorFlow ops only (see _dataset)
    def one(item):
        return _decode_one(item if contents else tf.io.read_file(item), settings)

    spec = tf.TensorSpec(settings.row_shape, tf.float32)
    if tf.executing_eagerly():  # a direct call of an exported model: no parallel iterations
        return tf.map_fn(one, batch, fn_output_signature=spec)
    return tf.map_fn(one, batch, fn_output_signature=spec, parallel_iterations=16)


def as_path_array(paths):
    """A 1-D object array of file paths as bytes (what a tf.string batch holds)."""
    return np.array([os.fsencode(os.fspath(p)) for p in paths], dtype=object)


class ImageFileSource(RowSource):
    """Rows that are image files, decoded per batch in the graph (see the module docstring).

    ``paths`` is a 1-D object array of paths as bytes (``as_path_array``)."""

    batch_dtype = "string"

    def __init__(self, paths, settings):
        self.paths = paths
        self.settings = ImageSettings(*settings)

    @property
    def n_rows(self):
        return len(self.paths)

    @property
    def row_shape(self):
        return self.settings.row_shape

    @property
    def gathered_shape(self):
        return ()

    def gather(self, index):
        return self.paths[index]

    def take(self, rows):
        return ImageFileSource(self.paths[rows], self.settings)

    def explain_error(self, error):
        """A ValueError naming the files that failed to decode, for a TensorFlow error raised
        while the pipeline ran (None when every file decodes: the error is not the files')."""
        import tensorflow as tf

        if not isinstance(error, tf.errors.OpError):
            return None
        problems = undecodable_files(self.paths, self.settings)
        return ValueError(_failure_message(problems, self.n_rows)) if problems else None

    def graph_decoder(self):
        settings = self.settings  # settings only: the traced decoder holds no paths

        def decode(batch):
            return decode_images(batch, settings)

        return decode
