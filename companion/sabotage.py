"""Checks proven able to fail: run the notebooks on deliberately broken science.

    python -m companion.sabotage --out docs/sabotage.json      # make sabotage

Each breakage is a Python function: a context manager that patches ``fa_core``
with :func:`unittest.mock.patch` (the repository's code is never edited). It is
applied in a process of its own, started the standard way
(``python -m companion.sabotage --worker BREAKAGE BUILD NOTEBOOK...``), two at a
time, which runs the cells of the notebooks the breakage concerns at quick size
(:mod:`companion.cells`: the same code and checks as a papermill run, without
a kernel per notebook). A baseline worker runs every notebook unbroken: its
checks are the rows of the matrix.

The result is per check: which breakages turned it ✗. A check of kind
``"law"`` (evidence for a sentence of a claim) must be caught by at least one
breakage; ``tests/test_sabotage.py`` asserts that, and the report shows the
matrix.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@dataclass(frozen=True)
class Breakage:
    """One deliberate error in the science.

    Attributes
    ----------
    name : str
    description : str
        What it breaks, in words (shown in the report).
    notebooks : tuple of str
        The notebooks run under it: those whose checks it should turn ✗.
    patch : callable
        ``patch()`` returns a context manager that applies the breakage to ``fa_core``.
    """

    name: str
    description: str
    notebooks: tuple[str, ...]
    patch: Callable[[], contextlib.AbstractContextManager]


BREAKAGES: dict[str, Breakage] = {}


def breakage(description: str, notebooks: tuple[str, ...]):
    """Register a generator function as the breakage named after it (wrapped as a context manager)."""

    def register(function):
        BREAKAGES[function.__name__] = Breakage(
            function.__name__, description, notebooks, contextlib.contextmanager(function)
        )
        return function

    return register


def _replace_rule(name: str, **fields) -> contextlib.AbstractContextManager:
    """Patch ``fa_core.rules.RULES[name]`` with some of its fields replaced."""
    import fa_core.rules as R

    return mock.patch.dict(R.RULES, {name: dataclasses.replace(R.RULES[name], **fields)})


@breakage(
    "FA's feedback replaced by W, so FA is GD",
    (
        "convergence",
        "separation",
        "orthogonal",
        "linear_network",
        "beyond_real_data",
        "beyond_rules",
        "beyond_nonlinear",
        "your_data",
    ),
)
def fa_is_gd() -> Iterator[None]:
    import fa_core.rules as R

    with _replace_rule("fa", step=R.gd_step, z_direction=R.gradient_direction):
        yield


@breakage(
    "the feedback B drawn as zero",
    ("convergence", "orthogonal", "your_data"),
)
def feedback_zero() -> Iterator[None]:
    import fa_core.start as S

    draw = S.feedback_matrix

    def zero(rng, r, m, scale=1.0):
        return 0.0 * draw(rng, r, m, scale)

    with mock.patch.object(S, "feedback_matrix", zero):
        yield


@breakage(
    "a fresh random feedback at every step instead of a fixed B",
    ("convergence", "separation", "your_data"),
)
def feedback_redrawn() -> Iterator[None]:
    with _feedback_redrawn("fa"):
        yield


def _feedback_redrawn(rule: str) -> contextlib.AbstractContextManager:
    """Patch ``rule`` so that each step uses a fresh Gaussian feedback of B's scale (B itself stays)."""
    import numpy as np

    import fa_core.rules as R

    rng = np.random.default_rng(2024)
    take = R.RULES[rule].step

    def step(Y, Z, W, B, eta):
        scale = np.sqrt(np.mean(B**2, axis=(-2, -1), keepdims=True))
        Z1, W1, _ = take(Y, Z, W, rng.standard_normal(B.shape) * scale, eta)
        return Z1, W1, B

    return _replace_rule(rule, step=step)


@breakage(
    "GD's error sent back through the random B instead of W (GD becomes FA, in depth too)",
    (
        "convergence",
        "separation",
        "orthogonal",
        "linear_network",
        "beyond_rules",
        "beyond_depth",
        "beyond_real_data",
        "your_data",
    ),
)
def gd_is_fa() -> Iterator[None]:
    import fa_core.rules as R

    with _replace_rule("gd", step=R.fa_step, z_direction=R.feedback_direction, deep=("fa", 0.0)):
        yield


@breakage("GD's W never learns (only Z does: a regression on a fixed random W)", ("convergence",))
def gd_w_frozen() -> Iterator[None]:
    import fa_core.rules as R

    def step(Y, Z, W, B, eta):
        Z1, _, B1 = R.gd_step(Y, Z, W, B, eta)
        return Z1, W, B1

    with _replace_rule("gd", step=step):
        yield


@breakage("DRTP's output-target feedback replaced by FA's error feedback", ("beyond_rules",))
def drtp_is_fa() -> Iterator[None]:
    import fa_core.rules as R

    with _replace_rule("drtp", step=R.fa_step, z_direction=R.feedback_direction):
        yield


@breakage("FA* without its midpoint (it becomes FA)", ("convergence",))
def fa_star_without_midpoint() -> Iterator[None]:
    import fa_core.rules as R

    with _replace_rule("fa_star", step=R.fa_step):
        yield


@breakage("FA*'s feedback redrawn at every step instead of a fixed B", ("convergence",))
def fa_star_feedback_redrawn() -> Iterator[None]:
    with _feedback_redrawn("fa_star"):
        yield


@breakage("FA*'s W-update taken at half its step (the alignment lags)", ("convergence",))
def fa_star_w_halved() -> Iterator[None]:
    import fa_core.rules as R

    def step(Y, Z, W, B, eta):
        Z1, W1, B1 = R.fa_star_step(Y, Z, W, B, eta)
        return Z1, W + 0.5 * (W1 - W), B1

    with _replace_rule("fa_star", step=step):
        yield


@breakage(
    "FA's limit formulas (fa_limit_error, sketch_error) perturbed by 1%",
    ("separation", "orthogonal", "linear_network", "beyond_real_data", "beyond_depth", "your_data"),
)
def limit_perturbed() -> Iterator[None]:
    import fa_core
    import fa_core.theory as T

    limit, sketch = T.fa_limit_error, T.sketch_error

    def limit_1pc(*args, **kwargs):
        return 1.01 * limit(*args, **kwargs)

    def sketch_1pc(*args, **kwargs):
        return 1.01 * sketch(*args, **kwargs)

    with (
        mock.patch.object(T, "fa_limit_error", limit_1pc),
        mock.patch.object(fa_core, "fa_limit_error", limit_1pc),
        mock.patch.object(T, "sketch_error", sketch_1pc),
    ):
        yield


@breakage(
    "FA's closed-form limit replaced by the optimum OPT_r (fa_limit_error and sketch_error)",
    ("separation", "linear_network", "beyond_real_data", "beyond_depth"),
)
def fa_limit_is_optimal() -> Iterator[None]:
    import numpy as np

    import fa_core
    import fa_core.theory as T

    def optimal(target_or_Y, B, Sigma=None):
        B = np.asarray(B)
        value = T.optimal_error(target_or_Y, B.shape[-2], Sigma=Sigma)
        return np.full(B.shape[:-2], value) if B.ndim > 2 else value

    def sketch_optimal(s, D):
        D = np.asarray(D)
        return np.full(D.shape[:-2], np.sum(np.asarray(s, dtype=float)[D.shape[-2] :] ** 2))

    with (
        mock.patch.object(T, "fa_limit_error", optimal),
        mock.patch.object(fa_core, "fa_limit_error", optimal),
        mock.patch.object(T, "sketch_error", sketch_optimal),
    ):
        yield


@breakage("network inputs Gaussian instead of whitened", ("linear_network",))
def not_whitened() -> Iterator[None]:
    import fa_core
    import fa_core.inputs as I

    def gaussian(N, n, rng):
        return I.gaussian_inputs(N, n, rng)

    with (
        mock.patch.object(I, "whitened_inputs", gaussian),
        mock.patch.object(fa_core, "whitened_inputs", gaussian),
    ):
        yield


@breakage(
    "the network sees isotropic inputs whatever X is (X replaced by whitened samples of the "
    "same size, and T by their images under the least-squares teacher)",
    ("linear_network",),
)
def network_inputs_isotropic() -> Iterator[None]:
    import numpy as np

    import fa_core
    import fa_core.inputs as I
    import fa_core.network as NW

    train = NW.train_network

    def isotropic(X, T, *args, **kwargs):
        X, T = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
        teacher = np.linalg.pinv(X) @ T  # the linear teacher the data define
        X = I.whitened_inputs(X.shape[-2], X.shape[-1], 0) + np.zeros_like(X)
        return train(X, X @ teacher, *args, **kwargs)

    with (
        mock.patch.object(NW, "train_network", isotropic),
        mock.patch.object(fa_core, "train_network", isotropic),
    ):
        yield


@breakage(
    "minibatch SGD draws its first minibatch at every step (the other samples never seen)",
    ("linear_network",),
)
def sgd_first_batch_only() -> Iterator[None]:
    import fa_core.network as NW

    minibatches = NW._minibatches

    def first_only(*args, **kwargs):
        first = minibatches(*args, **kwargs)(0)

        def batch(step):
            return first

        return batch

    with mock.patch.object(NW, "_minibatches", first_only):
        yield


@breakage(
    "Kolen–Pollack's feedback frozen (B never learns: it becomes FA with weight decay)",
    ("beyond_rules",),
)
def kolen_pollack_frozen() -> Iterator[None]:
    import fa_core
    import fa_core.rules_beyond as RB

    def frozen(lam):
        return RB.with_weight_decay("fa", lam)

    with (
        mock.patch.object(RB, "kolen_pollack", frozen),
        mock.patch.object(fa_core, "kolen_pollack", frozen),
    ):
        yield


@breakage("real data 'whitened' by returning it unchanged", ("beyond_real_data",))
def whitening_skipped() -> Iterator[None]:
    import numpy as np

    import fa_core.inputs as I

    with mock.patch.object(I, "whiten", lambda X: np.asarray(X, dtype=float)):
        yield


@breakage(
    "deep FA and DFA carry the error back through the forward weights (they become backprop)",
    ("beyond_depth",),
)
def deep_feedback_is_forward() -> Iterator[None]:
    import fa_core.deep as D

    carrier = D.carrier

    def forward(Zs, feedback, rule, layer):
        return carrier(Zs, feedback, "gd", layer)

    with mock.patch.object(D, "carrier", forward):
        yield


@breakage(
    "sign symmetry's feedback is a fixed random sign pattern instead of sign(W)",
    ("beyond_rules",),
)
def sign_symmetry_random() -> Iterator[None]:
    import numpy as np

    import fa_core.rules as R

    def signs(W):
        return np.sign(np.random.default_rng(7).standard_normal(W.shape)) * np.mean(
            np.abs(W), axis=(-2, -1), keepdims=True
        )

    with mock.patch.object(R, "sign_feedback", signs):
        yield


def worker(breakage: str | None, build: Path, notebooks: list[str]) -> dict[str, str | None]:
    """Run notebooks at quick size in this process, under ``breakage`` (None: unbroken).

    Returns the error that stopped each notebook, or None. Figures are not
    saved: the checks are what the matrix is about, and drawing is half a
    quick run's time.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import cells, figures
    from .notebook import quick_parameters

    def close(fig, *args, **kwargs):
        plt.close(fig)
        return []

    patch = BREAKAGES[breakage].patch() if breakage else contextlib.nullcontext()
    errors: dict[str, str | None] = {}
    with patch, mock.patch.object(figures, "save", close):
        for notebook in notebooks:
            try:
                source = NOTEBOOKS / f"{notebook}.py"
                cells.run(source, {**quick_parameters(source), "build_dir": str(build)})
                errors[notebook] = None
            except Exception as exc:  # a failing check (results written) or a crash (none)
                errors[notebook] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return errors


def run_worker(breakage: str | None, notebooks: list[str], folder: Path) -> list[dict]:
    """Run :func:`worker` in a fresh Python process; each notebook's checks, or why it did not finish."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    command = [sys.executable, "-m", "companion.sabotage", "--worker", breakage or "", str(folder)]
    proc = subprocess.run(
        [*command, *notebooks], cwd=NOTEBOOKS, env=env, capture_output=True, text=True, timeout=1800
    )
    errors_json = folder / "errors.json"
    errors = json.loads(errors_json.read_text()) if errors_json.is_file() else {}
    fallback = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    outcomes = []
    for notebook in notebooks:
        results = folder / "build" / "results" / f"{notebook}.json"
        if results.is_file():
            doc = json.loads(results.read_text())
            checks = [
                {"check": c["claim"], "kind": c["kind"], "holds": c["holds"]} for c in doc["claims"]
            ]
            outcomes.append({"notebook": notebook, "finished": True, "checks": checks})
        else:
            error = errors.get(notebook) or fallback
            outcomes.append(
                {"notebook": notebook, "finished": False, "error": error[-300:], "checks": []}
            )
    return outcomes


def all_notebooks() -> list[str]:
    """Every notebook with checks, in catalog order."""
    from .catalog import notebooks

    return notebooks()


def run(breakages: list[str] | None = None, jobs: int = 2) -> dict:
    """The sabotage matrix: every check of the unbroken quick run, with the breakages that turn it ✗."""
    names = list(breakages or BREAKAGES)
    unknown = sorted(set(names) - set(BREAKAGES))
    if unknown:
        raise ValueError(f"unknown breakage(s) {unknown}; valid: {sorted(BREAKAGES)}")
    plan = [(None, all_notebooks())] + [(b, list(BREAKAGES[b].notebooks)) for b in names]
    plan.sort(key=lambda job: -len(job[1]))  # longest first, so two workers finish together
    with tempfile.TemporaryDirectory(prefix="fa-sabotage-") as tmp:
        with ThreadPoolExecutor(jobs) as pool:
            futures = {
                b: pool.submit(run_worker, b, nbs, Path(tmp) / (b or "baseline")) for b, nbs in plan
            }
        outcomes = {b: future.result() for b, future in futures.items()}
    baseline = outcomes.pop(None)
    crashed = {
        f"{b or 'baseline'} / {o['notebook']}": o["error"]
        for b, runs in [(None, baseline), *outcomes.items()]
        for o in runs
        if not o["finished"]
    }
    failed = {
        b: {(o["notebook"], c["check"]) for o in runs for c in o["checks"] if not c["holds"]}
        for b, runs in outcomes.items()
    }
    checks = [
        {
            "notebook": o["notebook"],
            "check": c["check"],
            "kind": c["kind"],
            "caught_by": [b for b in names if (o["notebook"], c["check"]) in failed[b]],
        }
        for o in baseline
        for c in o["checks"]
    ]
    unbroken_fails = [
        f"{o['notebook']}: {c['check']}" for o in baseline for c in o["checks"] if not c["holds"]
    ]
    return {
        "breakages": {b: BREAKAGES[b].description for b in names},
        "checks": checks,
        **({"crashed": crashed} if crashed else {}),
        **({"unbroken_failures": unbroken_fails} if unbroken_fails else {}),
    }


def uncaught_laws(matrix: dict) -> list[str]:
    """The law checks no breakage turns ✗."""
    return [
        f"{c['notebook']}: {c['check']}"
        for c in matrix["checks"]
        if c["kind"] == "law" and not c["caught_by"]
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the notebooks under deliberate breakages.")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "sabotage.json", help="where to write it"
    )
    ap.add_argument(
        "--only", nargs="*", help=f"breakages to run (default all: {', '.join(BREAKAGES)})"
    )
    ap.add_argument(
        "--worker",
        nargs="+",
        metavar="ARG",
        help="internal: BREAKAGE ('' for none) FOLDER NOTEBOOK... (one worker process)",
    )
    args = ap.parse_args(argv)
    if args.worker:
        name, folder, *notebooks = args.worker
        folder = Path(folder)
        errors = worker(name or None, folder / "build", notebooks)
        (folder / "errors.json").write_text(json.dumps(errors))
        return 0
    matrix = run(args.only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    for c in matrix["checks"]:
        caught = ", ".join(c["caught_by"]) or "—"
        print(
            f"  [{c['kind'] or '?':<11}] {c['notebook']}: {c['check'][:70]:<70}  ✗ under {caught}"
        )
    problems = [f"law check caught by no breakage: {u}" for u in uncaught_laws(matrix)]
    problems += [f"crashed: {k}: {v}" for k, v in matrix.get("crashed", {}).items()]
    problems += [f"fails unbroken: {u}" for u in matrix.get("unbroken_failures", [])]
    if problems:
        print("sabotage:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"sabotage: every law check is caught by a breakage -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
