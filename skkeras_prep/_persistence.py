"""Saving and loading fitted estimators (``est.save(path)``, ``skkeras_prep.load(path)``)."""


def save_estimator(estimator, path):
    raise NotImplementedError("est.save is being implemented (issue 6).")


def load(path, *, trusted=None):
    raise NotImplementedError("skkeras_prep.load is being implemented (issue 6).")
