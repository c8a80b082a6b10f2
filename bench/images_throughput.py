"""Image folders: one epoch of fit from PNG files on disk, skkeras_prep against Keras's own
pipeline (issue 11, "Throughput").

    .venv/bin/python -m bench.images_throughput [--n 20000] [--repeats 3] [--dir DIR]

Set-up: a folder of ``--n`` PNG files, 64x64 RGB, 10 classes (one sub-folder each), written
by this script with ``tf.io.encode_png`` into ``--dir`` (default: a temporary folder, removed
at the end; an existing folder with the right file count is reused). The images are smooth
class-coloured gradients with noise, so the files compress about as photos of this size do.

Contenders, the same small CNN (Conv 16 - pool - Conv 32 - pool - Dense 10), Adam, sparse
categorical cross-entropy, batch 64, one epoch (n / 64 steps), shuffled:

* ``skkeras_prep``: ``KerasPipelineClassifier(cnn, ImageLoader(size=(64, 64)), epochs=1)
  .fit(*image_folder(dir))``; the files are decoded per batch inside the tf.data pipeline;
* ``keras``: ``keras.utils.image_dataset_from_directory(dir, image_size=(64, 64),
  batch_size=64)`` mapped to ``x / 255``, then ``model.fit(ds, epochs=1)``;
* ``no_files``, the floor: ``model.fit`` for the same number of steps on batches cut from 640
  images decoded into memory before the call, so that no file is touched: the memory and
  time of the training runtime itself.

Every contender builds and compiles its model inside the measured call, as the estimator's
``fit`` does. Each run is a fresh process (``--child``); runs alternate (keras, no_files,
skkeras_prep, then the reverse) so background load hits all alike. Measured per run: the wall
time of the whole call (listing the folder included), images/s = n / time, and the peak RSS
during the call above the RSS just before it (``harness.PeakMeter``: the kernel's high-water mark). Reported:
medians, with the decoded float32 size of the folder (n x 64 x 64 x 3 x 4 bytes) for scale;
the CPU time of the process (user + system, all threads), and the share of the machine's CPU
time left idle during the run.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from .harness import MB, PeakMeter, worker_env

SIZE = 64
CLASSES = 10
BATCH = 64


def write_folder(directory, n, seed=0):
    """``n`` PNG files, SIZE x SIZE RGB, CLASSES sub-folders; returns the seconds it took."""
    import numpy as np
    import tensorflow as tf

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, SIZE, dtype=np.float32)
    for c in range(CLASSES):
        os.makedirs(os.path.join(directory, f"class_{c}"), exist_ok=True)
    colours = rng.uniform(40, 215, size=(CLASSES, 3)).astype(np.float32)
    for i in range(n):
        c = i % CLASSES
        angle = rng.uniform(0, 2 * np.pi)
        field = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
        image = colours[c] + 40 * field[..., None] + rng.normal(0, 12, (SIZE, SIZE, 3))
        png = tf.io.encode_png(np.clip(image, 0, 255).astype(np.uint8))
        tf.io.write_file(os.path.join(directory, f"class_{c}", f"{i:06d}.png"), png)
    return time.perf_counter() - start


def _count_files(directory):
    return sum(len(files) for _, _, files in os.walk(directory))


def cnn(n_classes, seed=0):
    import keras

    init = keras.initializers.GlorotUniform
    return keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Conv2D(16, 3, activation="relu", kernel_initializer=init(seed)),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu", kernel_initializer=init(seed + 1)),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=init(seed + 2)),
    ])


def _cpu_seconds():
    """User plus system CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measured(train):
    """Run ``train()`` (which returns the final loss) under the peak meter: (wall seconds,
    CPU seconds, the ``PeakMeter``, the loss)."""
    with PeakMeter() as meter:
        start, cpu = time.perf_counter(), _cpu_seconds()
        loss = train()
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    return seconds, cpu, meter, loss


def _compiled_cnn():
    model = cnn(CLASSES)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def skkeras_estimator(seed=0):
    """The skkeras_prep contender's estimator (also bench/no_regression.py's image case)."""
    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.images import ImageLoader

    return KerasPipelineClassifier(lambda meta: cnn(meta["n_classes_"]),
                                   ImageLoader(size=(SIZE, SIZE)), epochs=1, batch_size=BATCH,
                                   random_state=seed)


def run_skkeras_prep(directory):
    from skkeras_prep.images import image_folder

    est = skkeras_estimator()

    def train():
        est.fit(*image_folder(directory))
        return float(est.history_["loss"][-1])

    return _measured(train)


def run_keras(directory):
    import keras

    def train():
        model = _compiled_cnn()  # built in the measured call, as the estimator's fit builds it
        ds = keras.utils.image_dataset_from_directory(
            directory, image_size=(SIZE, SIZE), batch_size=BATCH, seed=0, verbose=False)
        ds = ds.map(lambda x, y: (x / 255.0, y))
        return float(model.fit(ds, epochs=1, verbose=0).history["loss"][-1])

    return _measured(train)


def run_no_files(directory):
    """The floor: the same model and number of steps, its batches cut from FLOOR_IMAGES images
    decoded into memory before the measured call, so no file is read or decoded in it. What
    this grows is the training runtime's own working set, which any file pipeline adds to."""
    import tensorflow as tf

    from skkeras_prep.images import ImageLoader, image_folder

    paths, labels = image_folder(directory)
    pick = np.linspace(0, len(paths) - 1, FLOOR_IMAGES).astype(int)
    images = ImageLoader(size=(SIZE, SIZE)).transform(paths[pick])
    codes = np.unique(labels, return_inverse=True)[1][pick].astype(np.int32)

    def train():
        model = _compiled_cnn()
        ds = (tf.data.Dataset.from_tensor_slices((images, codes)).repeat().take(len(paths))
              .batch(BATCH))
        return float(model.fit(ds, epochs=1, verbose=0).history["loss"][-1])

    return _measured(train)


# Images decoded into memory for the no-files floor (run_no_files).
FLOOR_IMAGES = 640
CONTENDERS = {"skkeras_prep": run_skkeras_prep, "keras": run_keras, "no_files": run_no_files}


def _cpu_ticks():
    """(idle, total) clock ticks of all CPUs of the machine so far (Linux; else None)."""
    try:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return None
    return values[3] + values[4], sum(values)  # idle + iowait


def child(contender, directory, n):
    import tensorflow  # noqa: F401  (imported before the measured call)

    ticks = _cpu_ticks()
    seconds, cpu, meter, loss = CONTENDERS[contender](directory)
    after = _cpu_ticks()
    idle = None if ticks is None else (after[0] - ticks[0]) / max(after[1] - ticks[1], 1)
    print(json.dumps({"contender": contender, "seconds": seconds, "images_per_s": n / seconds,
                      "cpu_seconds": cpu, "images_per_cpu_s": n / cpu,
                      "peak_over_before_mb": meter.delta / MB, "rss_before_mb": meter.baseline / MB,
                      "peak_rss_mb": meter.peak / MB, "loss": loss, "machine_idle": idle}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "images_throughput.md"))
    parser.add_argument("--child", choices=sorted(CONTENDERS))
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.dir, args.n)
        return 0
    own = args.dir is None
    directory = args.dir or tempfile.mkdtemp(prefix="skkeras_images_bench_")
    try:
        if _count_files(directory) != args.n:
            shutil.rmtree(directory, ignore_errors=True)
            print(f"writing {args.n} PNG files to {directory} ...", flush=True)
            print(f"  {write_folder(directory, args.n):.1f} s", flush=True)
        results = []
        for repeat in range(args.repeats):
            order = sorted(CONTENDERS) if repeat % 2 == 0 else sorted(CONTENDERS, reverse=True)
            for contender in order:
                out = subprocess.run(
                    [sys.executable, "-m", "bench.images_throughput", "--child", contender,
                     "--dir", directory, "--n", str(args.n)],
                    env=worker_env(), capture_output=True, text=True, check=True,
                    cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(result, flush=True)
                results.append(result)
        report = render(results, args)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write(report)
        print(report)
    finally:
        if own:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


def render(results, args):
    decoded_mb = args.n * SIZE * SIZE * 3 * 4 / MB
    rows, medians = [], {}
    keys = ("seconds", "images_per_s", "cpu_seconds", "images_per_cpu_s", "peak_over_before_mb",
            "loss")
    for contender in sorted(CONTENDERS):
        runs = [r for r in results if r["contender"] == contender]
        med = {k: statistics.median(r[k] for r in runs) for k in keys}
        medians[contender] = med
        rng = lambda k: f"{min(r[k] for r in runs):.1f}-{max(r[k] for r in runs):.1f}"  # noqa: E731
        rows.append(f"| {contender} | {med['seconds']:.1f} ({rng('seconds')}) | "
                    f"{med['images_per_s']:.0f} | {med['cpu_seconds']:.1f} | "
                    f"{med['images_per_cpu_s']:.0f} | {med['peak_over_before_mb']:.0f} "
                    f"({rng('peak_over_before_mb')}) | "
                    f"{100 * med['peak_over_before_mb'] / decoded_mb:.1f}% | {med['loss']:.3f} |")
    # Runs alternate, so run i of each contender ran next to the other's run i: the ratio of
    # each such pair is the one least moved by load that changes over minutes.
    ours = [r for r in results if r["contender"] == "skkeras_prep"]
    theirs = [r for r in results if r["contender"] == "keras"]
    pairs = [a["images_per_s"] / b["images_per_s"] for a, b in zip(ours, theirs)]
    ratio = medians["skkeras_prep"]["images_per_s"] / medians["keras"]["images_per_s"]
    cpu_ratio = medians["skkeras_prep"]["images_per_cpu_s"] / medians["keras"]["images_per_cpu_s"]
    share = medians["skkeras_prep"]["peak_over_before_mb"] / decoded_mb
    keras_share = medians["keras"]["peak_over_before_mb"] / decoded_mb
    floor_share = medians["no_files"]["peak_over_before_mb"] / decoded_mb
    return "\n".join([
        "# Image folder throughput (issue 11)", "",
        f"`python -m bench.images_throughput --n {args.n} --repeats {args.repeats}`", "",
        f"{args.n} PNG files, {SIZE}x{SIZE} RGB, {CLASSES} classes; decoded float32 size "
        f"{decoded_mb:.0f} MB. One epoch, batch {BATCH}, the same CNN. Medians of "
        f"{args.repeats} alternated runs (min-max), each in a fresh process; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. "
        "CPU s is the process's user + system time over the call (all threads).", "",
        "| contender | fit s | images/s | CPU s | images per CPU s | peak RSS over before MB "
        "| % of decoded size | loss |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows, "",
        f"- images/s, skkeras_prep / Keras pipeline: **{ratio:.2f}x** (target >= 1.0x); "
        f"per alternated pair: {', '.join(f'{p:.2f}' for p in pairs)} "
        f"(median {statistics.median(pairs):.2f}x)",
        f"- images per CPU second, skkeras_prep / Keras pipeline: {cpu_ratio:.2f}x",
        f"- peak RSS growth during the fit: **{100 * share:.1f}%** of the decoded size "
        f"(target <= 25%; Keras's pipeline: {100 * keras_share:.1f}%; the same training "
        f"with no files, its batches from {FLOOR_IMAGES} images in memory: "
        f"{100 * floor_share:.1f}%)",
        "- share of the machine's CPU time left idle during each run (a run that stalls leaves "
        "the CPUs idle): " + "; ".join(
            f"{c} " + ", ".join(f"{r['machine_idle']:.0%}" for r in results
                                if r["contender"] == c and r.get("machine_idle") is not None)
            for c in sorted(CONTENDERS)), "",
    ])


if __name__ == "__main__":
    sys.exit(main())
