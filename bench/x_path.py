"""The path of X through ``fit``: every call into a skkeras_prep function that receives X, or a
form of its rows made from X (the return value of a call that received one: an array, a
sparse matrix, a DataFrame, a row source, an input structure or adapter), from ``fit`` until
training starts (``_training.train``). Prints the count of such stops, of the modules they are
in, and of module visits (a stop in another module than the one before), then the stops.

    PYTHONPATH=<a checkout> python bench/x_path.py     # that checkout's package

It follows one case: a (200, 4) float32 array, a StandardScaler preprocessor, MLP((4,)), one
epoch. A crude measure (it counts small accessors as stops too), for comparing revisions with
the same script; it changes nothing in the package.
"""

import sys

import numpy as np
from sklearn.preprocessing import StandardScaler

_DATA_TYPES = {"ndarray", "spmatrix", "sparray", "DataFrame", "RowSource", "MultiInput",
               "InputKind", "NamedInputs"}


def _is_rows(value):
    return bool({c.__name__ for c in type(value).__mro__} & _DATA_TYPES)


def follow(X, fit):
    """The (module, function) stops of ``X`` while ``fit()`` runs, until training starts."""
    tracked, stops, stack, done = {id(X)}, [], [], [False]

    def profile(frame, event, arg):
        if done[0]:
            return
        module = frame.f_globals.get("__name__", "") or ""
        ours = module.startswith("skkeras_prep")
        if event == "call":
            code = frame.f_code
            if ours and code.co_name == "train" and module.endswith("_training"):
                done[0] = True
                return
            names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
            args = [frame.f_locals.get(n) for n in names]
            hit = any(id(a) in tracked for a in args)
            if not hit and ours:  # an adapter or structure holding X
                hit = any(id(getattr(a, "X", None)) in tracked for a in args if a is not None)
            if hit and ours:
                stops.append((module, code.co_name))
            stack.append(hit)
        elif event == "return" and stack:
            if stack.pop() and arg is not None and _is_rows(arg):
                tracked.add(id(arg))

    sys.setprofile(profile)
    try:
        fit()
    finally:
        sys.setprofile(None)
    return stops


def main():
    import skkeras_prep
    from skkeras_prep import KerasPipelineClassifier
    from skkeras_prep.models import MLP

    X = np.random.RandomState(0).randn(200, 4).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    est = KerasPipelineClassifier(MLP(hidden_layer_sizes=(4,)), preprocessor=StandardScaler(),
                                  epochs=1, random_state=0)
    stops = follow(X, lambda: est.fit(X, y))
    modules = [m for m, _ in stops]
    visits = [m for i, m in enumerate(modules) if i == 0 or m != modules[i - 1]]
    print(f"skkeras_prep from {skkeras_prep.__file__}")
    print(f"{len(stops)} stops in {len(set(modules))} modules; {len(visits)} module visits")
    for module, function in stops:
        print(f"  {module}.{function}")


if __name__ == "__main__":
    main()
