"""Smoke test of the benchmark suite (bench/): tiny sizes, so the harness stays runnable.

The skkeras_prep and raw-Keras cases always run; peers (scikeras, ...) are not needed.
Timings and memory figures are meaningless at these sizes and are not checked.
"""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

bench_run = pytest.importorskip("bench.run")
from bench import cases, harness  # noqa: E402


def test_bench_harness_runs_on_tiny_sizes(tmp_path):
    out, raw = tmp_path / "README.md", tmp_path / "results.json"
    code = bench_run.main([
        "--smoke", "--in-process", "--contenders", "skkeras_prep,keras_fit",
        "--out", str(out), "--json", str(raw),
    ])
    assert code == 0
    data = json.loads(raw.read_text())
    assert not [r for r in data["results"] if "error" in r]
    table = data["table"]
    assert set(table) == set(bench_run.SCENARIOS)
    for scenario in bench_run.SCENARIOS:
        contenders = {e["contender"] for e in table[scenario].values()}
        assert "skkeras_prep" in contenders, scenario
        if scenario != "transform_calls":
            assert "keras_fit" in contenders, scenario
    # target 6 is a count, valid at any size: transform runs once per fit, not per epoch
    for entry in table["transform_calls"].values():
        assert entry["transform_calls_per_fit"] == 1
        assert entry["transform_passes_per_fit"] == 1
    text = out.read_text()
    assert "## Targets" in text and "--smoke --in-process" in text
    assert "| skkeras_prep |" in text and "| raw Keras |" in text


def test_bench_worker_subprocess_protocol():
    """One real subprocess job (sklearn's MLP: no TensorFlow start-up, so it is quick)."""
    job = {"scenario": "fit_large", "contender": "sklearn_mlp", "rep": 0,
           "params": dict(bench_run.SIZES["smoke"]["fit_large"], seed=0)}
    result = harness.run_job_subprocess(job, timeout=120)
    assert "error" not in result, result.get("error")
    (row,) = result["rows"]
    assert row["fit_s"] > 0 and row["peak_rss_mb"] >= row["rss_before_mb"] > 0
    assert len(result["loadavg_before"]) == 3


def test_plan_alternates_contenders_and_skips_missing_peers(monkeypatch):
    jobs = bench_run.plan("smoke", ["fit_large"], ["skkeras_prep", "keras_fit", "sklearn_mlp"], 3)
    orders = [[j["contender"] for j in jobs if j["rep"] == r] for r in range(3)]
    assert orders[0] == ["skkeras_prep", "keras_fit", "sklearn_mlp"]
    assert orders[1] == ["keras_fit", "sklearn_mlp", "skkeras_prep"]
    assert [j["params"]["seed"] for j in jobs] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    monkeypatch.setitem(cases.CONTENDERS, "scikeras",
                        dict(cases.CONTENDERS["scikeras"], requires=("no_such_module_xyz",)))
    assert not bench_run.available("scikeras")
    assert bench_run.available("skkeras_prep")


@pytest.mark.slow
def test_retained_graphs_benchmark_runs_and_skkeras_keeps_no_graph():
    from bench import retained_graphs

    rows = {r["case"]: r for r in retained_graphs.measure(fits=6)}
    assert len(rows) == 8 and all(r["growth_mb_per_cycle"] == r["growth_mb_per_cycle"] for r in rows.values())
    assert rows["skkeras_prep fit (optimizer built before training)"]["graphs_per_cycle"] == 0


def test_memory_cycles_case_and_figures(tmp_path):
    from bench import memory_cycles

    result = memory_cycles.run_case("skkeras_prep", 2, progress=str(tmp_path / "p.json"))
    assert result["cycles"] == 2 and len(result["rss_mb"]) == 2
    assert all(v > 0 for v in result["rss_mb"])
    assert memory_cycles._slope([5.0, 7.0, 9.0, 11.0], 1) == pytest.approx(2.0)
    row = memory_cycles.summarise({"case": "raw_keras", "rss_mb": [1.0 * i for i in range(120)],
                                   "cycle_s": [0.1] * 120})
    assert row["from_cycle"] == 50 and row["growth_mb"] == pytest.approx(70.0)
    assert row["slope_mb_per_cycle"] == pytest.approx(1.0)
    short = memory_cycles.summarise({"case": "raw_keras", "rss_mb": [2.0 * i for i in range(60)],
                                     "cycle_s": [0.1] * 60})
    assert short["from_cycle"] == 20 and short["growth_mb"] == pytest.approx(80.0)
    with pytest.raises(ValueError, match="unknown case"):
        memory_cycles.run_case("nope", 1)
