"""The benchmark compares implementations of the same algorithm (timings are never asserted here)."""

from conftest import ROOT, load_script


def load_bench():
    return load_script("bench/bench.py")


def test_every_competitor_runs_the_same_fa_trajectory():
    bench = load_bench()
    agree = bench.agreement(bench.torch_available())
    assert {"reduced", "loop"} <= set(agree)
    for name, diff in agree.items():
        assert diff < 1e-12, (name, diff)


def test_per_step_subtracts_setup_and_grows_the_step_count(monkeypatch):
    """On a fake clock (50 ms of setup, 1 ms per step) per_step returns exactly 1 ms and 50 ms."""
    bench = load_bench()
    clock = [0.0]
    calls = []

    def fake(steps):
        calls.append(steps)
        clock[0] += 0.05 + 0.001 * steps

    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    sec, setup = bench.per_step(fake, budget=0.1, repeats=1)
    assert calls[0] == 0 and max(calls) >= 100  # grew past the setup's size
    assert abs(sec - 0.001) < 1e-12 and abs(setup - 0.05) < 1e-12


def test_the_notebook_profiler_reports_cells_and_fa_core_functions():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "bench/profile_notebooks.py", "beyond_depth", "--quick", "--top", "30"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert (
        "== beyond_depth (quick):" in text and "import matplotlib.pyplot as plt" in text
    )  # one line per cell, with its code
    assert "fa_core/deep.py" in text and "== totals (cells only)" in text
    assert "function calls" not in text.split("top 30 functions")[1]  # only table rows are listed


def test_the_forecast_case_times_a_full_rank_dense_matrix():
    case = load_bench().forecast_case(300, 120, 200)
    assert case["rank"] == 120 and case["draws"] == 200 and case["oversampling_p"][0] == 0
    assert 0 < case["total_cpu_seconds"] and 0 < case["singular_values_seconds"]
