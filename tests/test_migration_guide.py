"""docs/migrating-from-scikeras.md stays complete."""

import inspect
import pathlib

import pytest


# -- the migration guide covers every scikeras parameter ---------------------------------------
def test_the_migration_guide_maps_every_scikeras_parameter():
    """docs/migrating-from-scikeras.md has a row for each constructor parameter of scikeras's
    estimators (read from scikeras itself, which the bench extra installs)."""
    wrappers = pytest.importorskip("scikeras.wrappers")
    guide = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "migrating-from-scikeras.md").read_text()
    table = guide[guide.index("## Parameters, side by side"):guide.index("## Methods and fitted attributes")]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| ")]
    names = set()
    for cls in (wrappers.KerasClassifier, wrappers.KerasRegressor):
        names.update(p.name for p in inspect.signature(cls.__init__).parameters.values()
                     if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD)
    names.discard("self")
    missing = sorted(n for n in names if not any(f"`{n}`" in row or f"`{n} " in row or f"`{n}__" in row
                                                 for row in rows))
    assert not missing, f"the guide's parameter table has no row for {missing}"
