import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

# Pin BLAS threads before NumPy loads: reproducible bits, as in the Makefile.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fa_core as fa  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXPLORER = (
    ROOT / "notebooks" / "explore.py"
)  # interactive; not a claim notebook (make does not run it)
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


@contextmanager
def once_per_run(tmp_path_factory, worker_id: str, name: str):
    """A folder for an expensive shared result, and whether this process must produce it.

    Under pytest-xdist the workers of one run share the folder: the first to
    get here produces the result while the others wait on a file lock, then
    read it. Run alone, the folder is this session's own.
    """
    if worker_id == "master":
        yield tmp_path_factory.mktemp(name), True
        return
    import fcntl

    root = tmp_path_factory.getbasetemp().parent  # this run's folder, shared by its workers
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = root / name
        folder.mkdir(exist_ok=True)
        done = folder / ".done"
        yield folder, not done.exists()
        done.touch()


def with_faulthandler(env=None) -> dict:
    """``env`` (default: this process's) with Python's faulthandler on, for :func:`abort_for_stacks`."""
    return {**(os.environ if env is None else env), "PYTHONFAULTHANDLER": "1"}


def abort_for_stacks(proc: subprocess.Popen) -> tuple[str, str]:
    """Abort a hung child started with :func:`with_faulthandler`; its stdout and its stderr, which
    ends with the stack of every thread, so a hang says where it waits."""
    proc.send_signal(signal.SIGABRT)
    out, err = proc.communicate()
    return out or "", err or ""


def run_pipeline(*args, env=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m companion.pipeline ARGS`` from the repository root, as make runs it; output captured.

    A run that does not finish within ``timeout`` seconds fails the test with the stack of
    every thread of the pipeline.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion.pipeline", *map(str, args)],
        cwd=ROOT,
        env=with_faulthandler(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = abort_for_stacks(proc)
        raise AssertionError(
            f"the pipeline did not finish in {timeout} s: {args}\n"
            f"its output:\n{out[-2000:]}\nits threads' stacks:\n{err[-8000:]}"
        ) from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def build_files(build: Path) -> dict[str, bytes]:
    """Every file a build wrote, by its path relative to the build folder."""
    return {
        p.relative_to(build).as_posix(): p.read_bytes()
        for p in sorted(build.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory, worker_id):
    """Every notebook executed once with quick=True, like `make QUICK=1`; shared by the tests below.

    Two notebooks run at a time, each through the pipeline's command line, as
    `make -j2` runs them, and each gets its report page in pages/, as `make report`
    renders it. Returns the build folder and, for each notebook that
    failed, its error.
    """
    with once_per_run(tmp_path_factory, worker_id, "quick_build") as (build, produce):
        failures_json = build / "failures.json"
        if produce:

            def execute(source):
                out = build / "notebooks" / f"{source.stem}.ipynb"
                proc = run_pipeline(
                    source,
                    "--quick",
                    "--build-dir",
                    build,
                    "--output",
                    out,
                    timeout=900,
                )
                if proc.returncode:
                    return source.stem, proc.stderr.strip() or proc.stdout.strip()
                # and its report page, as `make report` renders it (the report tests reuse it)
                page = build / "pages" / f"{source.stem}.html"
                subprocess.run(
                    [sys.executable, "-m", "companion.report", "--page", out, page],
                    cwd=ROOT,
                    check=True,
                    timeout=300,
                )
                return source.stem, None

            with ThreadPoolExecutor(2) as pool:
                failures = {stem: err for stem, err in pool.map(execute, SOURCES) if err}
            failures_json.write_text(json.dumps(failures))
        failures = json.loads(failures_json.read_text())
    return build, failures


def pytest_collection_modifyitems(items):
    """Start the two expensive shared results first, side by side: the sabotage matrix and the quick build.

    The two are found by the fixtures they use (``matrix``, ``quick_build``),
    so renaming a test does not silently turn this off.

    Under pytest-xdist's work-stealing schedule (pyproject.toml), worker i starts
    with the i-th of equal contiguous shares of the tests, and idle workers steal
    queued ones. So one test of each goes to the head of a share: the two start at
    once on two workers (each runs two processes), and the short tests fill in
    around them instead of waiting behind them at the end. Order only: every
    test runs, alone or under any schedule.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    heavy = [
        next((item for item in items if fixture in getattr(item, "fixturenames", ())), None)
        for fixture in ("matrix", "quick_build")
    ]
    heavy = [item for item in heavy if item is not None]
    if workers < 2 or len(heavy) < 2:
        return
    rest = [item for item in items if item not in heavy]
    share = len(items) // workers
    items[:] = [heavy[0], *rest[: share - 1], heavy[1], *rest[share - 1 :]]
