"""Image folders on disk (issue 11): image_folder, ImageLoader, the image file row source
decoded in the tf.data graph, caching, export of image estimators, bad input.

A real folder of PNG files (and one JPEG) is written once per module; fits are 1-2 epochs of
a tiny CNN on 8x8 images."""

import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags

import skkeras_prep
from skkeras_prep import KerasPipelineClassifier, KerasPipelineRegressor
from skkeras_prep._target_layout import Targets
from skkeras_prep.images import ImageLoader, image_folder
from skkeras_prep.sources import ImageFileSource, RowSource
from skkeras_prep.sources.protocol import streaming_rows_of

CLASSES = ("ants", "bees", "cats")
PER_CLASS = 12
SIZE = 8


def tiny_cnn(meta):
    n = meta["n_classes_"]
    return keras.Sequential([
        keras.Input(meta["input_shape_"]),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(n, activation="softmax"),
    ])


def _image(rng, level, size=SIZE):
    noise = rng.integers(0, 40, (size, size, 3))
    return np.clip(level + noise, 0, 255).astype(np.uint8)


def _write_png(path, image):
    tf.io.write_file(str(path), tf.io.encode_png(image))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """ants/ bees/ cats/, 12 images each (bees: 2 of them in a nested folder, cats: one JPEG),
    plus a text file and a loose image that image_folder ignores."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        (root / name).mkdir()
        for i in range(PER_CLASS):
            target = root / name / f"img{i:02d}.png"
            if name == "bees" and i >= PER_CLASS - 2:
                (root / name / "more").mkdir(exist_ok=True)
                target = root / name / "more" / f"img{i:02d}.png"
            image = _image(rng, 90 * c)
            if name == "cats" and i == 0:
                tf.io.write_file(str(target.with_suffix(".JPG")), tf.io.encode_jpeg(image))
            else:
                _write_png(target, image)
    (root / "ants" / "notes.txt").write_text("not an image")
    _write_png(root / "loose.png", _image(rng, 0))
    return root


@pytest.fixture(scope="module")
def data(folder):
    return image_folder(folder)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    est = KerasPipelineClassifier(tiny_cnn, ImageLoader(size=(SIZE, SIZE)), epochs=2,
                                  batch_size=8, random_state=0)
    return est.fit(X, y)


# -- image_folder --------------------------------------------------------------------------------
def test_image_folder_lists_class_subfolders_in_sorted_order(folder, data):
    X, y = data
    assert X.dtype == object and X.ndim == 1 and y.dtype == object
    assert len(X) == len(CLASSES) * PER_CLASS  # not notes.txt, not the loose image
    assert list(np.unique(y)) == list(CLASSES)
    assert [pathlib.Path(p).relative_to(folder).parts[0] for p in X] == list(y)
    for name in CLASSES:  # sorted within each class, nested folders included
        paths = list(X[y == name])
        assert paths == sorted(paths)
    assert any("more" in p for p in X) and any(p.endswith(".JPG") for p in X)
    again, _ = image_folder(folder)
    assert list(again) == list(X)


def test_image_folder_filters_by_extension_and_follows_links_on_request(folder, tmp_path):
    X, y = image_folder(folder, extensions=("jpg", "png"))
    assert len(X) == len(CLASSES) * PER_CLASS
    X, y = image_folder(folder, extensions=["png"])
    assert len(X) == len(CLASSES) * PER_CLASS - 1 and not any(p.endswith(".JPG") for p in X)
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in CLASSES:
        os.symlink(folder / name, linked / name)
    with pytest.raises(ValueError, match="no image files"):
        image_folder(linked)
    X, y = image_folder(linked, follow_links=True)
    assert len(X) == len(CLASSES) * PER_CLASS


def test_image_folder_refuses_missing_empty_and_single_class_folders(folder, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        image_folder(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no image files ending in \.png.*1 sub-folder"):
        image_folder(empty)
    loose = tmp_path / "loose"
    loose.mkdir()
    _write_png(loose / "x.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="put each class's images in its own sub-folder"):
        image_folder(loose)
    one = tmp_path / "one"
    (one / "cats").mkdir(parents=True)
    _write_png(one / "cats" / "x.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"one class only \('cats', 1 files\)"):
        image_folder(one)


# -- ImageLoader ---------------------------------------------------------------------------------
def test_image_loader_is_a_scikit_learn_transformer_taking_1d_paths():
    loader = ImageLoader(size=(4, 6), color_mode="grayscale", scale=None)
    tags = get_tags(loader)
    assert tags.input_tags.one_d_array and not tags.input_tags.two_d_array
    copy = clone(loader)
    assert copy.get_params() == loader.get_params() and copy is not loader
    assert set(loader.get_params()) == {"size", "color_mode", "interpolation",
                                        "crop_to_aspect_ratio", "scale", "cache"}


def test_standalone_transform_decodes_resizes_and_scales(data):
    X, _ = data
    paths = [pathlib.Path(p) for p in X[:5]]  # pathlib paths work as well as str
    images = ImageLoader(size=(SIZE, SIZE)).fit_transform(paths)
    assert isinstance(images, np.ndarray) and images.dtype == np.float32
    assert images.shape == (5, SIZE, SIZE, 3)
    expected = np.stack([tf.io.decode_png(tf.io.read_file(str(p)), channels=3).numpy() for p in paths])
    np.testing.assert_allclose(images, expected / 255.0, rtol=0, atol=1e-6)
    gray = ImageLoader(size=(4, 6), color_mode="grayscale", scale=None).transform(X[:3])
    assert gray.shape == (3, 4, 6, 1) and gray.max() > 1.5  # scale=None keeps 0-255
    rgba = ImageLoader(size=(SIZE, SIZE), color_mode="rgba", interpolation="nearest").transform(X[:2])
    assert rgba.shape == (2, SIZE, SIZE, 4)
    np.testing.assert_allclose(rgba[..., :3], expected[:2] / 255.0, atol=1e-6)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area", "lanczos3",
                                           "gaussian"])
def test_an_image_of_the_target_size_decodes_as_a_resize_to_its_own_size_would(tmp_path,
                                                                            interpolation):
    # images already of the trained size skip the resize where that is exact; every method
    # must still give what tf.image.resize gives (a blurring kernel does change the image)
    from skkeras_prep.sources import images as image_sources

    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.uint8)
    _write_png(tmp_path / "a.png", image)
    decoded = ImageLoader(size=(5, 7), interpolation=interpolation, scale=None).transform(
        [str(tmp_path / "a.png")])[0]
    resized = tf.cast(tf.image.resize(image, (5, 7), method=interpolation), tf.float32).numpy()
    np.testing.assert_allclose(decoded, resized, rtol=0, atol=1e-4)
    skips = interpolation in image_sources._EXACT_AT_SAME_SIZE
    assert skips == (interpolation in ("bilinear", "nearest", "bicubic", "area"))
    if skips:  # the skip is exact: bit for bit the pixels
        np.testing.assert_array_equal(decoded, image.astype(np.float32))
        np.testing.assert_array_equal(resized, image.astype(np.float32))
    # another size is resized as before
    smaller = ImageLoader(size=(3, 4), interpolation=interpolation, scale=None).transform(
        [str(tmp_path / "a.png")])[0]
    expected = tf.cast(tf.image.resize(image, (3, 4), method=interpolation), tf.float32).numpy()
    np.testing.assert_allclose(smaller, expected, rtol=0, atol=1e-4)


def test_the_pipeline_of_an_image_source_is_traced_without_autograph(data):
    # the library's map functions are TensorFlow ops only; AutoGraph converting them (parsing
    # and rewriting their source) cost about 1.4 s of the first fit of a folder
    import contextlib
    import sys

    from skkeras_prep import _dataset

    X, y = data
    loader = ImageLoader(size=(SIZE, SIZE)).fit(X)
    with streaming_rows_of(loader):
        source = loader.transform(X)
    before = {m for m in sys.modules if m.startswith("__autograph_generated_file")}
    with contextlib.ExitStack() as stack:
        dataset, _ = _dataset.training_dataset(
            source, Targets(np.zeros(len(X), np.int32)), np.ones(len(X), np.float32), batch_size=8,
            epochs=1, shuffle=True, seed=0, stack=stack)
        x, _, _ = next(iter(dataset))
        batches = list(_dataset.prediction_batches(source, batch_size=8))
    converted = {m for m in sys.modules if m.startswith("__autograph_generated_file")} - before
    assert converted == set()
    assert x.shape == (8, SIZE, SIZE, 3) and sum(len(b) for b in batches) == len(X)


def test_crop_to_aspect_ratio_crops_the_centre_instead_of_stretching(tmp_path):
    image = np.zeros((4, 8, 3), np.uint8)
    image[:, 2:6] = 200  # a bright centre square in a wide image
    _write_png(tmp_path / "wide.png", image)
    path = [str(tmp_path / "wide.png")]
    cropped = ImageLoader(size=(4, 4), crop_to_aspect_ratio=True, scale=None).transform(path)
    stretched = ImageLoader(size=(4, 4), scale=None).transform(path)
    np.testing.assert_allclose(cropped[0], 200.0)
    assert stretched[0].min() < 200.0


@pytest.mark.parametrize("params, match", [
    ({"size": (0, 8)}, "'size' must be a .height, width. pair"),
    ({"size": 8}, "'size' must be"),
    ({"color_mode": "cmyk"}, "'color_mode' must be"),
    ({"interpolation": "cubic"}, "'interpolation' must be"),
    ({"scale": -1.0}, "'scale' must be"),
    ({"cache": 3}, "'cache' must be None, 'memory' or a folder path"),
])
def test_image_loader_refuses_bad_parameters(data, params, match):
    with pytest.raises(ValueError, match=match):
        ImageLoader(**params).fit_transform(data[0][:2])


def test_image_loader_refuses_two_dimensional_or_non_path_input(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"1-D list or array of image file paths.*X\.ravel\(\)"):
        ImageLoader(size=(SIZE, SIZE)).transform(X[:4].reshape(2, 2))
    with pytest.raises(TypeError, match="wrap it in a list"):
        ImageLoader(size=(SIZE, SIZE)).transform(X[0])
    with pytest.raises(TypeError, match=r"file paths .str or pathlib.Path.; X holds 1 other"):
        ImageLoader(size=(SIZE, SIZE)).transform([X[0], 3.0])


def test_missing_and_non_image_files_are_named_with_the_count_of_others(data, tmp_path):
    X, _ = data
    text = tmp_path / "fake.png"
    text.write_text("hello")
    missing = [str(tmp_path / f"gone{i}.png") for i in range(5)]
    with pytest.raises(ValueError, match=r"'.*gone0\.png' does not exist\. 5 other file\(s\) of "
                                         r"the 8 failed too \('.*gone1\.png'"):
        ImageLoader(size=(SIZE, SIZE)).transform(list(X[:2]) + missing + [str(text)])
    with pytest.raises(ValueError, match=r"fake\.png' is not a PNG, JPEG, GIF or BMP image.*only "
                                         r"one of the 3 files"):
        ImageLoader(size=(SIZE, SIZE)).transform(list(X[:2]) + [text])


# -- estimators ----------------------------------------------------------------------------------
def test_as_preprocessor_rows_stay_paths_decoded_per_batch_in_the_graph(fitted, data):
    X, y = data
    loader = fitted.preprocessor_
    with streaming_rows_of(loader):
        source = loader.transform(X)
    assert isinstance(source, ImageFileSource) and source.batch_dtype == "string"
    assert source.row_shape == (SIZE, SIZE, 3) and source.gather(np.array([0, 1])).dtype == object
    assert isinstance(loader.transform(X), np.ndarray)  # outside the estimator: arrays
    assert fitted.input_shape_ == (SIZE, SIZE, 3)
    assert not hasattr(fitted, "n_features_in_")  # 1-D paths have no feature count
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), len(CLASSES))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert get_tags(fitted).input_tags.one_d_array


def test_fit_is_repeatable_and_the_memory_cache_changes_nothing(fitted, data):
    X, y = data
    again = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    cached = clone(fitted).set_params(preprocessor__cache="memory").fit(list(X), list(y))
    np.testing.assert_array_equal(cached.predict_proba(X), fitted.predict_proba(X))


def test_file_cache_is_written_once_and_reused(fitted, data, tmp_path):
    X, y = data
    loader = ImageLoader(size=(SIZE, SIZE), cache=tmp_path / "cache")
    first = loader.transform(X)
    files = list((tmp_path / "cache").glob("*.npy"))
    assert len(files) == 1 and isinstance(first, np.memmap)
    stamp = files[0].stat().st_mtime_ns
    second = clone(loader).transform(X)
    assert files[0].stat().st_mtime_ns == stamp  # read back, not written again
    np.testing.assert_array_equal(second, ImageLoader(size=(SIZE, SIZE)).transform(X))
    est = clone(fitted).set_params(preprocessor=loader).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), fitted.predict_proba(X))
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    with pytest.raises(ValueError, match="cache='memroy' is neither 'memory' nor an existing"):
        ImageLoader(size=(SIZE, SIZE), cache="memroy").transform(X[:2])


def test_splitters_and_search_over_image_size(data):
    X, y = data
    est = KerasPipelineClassifier(tiny_cnn, ImageLoader(size=(SIZE, SIZE)), epochs=1,
                                  batch_size=8, random_state=0)
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(est, {"preprocessor__size": [(6, 6), (SIZE, SIZE)]}, cv=cv, refit=False)
    search.fit(X, y)
    assert [p["preprocessor__size"] for p in search.cv_results_["params"]] == [(6, 6), (SIZE, SIZE)]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_a_pipeline_after_the_loader_gets_decoded_arrays(data):
    X, y = data
    flat = make_pipeline(ImageLoader(size=(4, 4)),
                         FunctionTransformer(lambda a: a.reshape(len(a), -1)))
    est = KerasPipelineClassifier(preprocessor=flat, epochs=1, random_state=0).fit(X, y)
    assert est.input_shape_ == (4 * 4 * 3,)
    assert est.predict(X[:3]).shape == (3,)


def test_regressor_takes_image_paths_too(data):
    X, y = data
    target = np.array([CLASSES.index(v) for v in y], dtype=float)
    est = KerasPipelineRegressor(
        lambda meta: keras.Sequential([keras.Input(meta["input_shape_"]), keras.layers.Flatten(),
                                       keras.layers.Dense(1)]),
        ImageLoader(size=(4, 4)), epochs=1, random_state=0,
    ).fit(X, target)
    assert est.predict(X).shape == (len(X),)


def test_without_a_loader_paths_and_mixed_image_sizes_get_a_hint(data):
    X, y = data
    with pytest.raises(ValueError, match=r"list of image file paths.*ImageLoader\(size="):
        KerasPipelineClassifier(epochs=1).fit(X, y)
    rng = np.random.default_rng(0)
    mixed = [rng.random((8, 8)), rng.random((6, 6))]
    with pytest.raises(ValueError, match="different sizes.*ImageLoader"):
        KerasPipelineClassifier(epochs=1).fit(mixed, [0, 1])


def test_default_estimator_still_refuses_1d_numbers():
    from sklearn.utils.estimator_checks import check_fit1d

    check_fit1d("KerasPipelineClassifier", KerasPipelineClassifier(epochs=1))


def test_bad_files_fail_before_training_and_at_predict(fitted, data, tmp_path):
    X, y = data
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF87a but not really")  # right signature: fails in the decoder
    with pytest.raises(ValueError, match=r"gone\.png' does not exist"):
        clone(fitted).fit(list(X) + [str(tmp_path / "gone.png")], list(y) + ["ants"])
    with pytest.raises(ValueError, match=r"gone\.png' does not exist"):
        fitted.predict([str(tmp_path / "gone.png")])
    # the decode failure happens in the graph; the error still names the file
    decode_error = r"fake\.png' could not be decoded \(.*\)\. It is the only one of the"
    with pytest.raises(ValueError, match=decode_error):
        clone(fitted).fit(list(X) + [str(fake)], list(y) + ["ants"])
    with pytest.raises(ValueError, match=decode_error):
        fitted.predict_proba(list(X[:3]) + [fake])
    with pytest.raises(ValueError, match=decode_error):
        ImageLoader(size=(SIZE, SIZE)).transform([fake])


# -- export and persistence ----------------------------------------------------------------------
def test_export_takes_images_or_bytes_and_matches_predict_proba(fitted, data, tmp_path):
    X, _ = data
    expected = fitted.predict_proba(X)
    decoded = np.stack([tf.io.decode_image(tf.io.read_file(p), channels=3,
                                           expand_animations=False).numpy() for p in X])
    exported = fitted.export_model()
    assert exported.input.shape[1:] == (SIZE, SIZE, 3)
    np.testing.assert_allclose(exported(decoded).numpy(), expected, atol=1e-5)  # uint8
    np.testing.assert_allclose(exported.predict(decoded.astype(np.float32), verbose=0),
                               expected, atol=1e-5)  # float 0-255
    from_bytes = fitted.export_model(input="bytes")
    encoded = tf.constant([pathlib.Path(p).read_bytes() for p in X])
    np.testing.assert_allclose(from_bytes(encoded).numpy(), expected, atol=1e-5)
    from_bytes.save(tmp_path / "bytes.keras")
    reloaded = keras.saving.load_model(tmp_path / "bytes.keras")
    np.testing.assert_allclose(reloaded(encoded).numpy(), expected, atol=1e-5)
    with pytest.raises(ValueError, match="input='images'.*input='bytes'"):
        fitted.export_model(input="pixels")


def test_export_input_kind_needs_an_image_loader(iris):
    X, y = iris
    est = KerasPipelineClassifier(epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="'images' and 'bytes' need an ImageLoader"):
        est.export_model(input="bytes")


def test_save_and_load_an_image_estimator(fitted, data, tmp_path):
    X, _ = data
    fitted.save(tmp_path / "est.skkeras")
    loaded = skkeras_prep.load(tmp_path / "est.skkeras",
                               trusted=[f"{tiny_cnn.__module__}.{tiny_cnn.__qualname__}"])
    assert isinstance(loaded.preprocessor_, ImageLoader)
    assert loaded.preprocessor_.get_params() == fitted.preprocessor_.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_image_file_source_follows_the_row_source_protocol(data):
    X, _ = data
    loader = ImageLoader(size=(SIZE, SIZE))
    with streaming_rows_of(loader):
        source = loader.transform(X)
    assert isinstance(source, RowSource) and source.n_rows == len(X)
    part = source.take(np.array([1, 3]))
    assert part.n_rows == 2 and list(part.gather(slice(0, 2))) == list(source.gather(np.array([1, 3])))
    decode = source.graph_decoder()
    batch = decode(tf.constant(source.gather(slice(0, 3)))).numpy()
    np.testing.assert_allclose(batch, loader.transform(X[:3]), atol=0)


# -- symbolic links (issue 20 section 4) --------------------------------------------------------
@pytest.fixture
def two_classes(tmp_path):
    """A folder of two classes with two PNG images each; ``a`` has a nested folder."""
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name / "nested").mkdir(parents=True)
        for i in range(2):
            _write_png(root / name / "nested" / f"{i}.png", _image(rng, 0.5))
    return root


def _refused_fast(root, match):
    import time

    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        image_folder(root, follow_links=True)
    assert time.perf_counter() - start < 2.0


def test_a_link_loop_is_refused_at_once_naming_the_link(two_classes):
    loop = two_classes / "a" / "nested" / "again"
    os.symlink(two_classes / "a", loop)  # a/nested/again -> a
    _refused_fast(two_classes, rf"symbolic link '{loop}' points to '{os.path.realpath(two_classes / 'a')}', which contains the link.*follow_links=False")
    X, y = image_folder(two_classes)  # not followed: the link is skipped
    assert len(X) == 4 and not any("again" in p for p in X)


@pytest.mark.parametrize("target", ["self", "root", "parent", "/"])
def test_a_link_to_a_folder_holding_it_is_refused(two_classes, target):
    where = {"self": two_classes / "a" / "nested", "root": two_classes,
             "parent": two_classes.parent, "/": pathlib.Path("/")}[target]
    link = two_classes / "a" / "nested" / "up"
    os.symlink(where, link)
    _refused_fast(two_classes, rf"symbolic link '{link}'.*loop that would never end")


def test_a_class_folder_linked_to_the_filesystem_root_is_refused(two_classes):
    os.symlink("/", two_classes / "c")
    _refused_fast(two_classes, r"symbolic link '.*/c' points to '/'.*Remove the link")


def test_a_folder_reached_twice_is_refused(two_classes):
    os.symlink(two_classes / "a" / "nested", two_classes / "b" / "copy")
    _refused_fast(two_classes, r"'.*b/copy' leads to '.*a/nested', which is already listed.*count twice")
    os.symlink(two_classes / "a", two_classes / "z")  # a second class with the same images
    os.unlink(two_classes / "b" / "copy")
    _refused_fast(two_classes, r"'.*/z' leads to .*already listed as '.*/a'")


def test_links_to_folders_elsewhere_are_followed(two_classes, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _write_png(outside / "x.png", _image(np.random.default_rng(1), 0.2))
    os.symlink(outside, two_classes / "b" / "more")
    X, y = image_folder(two_classes, follow_links=True)
    assert len(X) == 5 and list(y).count("b") == 3
    assert str(two_classes / "b" / "more" / "x.png") in list(X)
