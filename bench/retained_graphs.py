"""Where repeated fits keep memory (target 5): traced graphs that outlive their model.

    .venv/bin/python -m bench.retained_graphs [--fits 25] [--out bench/results/retained_graphs.md]

Each case runs ``fits`` times in this process: make something, run it, delete it, collect
garbage. It reports the TensorFlow ``FuncGraph`` objects still alive afterwards and the RSS
growth per cycle over the last ``fits - 5`` cycles. The cases go from a whole Keras fit down
to one ``optimizer.apply`` inside a ``tf.function``, so the table shows which step keeps a
graph alive. No skkeras_prep code runs except in the first case.
"""

import argparse
import datetime
import gc
import os
import sys
import warnings

import numpy as np

from .harness import MB, current_rss


def _cases(X, y):
    import keras
    import tensorflow as tf

    y_col = y.astype("float32").reshape(-1, 1)

    def mlp():
        model = keras.Sequential([
            keras.Input((X.shape[1],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    def skkeras_fit():
        from skkeras_prep import KerasPipelineClassifier
        from skkeras_prep.models import MLP

        KerasPipelineClassifier(MLP(hidden_layer_sizes=(32,)), epochs=3, batch_size=64,
                                random_state=0).fit(X, y)

    def keras_fit():
        mlp().fit(X, y_col, epochs=3, batch_size=64, verbose=0)

    def keras_fit_optimizer_built_first():
        model = mlp()
        model.optimizer.build(model.trainable_variables)
        model.fit(X, y_col, epochs=3, batch_size=64, verbose=0)

    def gradient_step_without_optimizer():
        model = mlp()

        @tf.function
        def step(x, t):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.binary_crossentropy(t, model(x)))
            return tape.gradient(loss, model.trainable_variables)

        step(tf.constant(X[:64]), tf.constant(y_col[:64]))

    def optimizer_apply_in_tf_function(name):
        def case():
            w = keras.Variable(np.ones((20, 1), "float32"))
            opt = keras.optimizers.get(name)
            opt.build([w])

            @tf.function
            def step(g):
                opt.apply([g], [w])
                return g

            step(tf.ones((20, 1)))

        return case

    def all_reduce_in_tf_function():
        @tf.function
        def step(g):
            return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, g)

        step(tf.ones((20, 1)))

    def variable_update_in_tf_function():
        w = keras.Variable(np.ones((20, 1), "float32"))

        @tf.function
        def step(g):
            w.assign_sub(0.01 * g)
            return g

        step(tf.ones((20, 1)))

    return [
        ("skkeras_prep fit (optimizer built before training)", skkeras_fit),
        ("raw Keras compile + fit", keras_fit),
        ("raw Keras, optimizer built before fit", keras_fit_optimizer_built_first),
        ("tf.function: gradients of a Keras model, no optimizer", gradient_step_without_optimizer),
        ("tf.function: Adam.apply on one variable", optimizer_apply_in_tf_function("adam")),
        ("tf.function: SGD.apply on one variable", optimizer_apply_in_tf_function("sgd")),
        ("tf.function: ReplicaContext.all_reduce (a tf.custom_gradient)", all_reduce_in_tf_function),
        ("tf.function: variable.assign_sub", variable_update_in_tf_function),
    ]


def _graphs_alive(set_of=False, new_since=None):
    """The number of live FuncGraphs after a collection; with ``set_of``, a weak set of them;
    with ``new_since`` (such a set), the number of live ones not in it."""
    import weakref

    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    graphs = [o for o in gc.get_objects() if isinstance(o, FuncGraph)]
    if set_of:
        return weakref.WeakSet(graphs)
    if new_since is not None:
        return sum(g not in new_since for g in graphs)
    return len(graphs)


def measure(fits):
    warnings.simplefilter("ignore")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .cases import make_binary, warm_runtime

    X, y = make_binary(1000, 20)
    warm_runtime("keras_fit")
    rows = []
    for label, case in _cases(X, y):
        # One warm-up cycle first: skkeras_prep keeps the traced model of a finished fit for
        # the next fit of the same architecture (its bounded model pool), which is not a leak.
        # Then only graphs made by the measured cycles count: one that earlier work in the
        # process still held and lets go meanwhile must not offset a retained one.
        case()
        before = _graphs_alive(set_of=True)
        rss = []
        for _ in range(fits):
            case()
            gc.collect()
            rss.append(current_rss() / MB)
        rows.append({
            "case": label,
            "graphs_per_cycle": _graphs_alive(new_since=before) / fits,
            "growth_mb_per_cycle": (rss[-1] - rss[4]) / (fits - 5),
        })
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.retained_graphs")
    parser.add_argument("--fits", type=int, default=25)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "retained_graphs.md"))
    args = parser.parse_args(argv)
    rows = measure(args.fits)
    import keras
    import tensorflow as tf

    lines = [
        "# Graphs kept alive by repeated fits",
        "",
        f"Each case ran {args.fits} times in one process (make, run, delete, `gc.collect()`). "
        "*graphs kept* = TensorFlow `FuncGraph` objects still alive afterwards, per cycle; "
        f"*RSS growth* = per cycle over the last {args.fits - 5} cycles. Only the first case "
        "runs skkeras_prep code. Keras's TensorFlow optimizer sums gradients with "
        "`ReplicaContext.all_reduce`, a `tf.custom_gradient`, which registers a gradient function "
        "under a new name at every trace and never unregisters it; that function holds the traced "
        "graph. skkeras_prep removes the entries that its own fit left "
        "(`_tf_process_state.releasing_gradient_registrations`).",
        "",
        "| case | graphs kept per cycle | RSS growth MB per cycle |",
        "|---|---:|---:|",
    ]
    for row in rows:
        lines.append(f"| {row['case']} | {row['graphs_per_cycle']:.1f} | "
                     f"{row['growth_mb_per_cycle']:.2f} |")
    lines += [
        "",
        "Command:",
        "",
        "```",
        ".venv/bin/python -m bench.retained_graphs " + " ".join(sys.argv[1:] if argv is None else argv),
        "```",
        "",
        f"Run {datetime.datetime.now().isoformat(timespec='seconds')}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, {os.cpu_count()} CPUs.",
    ]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
