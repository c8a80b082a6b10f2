"""Image files on disk: ``image_folder`` lists a folder of class sub-folders, ``ImageLoader``
turns file paths into image rows.

``image_folder(directory)`` returns ``(X, y)``: X a 1-D object array of file paths, y the class
name of each (its sub-folder), in sorted order, like ``flow_from_directory``. Any 1-D list or
array of paths works as X, so scikit-learn's splitters and searches index it as usual.

``ImageLoader(size=(h, w))`` is a scikit-learn transformer that takes such paths:

* standalone (or as a step followed by other steps in a Pipeline), ``transform(paths)``
  decodes every image and returns a float32 array ``(n, h, w, channels)``;
* as an estimator's ``preprocessor``, ``transform`` returns an
  ``sources.images.ImageFileSource``: the rows stay file paths, and each batch is read,
  decoded, resized and scaled inside the ``tf.data`` pipeline with TensorFlow's ops, so memory
  is bounded by the batches, not by the folder;
* ``cache="memory"`` or ``cache=<directory>`` decodes the images once per ``transform``
  instead of once per epoch, and keeps them in memory or in a ``.npy`` file in that directory
  (read back as a memory map); for folders whose decoded float32 size fits.

See docs/images.md.
"""

import hashlib
import numbers
import os
import pathlib

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._params import BOOLEAN, NONE, Interval, Options, _Predicate, validate_params
from .sources.arrays import ArraySource
from .sources.images import (CHANNELS, INTERPOLATIONS, ImageFileSource, ImageSettings,
                             as_path_array, check_image_files)
from .sources.protocol import explaining_errors, streams_rows

DEFAULT_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "gif")
# Images decoded per batch when a loader decodes eagerly (standalone transform, cache).
_DECODE_BATCH = 256


def image_folder(directory, *, extensions=DEFAULT_EXTENSIONS, follow_links=False):
    """The image files of ``directory``, one sub-folder per class, as ``(X, y)``.

    Parameters
    ----------
    directory : str or path-like
        A folder holding one sub-folder per class (``directory/cats/...``,
        ``directory/dogs/...``); images in nested folders below a class folder belong to it.
        Files directly in ``directory`` are ignored, as ``flow_from_directory`` does.
    extensions : tuple of str, default=("png", "jpg", "jpeg", "bmp", "gif")
        The file name endings (without the dot, any case) that count as images.
    follow_links : bool, default=False
        Whether to follow symbolic links to folders. A link to a folder that holds the link
        (a loop: its own folder, an ancestor, ``/``) or to a folder listed already raises a
        ValueError naming the link.

    Returns
    -------
    X : ndarray of object, shape (n_images,)
        The file paths (str), sorted by class name, then by path within the class.
    y : ndarray of object, shape (n_images,)
        The class name (sub-folder name) of each file.
    """
    root = pathlib.Path(directory)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise ValueError(f"image_folder: {os.fspath(directory)!r} {what}; pass a folder "
                         "that holds one sub-folder of images per class.")
    endings = _endings(extensions)
    classes = sorted(p.name for p in root.iterdir()
                     if p.is_dir() and (follow_links or not p.is_symlink()))
    paths, labels = [], []
    visited = {}  # real path of every folder listed -> the path it was listed under
    for name in classes:
        found = []
        for folder, files in _walk(root, name, follow_links, visited):
            found.extend(os.path.join(folder, f) for f in files if f.lower().endswith(endings))
        found.sort()
        paths.extend(found)
        labels.extend([name] * len(found))
    _check_found(directory, endings, len(classes), paths, labels)
    return np.array(paths, dtype=object), np.array(labels, dtype=object)


def _endings(extensions):
    """``(".png", ...)``: the file name endings of ``image_folder``'s ``extensions``."""
    if isinstance(extensions, str):
        extensions = (extensions,)
    endings = tuple("." + e.lower().lstrip(".") for e in extensions)
    if not endings:
        raise ValueError("image_folder: extensions is empty; pass e.g. ('png', 'jpg').")
    return endings


def _check_found(directory, endings, n_folders, paths, labels):
    """Refuse a listing with no image, or with images of one class only, naming the fix."""
    root = pathlib.Path(directory)
    if not paths:
        loose = sum(1 for p in root.iterdir() if p.is_file() and p.name.lower().endswith(endings))
        hint = (f" It holds {loose} image file(s) directly; put each class's images in its own "
                "sub-folder (directory/<class>/<image>).") if loose else ""
        raise ValueError(
            f"image_folder: no image files ending in {', '.join(endings)} found in the "
            f"{n_folders} sub-folder(s) of {os.fspath(directory)!r}.{hint} Check the path "
            "and the extensions parameter."
        )
    found_classes = sorted(set(labels))
    if len(found_classes) < 2:
        raise ValueError(
            f"image_folder: {os.fspath(directory)!r} has images of one class only "
            f"({found_classes[0]!r}, {len(paths)} files); a classifier needs at least two. Put "
            "each class's images in its own sub-folder (directory/<class>/<image>)."
        )


def _walk(root, name, follow_links, visited):
    """``(folder, file names)`` of the class folder ``root/name`` and the folders below it,
    following links to folders with ``follow_links``. Each folder is listed once: a link to
    a folder that holds the link (its own folder, an ancestor, ``/``) or to a folder already
    listed (``visited``: real path -> path) is refused, so no image counts twice and a link
    loop ends at once instead of walking until the path is too long."""
    start = os.path.join(root, name)
    chain = (os.path.realpath(root),)
    pending = [(start, chain + (_checked(start, chain, visited),))]
    while pending:
        folder, chain = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:  # unreadable, or gone since: skipped, as os.walk does
            continue
        files = []
        for entry in entries:
            try:
                is_dir, is_link = entry.is_dir(), entry.is_symlink()
            except OSError:
                is_dir = is_link = False
            if not is_dir:
                files.append(entry.name)
            elif follow_links or not is_link:
                pending.append((entry.path, chain + (_checked(entry.path, chain, visited),)))
        yield folder, files


def _checked(path, chain, visited):
    """The real path of the folder ``path``, found below the real folders ``chain``, after
    refusing a link back into ``chain`` or to a folder already listed; recorded as listed."""
    if os.path.islink(path):
        real = os.path.realpath(path)
        if any(c == real or c.startswith(real.rstrip(os.sep) + os.sep) for c in chain):
            raise ValueError(
                f"image_folder: the symbolic link {path!r} points to {real!r}, which contains "
                "the link itself: a loop that would never end. "
                "Remove the link or point it outside the image folder, or pass "
                "follow_links=False to skip linked folders."
            )
    else:
        real = os.path.join(chain[-1], os.path.basename(path))
    if real in visited:
        raise ValueError(
            f"image_folder: {path!r} leads to {real!r}, which is already listed as "
            f"{visited[real]!r} (through a symbolic link); its images would count twice. Remove "
            "one of the two, or pass follow_links=False to skip linked folders."
        )
    visited[real] = path
    return real


def _is_size(value):
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                    for v in value))


def _is_cache(value):
    return value is None or value == "memory" or isinstance(value, (str, os.PathLike))


def _paths(X):
    """X as a list of paths (str, bytes or path-like), or a clear error."""
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(f"ImageLoader takes a 1-D list or array of file paths, got one path "
                        f"{X!r}; wrap it in a list: [path].")
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    shape = np.shape(X) if isinstance(X, np.ndarray) else (len(X),) if hasattr(X, "__len__") else None
    if shape is None or len(shape) != 1:
        raise ValueError(
            f"ImageLoader takes a 1-D list or array of image file paths (e.g. the X of "
            f"skkeras_prep.images.image_folder); got {type(X).__name__} of shape {shape}. "
            "For a single column of paths use X.ravel()."
        )
    paths = list(X)
    bad = [p for p in paths if not isinstance(p, (str, bytes, os.PathLike))]
    if bad:
        raise TypeError(f"ImageLoader takes file paths (str or pathlib.Path); X holds "
                        f"{len(bad)} other value(s), e.g. {bad[0]!r} ({type(bad[0]).__name__}).")
    if not paths:
        raise ValueError("ImageLoader got no file paths (X is empty).")
    return paths


class ImageLoader(TransformerMixin, BaseEstimator):
    """Image file paths -> float32 images ``(n, height, width, channels)``.

    Each file is decoded with TensorFlow (PNG, JPEG, GIF (first frame), BMP), resized to
    ``size`` and multiplied by ``scale``, as ``keras.utils.image_dataset_from_directory``
    does. As a ``KerasPipelineClassifier``/``Regressor`` ``preprocessor``, the images are
    decoded per batch inside the training pipeline instead (see the module docstring); in a
    Pipeline followed by other scikit-learn steps, those steps get the decoded arrays.

    Parameters
    ----------
    size : (int, int), default=(256, 256)
        ``(height, width)`` of the images the model receives (Keras's default size).
    color_mode : {"rgb", "grayscale", "rgba"}, default="rgb"
        3, 1 or 4 channels.
    interpolation : str, default="bilinear"
        A ``tf.image.resize`` method: "bilinear", "nearest", "bicubic", "area", "lanczos3",
        "lanczos5", "gaussian" or "mitchellcubic".
    crop_to_aspect_ratio : bool, default=False
        Centre-crop each image to the aspect ratio of ``size`` before resizing, instead of
        stretching it.
    scale : float or None, default=1/255
        Every value is multiplied by it (None: keep 0-255).
    cache : None, "memory" or a path to a folder, default=None
        None decodes each batch again every epoch (memory bounded by the batches). "memory"
        decodes all images once per ``transform`` and keeps the float32 array; a folder path
        writes that array to a ``.npy`` file there (named by a hash of the paths, their sizes
        and modification times, and these settings) and reads it as a memory map, reusing it
        while nothing changed. Delete the folder to drop the cache. A str other than "memory"
        must name an existing folder or contain a path separator (so that a typo of "memory"
        is refused); a ``pathlib.Path`` is created if missing.
    """

    _parameter_constraints = {
        "size": [_Predicate(_is_size, "a (height, width) pair of positive ints")],
        "color_mode": [Options(str, *CHANNELS)],
        "interpolation": [Options(str, *INTERPOLATIONS)],
        "crop_to_aspect_ratio": [BOOLEAN],
        "scale": [NONE, Interval(numbers.Real, 0, None, closed="neither")],
        "cache": [_Predicate(_is_cache, "None, 'memory' or a folder path")],
    }

    def __init__(self, size=(256, 256), color_mode="rgb", interpolation="bilinear",
                 crop_to_aspect_ratio=False, scale=1 / 255, cache=None):
        self.size = size
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.scale = scale
        self.cache = cache

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags

    def settings(self):
        """The ``ImageSettings`` these parameters give (validated)."""
        validate_params(self)
        return ImageSettings(tuple(int(v) for v in self.size), CHANNELS[self.color_mode],
                             self.interpolation, bool(self.crop_to_aspect_ratio),
                             None if self.scale is None else float(self.scale))

    def fit(self, X, y=None):
        """Check the parameters and that X is a 1-D list of paths; nothing is learned.
        Sets ``image_shape_``, the ``(height, width, channels)`` of the output images."""
        self.image_shape_ = self.settings().row_shape
        _paths(X)
        return self

    def transform(self, X):
        """The images of the paths X: a float32 array ``(n, h, w, c)``; as an estimator's
        preprocessor, a row source decoded per batch in the graph (see the class docstring).
        Raises a ValueError naming a file that is missing or not an image."""
        settings = self.settings()
        paths = _paths(X)
        stats = check_image_files(paths, signatures=self.cache is not None)
        source = ImageFileSource(as_path_array(paths), settings)
        if self.cache is not None:
            return self._cached(source, stats)
        if streams_rows(self):
            return source
        return decode_all(source, np.empty((source.n_rows,) + source.row_shape, np.float32))

    def _cached(self, source, stats):
        if self.cache == "memory":
            images = decode_all(source, np.empty((source.n_rows,) + source.row_shape, np.float32))
        elif isinstance(self.cache, str) and os.sep not in self.cache and not os.path.isdir(self.cache):
            raise ValueError(
                f"ImageLoader: cache={self.cache!r} is neither 'memory' nor an existing folder. "
                "For a new cache folder pass a path with a separator ('./cache') or a "
                "pathlib.Path; it is created."
            )
        else:
            images = _file_cache(source, stats, pathlib.Path(self.cache))
        return ArraySource(images) if streams_rows(self) else images


def decode_all(source, out):
    """Decode every row of an ``ImageFileSource`` into ``out`` (batches decoded in parallel
    by the prediction pipeline); returns ``out``."""
    from . import _dataset

    start = 0
    with explaining_errors(source):  # names a file that fails to decode
        for batch in _dataset.prediction_batches(source, batch_size=_DECODE_BATCH):
            batch = np.asarray(batch)
            out[start:start + len(batch)] = batch
            start += len(batch)
    return out


def _cache_key(source, stats):
    digest = hashlib.sha256(repr(tuple(source.settings)).encode())
    for path, (size, mtime_ns) in zip(source.paths, stats):
        digest.update(path + b"\0" + f"{size}:{mtime_ns}\0".encode())
    return digest.hexdigest()[:32]


def _file_cache(source, stats, folder):
    """The decoded images as a read-only memory map of ``folder/<key>.npy``, written first
    if missing (atomically: to a temporary name, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"skkeras_images_{_cache_key(source, stats)}.npy"
    if not target.exists():
        partial = folder / f".{target.name}.{os.getpid()}.partial"
        try:
            images = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32,
                                               shape=(source.n_rows,) + source.row_shape)
            decode_all(source, images)
            images.flush()
            del images
            os.replace(partial, target)
        finally:
            if partial.exists():
                partial.unlink()
    return np.load(target, mmap_mode="r")


__all__ = ["DEFAULT_EXTENSIONS", "ImageLoader", "image_folder"]
