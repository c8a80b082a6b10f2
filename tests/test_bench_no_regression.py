"""bench/no_regression.py: the plan alternates the two revisions case by case, the table
judges every ratio against 5%, and (slow) the whole command runs end to end on tiny sizes."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

nr = pytest.importorskip("bench.no_regression")
from bench import worker  # noqa: E402

BASE = {"contender": "skkeras_prep@abc1234", "path": "/nowhere", "rev": "abc1234",
        "sha": "a" * 40, "short": "abc1234"}


def test_plan_alternates_revisions_in_every_case_and_marks_the_baseline():
    jobs = nr.plan("smoke", 3, BASE, "/images")
    cases = ["fit_large", "wine_cv", "images", "out_of_core"]
    for rep in range(3):
        mine = [j for j in jobs if j["rep"] == rep]
        assert [j["scenario"] for j in mine] == [c for c in cases for _ in range(2)]
        first = [j["contender"] for j in mine[::2]]
        expected = "skkeras_prep" if rep % 2 == 0 else BASE["contender"]
        assert first == [expected] * 4, (rep, first)
        assert {j["params"]["seed"] for j in mine} == {rep}
    for job in jobs:
        is_base = job["contender"] == BASE["contender"]
        assert (job.get("import_path") == "/nowhere") is is_base
        assert (job.get("case") == "skkeras_prep") is is_base
        own = job["scenario"] in nr.OWN_CASES
        assert (job.get("module") == nr.MODULE) is own
        if job["scenario"] == "images":
            assert job["params"]["dir"] == "/images" and job["params"]["n"] == nr.SIZES["smoke"]["images"]["n"]
    some = nr.plan("smoke", 2, BASE, "/images", cases=["wine_cv", "out_of_core"])
    assert [j["scenario"] for j in some] == ["wine_cv"] * 2 + ["out_of_core"] * 2 + ["wine_cv"] * 2 + ["out_of_core"] * 2


def _entry(contender, values):
    entry = {"contender": contender}
    for key, vals in values.items():
        entry[key] = sorted(vals)[len(vals) // 2]
        entry[key + "_all"] = vals
    return entry


def test_compare_judges_each_measure_against_five_percent():
    table = {
        "fit_large": {
            "skkeras_prep": _entry("skkeras_prep", {"fit_s": [1.04, 1.03, 1.05],
                                                    "peak_rss_mb": [900.0, 901.0, 905.0]}),
            "skkeras_prep@abc1234": _entry(BASE["contender"], {"fit_s": [1.0, 0.99, 1.01],
                                                               "peak_rss_mb": [850.0, 851.0, 852.0]}),
        },
    }
    rows = {r["key"]: r for r in nr.compare(table, BASE["contender"])}
    assert set(rows) == {"fit_s", "peak_rss_mb"}  # measures not run are left out, not invented
    assert rows["fit_s"]["ratio"] == pytest.approx(1.04) and rows["fit_s"]["within"]
    assert rows["fit_s"]["current"] == "1.04 (1.03-1.05)"
    assert rows["peak_rss_mb"]["ratio"] == pytest.approx(901 / 851)
    assert not rows["peak_rss_mb"]["within"] and not rows["peak_rss_mb"]["ranges_overlap"]
    assert rows["peak_rss_mb"]["spread_current"] == pytest.approx(5 / 901)
    assert rows["fit_s"]["pair_ratios"] == pytest.approx([1.04, 1.03 / 0.99, 1.05 / 1.01])
    meta = {"command": "python -m bench.no_regression --baseline abc1234", "date": "d", "mode": "full",
            "reps": 3, "wall_s": 60.0, "machine": "m", "load_start": [1, 1, 1], "load_end": [1, 1, 1],
            "load_min": 1.0, "load_median": 1.0, "load_max": 1.0, "versions": "v",
            "current": {"describe": "HEAD", "files": "f"}, "baseline": dict(BASE, files="g"),
            "case_sizes": nr._sizes_text("full"), "errors": []}
    text = nr.render(meta, list(rows.values()), [])
    assert "| fit_large | fit s | 1.04 (1.03-1.05) | 1.00 (0.99-1.01) | 1.040 | yes |" in text
    assert "| fit_large | peak RSS in fit MB | 901 (900-905) | 851 (850-852) | 1.059 | **no** |" in text
    assert "1 of 2 measures within 5%" in text and "do not overlap" in text
    assert "| fit_large | fit s | 2% | 2% | 1.040, 1.040, 1.040 |" in text


def test_worker_runs_scenarios_of_bench_modules_only():
    assert worker._scenarios({"module": "bench.no_regression"}) is nr.SCENARIOS
    assert worker._scenarios({}) is worker._scenarios({"module": None})
    for bad in ("os", "bench.x;import os", "benchmark.thing"):
        with pytest.raises(ValueError, match="not a bench module"):
            worker._scenarios({"module": bad})


def test_bad_arguments_are_refused_with_the_fix(capsys, monkeypatch, tmp_path):
    def never(jobs):  # a refused command must not start a single run
        raise AssertionError(f"ran {len(jobs)} jobs")

    monkeypatch.setattr(nr.bench_run, "run_jobs", never)
    paths = ["--out", str(tmp_path / "nr.md"), "--json", str(tmp_path / "nr.json")]
    with pytest.raises(SystemExit):
        nr.main(["--baseline", "no-such-revision-xyz", "--smoke", *paths])
    err = capsys.readouterr().err
    assert "--baseline 'no-such-revision-xyz' is not a commit" in err or "needs the `git` command" in err
    with pytest.raises(SystemExit):
        nr.main(["--baseline", "HEAD", "--smoke", "--cases", "images,fit", *paths])
    assert "unknown ['fit']; choose from fit_large,wine_cv,images,out_of_core" in capsys.readouterr().err
    for reps in ("0", "-2"):
        with pytest.raises(SystemExit):
            nr.main(["--baseline", "HEAD", "--smoke", "--reps", reps, *paths])
        assert "--reps must be at least 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # eight fresh TensorFlow processes (about a minute on 2 CPUs)
def test_no_regression_smoke_runs_both_revisions_of_every_case(tmp_path):
    if subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    out = tmp_path / "nr.md"
    assert nr.main(["--baseline", "HEAD", "--smoke", "--out", str(out)]) == 0
    data = json.loads((tmp_path / "nr.json").read_text())
    assert not data["meta"]["errors"]
    measured = {(r["case"], r["key"]) for r in data["rows"]}
    assert measured == {(c, k) for c, k, _ in nr.MEASURES}
    assert all(r["ratio"] > 0 for r in data["rows"])
    base = data["meta"]["baseline"]
    assert f"baseline-{base['short']}/skkeras_prep/__init__.py" in base["files"]
    if "uncommitted" not in data["meta"]["current"]["describe"]:
        # the same code and seeds in two processes: the same numbers
        for scenario, key, _ in nr.RESULTS:
            now = [e[key] for e in data["table"][scenario].values() if e["contender"] == "skkeras_prep"]
            then = [e[key] for e in data["table"][scenario].values() if e["contender"] == base["contender"]]
            assert now == pytest.approx(then, abs=1e-6), (scenario, key)
    text = out.read_text()
    assert "| case | measure | current median (min-max) |" in text and "--smoke" in text
