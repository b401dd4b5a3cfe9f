"""The benchmark compares implementations of the same algorithm (timings are never asserted here)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "bench" / "bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_competitor_runs_the_same_fa_trajectory():
    bench = load_bench()
    agree = bench.agreement(bench.torch_available())
    assert {"reduced", "loop"} <= set(agree)
    for name, diff in agree.items():
        assert diff < 1e-12, (name, diff)


def test_per_step_subtracts_setup_time():
    bench = load_bench()
    calls = []
    sec = bench.per_step(lambda steps: calls.append(steps), 10, 2)
    assert calls == [0, 10, 0, 10] and sec >= 0
