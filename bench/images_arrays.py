"""Images as arrays (issue 11): digits quality with ``models.CNN`` and the cost of augmentation.

    .venv/bin/python -m bench.images_arrays            # full: 5 folds, 3 alternated timing rounds
    .venv/bin/python -m bench.images_arrays --smoke    # tiny, seconds

1. Quality: digits as (n, 8, 8, 1) arrays scaled to [0, 1], 5-fold stratified CV (shuffled,
   seed 0). On the same folds: ``KerasPipelineClassifier(models.CNN())`` and scikit-learn's
   ``MLPClassifier`` on the same values, flattened.
2. Augmentation cost: the median epoch time of the same CNN fit on all of digits, without and
   with a 4-layer augmentation (RandomRotation, RandomTranslation, RandomZoom, RandomFlip),
   run alternately in this one process; epoch times are taken by a Keras callback, the first
   epoch of each fit (tracing) left out.

Writes the tables and the exact command to bench/results/images_arrays.md (``--out``).
"""

import argparse
import datetime
import os
import platform
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the script's choice: quiet TF start-up logs

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def digits_images():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y


def quality(X, y, *, folds, epochs):
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import CNN

    rows = []
    for fold, (train, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y)):
        start = time.perf_counter()
        cnn = KerasPipelineClassifier(CNN(), epochs=epochs, random_state=0).fit(X[train], y[train])
        cnn_s = time.perf_counter() - start
        cnn_acc = cnn.score(X[test], y[test])
        flat = X.reshape(len(X), -1)
        start = time.perf_counter()
        mlp = MLPClassifier(max_iter=1000, random_state=0).fit(flat[train], y[train])
        mlp_s = time.perf_counter() - start
        rows.append((fold, cnn_acc, cnn_s, mlp.score(flat[test], y[test]), mlp_s))
        print(f"fold {fold}: CNN {cnn_acc:.4f} ({cnn_s:.1f} s), MLPClassifier {rows[-1][3]:.4f}", flush=True)
    return rows


def four_layers():
    import keras

    return [keras.layers.RandomRotation(0.05), keras.layers.RandomTranslation(0.1, 0.1),
            keras.layers.RandomZoom(0.1), keras.layers.RandomFlip("horizontal")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--epochs", type=int, default=40, help="CNN epochs in the quality CV")
    parser.add_argument("--rounds", type=int, default=3, help="alternated timing rounds")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "images_arrays.md"))
    args = parser.parse_args(argv)
    X, y = digits_images()
    folds, epochs, rounds, timed_epochs = 5, args.epochs, args.rounds, 6
    if args.smoke:
        X, y, folds, epochs, rounds, timed_epochs = X[:300], y[:300], 2, 1, 1, 2
    load_before = os.getloadavg()
    rows = quality(X, y, folds=folds, epochs=epochs)
    timings = {"none": [], "4 layers": []}
    for r in range(rounds):
        order = ["none", "4 layers"] if r % 2 == 0 else ["4 layers", "none"]
        for name in order:
            times = _epoch_times(X, y, None if name == "none" else four_layers(), timed_epochs)
            timings[name].extend(times[1:])
            print(f"round {r} {name}: epochs {np.round(times, 3).tolist()}", flush=True)
    write(args, rows, timings, load_before, epochs)
    return 0


def _epoch_times(X, y, augmentation, epochs):
    """Per-epoch seconds of one fit (the estimator deep-copies callbacks per fit, so the
    times come back through a list the callback class closes over)."""
    import keras

    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import CNN

    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    KerasPipelineClassifier(CNN(), epochs=epochs, random_state=0, augmentation=augmentation,
                            callbacks=[Timer()]).fit(X, y)
    return times


def write(args, rows, timings, load_before, epochs):
    import keras
    import sklearn
    import tensorflow as tf

    cnn = np.array([r[1] for r in rows])
    mlp = np.array([r[3] for r in rows])
    plain, augmented = np.median(timings["none"]), np.median(timings["4 layers"])
    command = "python -m bench.images_arrays " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [
        "# Images as arrays: digits CNN quality and augmentation cost (issue 11)", "",
        "```", command.strip(), "```", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; machine: {os.cpu_count()} CPUs, "
        f"{platform.platform()}; load average at start {[round(v, 2) for v in load_before]}, "
        f"at end {[round(v, 2) for v in os.getloadavg()]}",
        f"- versions: tensorflow {tf.__version__}, keras {keras.__version__}, scikit-learn {sklearn.__version__}",
        "", "## Quality: digits (n, 8, 8, 1) / 16, 5-fold stratified CV (shuffled, seed 0), same folds", "",
        f"`KerasPipelineClassifier(models.CNN(), epochs={epochs}, random_state=0)` against "
        "`MLPClassifier(max_iter=1000, random_state=0)` on the same values flattened.", "",
        "| fold | CNN accuracy | CNN fit s | MLPClassifier accuracy | MLPClassifier fit s |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {f} | {a:.4f} | {s:.1f} | {b:.4f} | {t:.1f} |" for f, a, s, b, t in rows]
    lines += [f"| mean | **{cnn.mean():.4f}** | | **{mlp.mean():.4f}** | |", "",
              f"Target: CNN mean accuracy >= 0.985: {'met' if cnn.mean() >= 0.985 else 'NOT met'}.", "",
              "## Augmentation cost: median epoch time, all 1,797 digits, default CNN, batch 32", "",
              "Four Keras layers (RandomRotation(0.05), RandomTranslation(0.1, 0.1), RandomZoom(0.1), "
              "RandomFlip('horizontal')) in the training pipeline, against none; fits alternated in one "
              "process, the first epoch of each fit (tracing) left out.", "",
              "| augmentation | median epoch s | epochs timed |", "|---|---:|---:|",
              f"| none | {plain:.3f} | {len(timings['none'])} |",
              f"| 4 layers | {augmented:.3f} | {len(timings['4 layers'])} |", "",
              f"Added epoch time: **{100 * (augmented / plain - 1):+.1f}%** (target <= +30%: "
              f"{'met' if augmented / plain <= 1.30 else 'NOT met'})."]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
