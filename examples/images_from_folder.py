"""
Images from a folder on disk
============================

Cross-validation and a grid search of a small CNN, with and without augmentation, reading
the PNG files batch by batch.

1. Writes the digits data set as 16x16 grayscale PNG files to a temporary folder, one
   sub-folder per class (digits/0/..., digits/1/..., as flow_from_directory expects).
2. ``image_folder`` lists the files: X is a 1-D array of paths, y the class names.
3. ``ImageLoader`` as the preprocessor: the files are decoded, resized and scaled per batch
   inside the tf.data pipeline, never all at once.
4. 5-fold stratified cross-validation with and without augmentation (augmentation touches
   the training batches of each fold only, never the validation fold).
5. A small GridSearchCV over ``augmentation`` and ``preprocessor__size``.

The figure: a grid of augmented training images (what the augmentation dict does to a batch).

Run ``python examples/images_from_folder.py`` (about 2 minutes on 2 cores; ``--quick``: fewer
images and folds).
Needs the ``augmentation`` parameter and ``skkeras_prep.models.CNN`` (issue 11).
"""

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the script's choice: quiet TF start-up logs

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402

from skkeras_prep import KerasPipelineClassifier  # noqa: E402
from skkeras_prep.images import ImageLoader, image_folder  # noqa: E402
from skkeras_prep.models import CNN  # noqa: E402

# ImageDataGenerator-style options, translated to Keras Random* layers (no flips: digits
# are not symmetric).
AUGMENT = {"rotation_range": 10, "width_shift_range": 0.1, "height_shift_range": 0.1,
           "zoom_range": 0.1}


def write_digits(folder, per_class=None):
    """The digits as 16x16 grayscale PNG files, one sub-folder per class."""
    images, labels = load_digits(return_X_y=True)
    count = {}
    for image, label in zip(images, labels):
        if per_class is not None and count.get(label, 0) >= per_class:
            continue
        count[label] = count.get(label, 0) + 1
        pixels = (image.reshape(8, 8, 1) * (255 / 16)).astype(np.uint8)
        big = tf.cast(tf.image.resize(pixels, (16, 16), method="bilinear"), tf.uint8)
        os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
        path = os.path.join(folder, str(label), f"{sum(count.values()):04d}.png")
        tf.io.write_file(path, tf.io.encode_png(big))


def estimator(augmentation=None):
    return KerasPipelineClassifier(
        CNN(filters=(16, 32), dense=(64,), dropout=0.25),
        ImageLoader(size=(16, 16), color_mode="grayscale"),
        augmentation=augmentation, epochs=10, batch_size=64, random_state=0,
    )


def plot_augmented(loader, X, n_images=6, n_draws=5):
    """A grid of augmented digits: each row one image, the first column as loaded, the others
    random draws of the Keras layers that the AUGMENT dict stands for (rotation 10 degrees,
    shifts of 10% of the side, zoom 0.9 to 1.1; the estimator seeds them from random_state)."""
    layers = keras.Sequential([
        keras.layers.RandomRotation(10 / 360, fill_mode="nearest", seed=0),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=1),
        keras.layers.RandomZoom((-0.1, 0.1), (-0.1, 0.1), fill_mode="nearest", seed=2),
    ])
    images = loader.fit_transform(X[::len(X) // n_images][:n_images])
    fig, axes = plt.subplots(n_images, n_draws + 1, figsize=(1.2 * (n_draws + 1), 1.2 * n_images))
    for row, image in zip(axes, images):
        draws = [image] + [np.asarray(layers(image[None], training=True))[0] for _ in range(n_draws)]
        for ax, draw in zip(row, draws):
            ax.imshow(draw[..., 0], cmap="gray_r", vmin=0, vmax=1)
            ax.set_axis_off()
    axes[0, 0].set_title("original", fontsize=8)
    for ax in axes[0, 1:]:
        ax.set_title("augmented", fontsize=8)
    fig.tight_layout()


def main(quick=False):
    with tempfile.TemporaryDirectory() as folder:
        write_digits(folder, per_class=40 if quick else 100)
        X, y = image_folder(folder)
        print(f"{len(X)} PNG files in {len(set(y))} class folders, e.g. {os.path.relpath(X[0], folder)}\n")
        plot_augmented(ImageLoader(size=(16, 16), color_mode="grayscale"), X)

        folds = StratifiedKFold(n_splits=3 if quick else 5, shuffle=True, random_state=0)
        print(f"{folds.get_n_splits()}-fold stratified cross-validation (accuracy):")
        print(f"  {'augmentation':<14} {'mean':>6} {'std':>6} {'seconds':>8}")
        for name, augmentation in [("none", None), ("dict", AUGMENT)]:
            start = time.perf_counter()
            scores = cross_val_score(estimator(augmentation), X, y, cv=folds)
            print(f"  {name:<14} {scores.mean():6.3f} {scores.std():6.3f} "
                  f"{time.perf_counter() - start:8.1f}")

        grid = {"augmentation": [None, AUGMENT], "preprocessor__size": [(12, 12), (16, 16)]}
        search = GridSearchCV(estimator(), grid, cv=StratifiedKFold(3, shuffle=True, random_state=0))
        start = time.perf_counter()
        search.fit(X, y)
        print(f"\nGridSearchCV (3-fold accuracy), {time.perf_counter() - start:.1f} s:")
        print(f"  {'augmentation':<14} {'size':<10} {'mean':>6} {'rank':>5}")
        results = search.cv_results_
        for params, mean, rank in zip(results["params"], results["mean_test_score"],
                                      results["rank_test_score"]):
            aug = "none" if params["augmentation"] is None else "dict"
            print(f"  {aug:<14} {str(params['preprocessor__size']):<10} {mean:6.3f} {rank:5d}")
        best = search.best_params_
        print(f"best: augmentation={'none' if best['augmentation'] is None else 'dict'}, "
              f"size={best['preprocessor__size']}, accuracy {search.best_score_:.3f}")
    plt.show()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
