import os
from pathlib import Path

# Pin BLAS threads before NumPy loads: reproducible bits, as in the Makefile.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fa_core as fa  # noqa: E402
from companion import pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXPLORER = ROOT / "notebooks" / "explore.py"  # interactive; not a claim notebook (make does not run it)
SOURCES = sorted(p for p in (ROOT / "notebooks").glob("*.py") if p != EXPLORER)


def load_script(relpath: str):
    """Import a script that is not part of the package (bench/, tools/) as a module."""
    import importlib.util

    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rel(a, b):
    """Largest relative difference, scaled by the larger array's max entry."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


@pytest.fixture
def small_problem():
    """A rank-4 target, 20×15, with random Z, W, B for one seed."""
    rng = np.random.default_rng(123)
    t = fa.make_target(fa.low_rank_spectrum(4, kappa=3.0), n=20, m=15, rng=rng)
    Z = 0.3 * rng.standard_normal((20, 5))
    W = 0.3 * rng.standard_normal((5, 15))
    B = rng.standard_normal((5, 15)) / np.sqrt(15)
    return t, Z, W, B


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory):
    """Every notebook executed once with quick=True, like `make QUICK=1`; shared by the tests below."""
    build = tmp_path_factory.mktemp("quick_build")
    failures = {}
    for source in SOURCES:
        out = build / "notebooks" / f"{source.stem}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            pipeline.execute(source, out, {"quick": True}, build)
        except Exception as exc:  # reported by the per-notebook test
            failures[source.stem] = exc
    return build, failures
