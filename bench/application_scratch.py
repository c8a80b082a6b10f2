"""KerasApplication from scratch (issue 25): MobileNetV2 with ``weights=None`` on digits as images.

    .venv/bin/python -m bench.application_scratch            # full: 2 seeds, 6 epochs
    .venv/bin/python -m bench.application_scratch --smoke    # tiny, seconds

Data: scikit-learn's ``load_digits`` (1,797 rows of 8x8), upscaled to 32x32 (nearest
neighbour) and repeated to three channels, values in [0, 1]; one stratified split, 1,347 rows to
train and 450 to test. Side by side on the same split, in this one process, alternating per seed:

- ``bn_momentum="auto"`` (0.9 for ``weights=None``, the default now),
- ``bn_momentum=0.999`` (MobileNetV2's own momentum, the behaviour before ``bn_momentum``),

both ``KerasApplication("MobileNetV2", weights=None, trainable=True)`` under
``KerasPipelineClassifier`` with Adam, batch 32; fit plus ``score`` on the test rows (inference
mode: moving statistics). Chance is 0.1 (ten balanced classes). Writes the table and the exact
command to bench/results/application_scratch.md (``--out``).
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
CONTENDERS = {"auto (0.9)": "auto", "0.999 (before)": 0.999}


def digits_32():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 8, 8, 1).astype("float32")
    images = images.repeat(4, axis=1).repeat(4, axis=2)  # 32x32, nearest neighbour
    return np.repeat(images, 3, axis=3), y


def run_once(bn_momentum, X_train, y_train, X_test, y_test, *, epochs, seed):
    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import KerasApplication

    est = KerasPipelineClassifier(
        KerasApplication("MobileNetV2", weights=None, trainable=True, bn_momentum=bn_momentum),
        epochs=epochs, batch_size=32, random_state=seed,
    )
    start = time.perf_counter()
    est.fit(X_train, y_train)
    accuracy = est.score(X_test, y_test)
    return {"accuracy": accuracy, "train_accuracy": est.score(X_train, y_train),
            "loss": est.history_["loss"][-1], "seconds": time.perf_counter() - start}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="300 rows, 1 seed, 1 epoch")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "application_scratch.md"))
    args = parser.parse_args(argv)
    from sklearn.model_selection import train_test_split

    X, y = digits_32()
    if args.smoke:
        X, y, args.seeds, args.epochs = X[:300], y[:300], 1, 1
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    load_start = os.getloadavg()
    results = {name: [] for name in CONTENDERS}
    for seed in range(args.seeds):
        order = list(CONTENDERS) if seed % 2 == 0 else list(CONTENDERS)[::-1]
        for name in order:
            results[name].append(run_once(CONTENDERS[name], X_train, y_train, X_test, y_test,
                                          epochs=args.epochs, seed=seed))
            print(name, seed, results[name][-1], flush=True)
    lines = [
        "# KerasApplication from scratch: MobileNetV2, weights=None, digits as 32x32x3 images",
        "",
        "```",
        f".venv/bin/python -m bench.application_scratch {shlex.join(argv if argv is not None else sys.argv[1:])}",
        "```",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average at start {[round(v, 2) for v in load_start]}, "
        f"at end {[round(v, 2) for v in os.getloadavg()]}",
        f"- {len(X_train)} rows to train, {len(X_test)} to test; {args.epochs} epochs, batch 32, "
        f"Adam; {args.seeds} seeds (random_state 0..{args.seeds - 1}); chance 0.10",
        "",
        "| bn_momentum | test accuracy, median (min-max) | train accuracy, median | last training loss, median "
        "| fit + score s, median |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        acc = [r["accuracy"] for r in runs]
        lines.append(
            f"| {name} | {np.median(acc):.3f} ({min(acc):.3f}-{max(acc):.3f}) "
            f"| {np.median([r['train_accuracy'] for r in runs]):.3f} "
            f"| {np.median([r['loss'] for r in runs]):.3f} | {np.median([r['seconds'] for r in runs]):.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.smoke:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
