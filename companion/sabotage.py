"""Checks proven able to fail: run the claim notebooks on deliberately broken science.

    python -m companion.sabotage --out docs/sabotage.json      # make sabotage

Each breakage patches ``fa_core`` in a fresh process of its own (the
repository's code is never edited), which then runs the cells of the notebooks
it is relevant to at quick size (:mod:`companion.cells`: the same code and
checks as a papermill run, without a kernel per notebook). The processes are
forked from one server process that has imported NumPy, Matplotlib and seaborn
but not ``fa_core`` (nor the companion modules that import it), so each
breakage patches a fresh copy of the science without paying for those imports
again. The
result is a matrix of breakages against claims: which checks turned ✗. Every
claim must have at least one check that fails under every breakage relevant to
it; ``tests/test_sabotage.py`` asserts that, and the report shows the matrix.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (what it breaks, the claims (catalog anchors) it must be caught by, patch run in the kernel)
BREAKAGES = {
    "fa_is_gd": (
        "FA's feedback replaced by W, so FA is GD",
        (
            "convergence",
            "alignment",
            "separation",
            "orthogonal",
            "linear_network",
            "beyond_real_data",
        ),
        "R.RULES['fa'] = dataclasses.replace(R.RULES['fa'], step=R.gd_step, z_direction=R.gradient_direction)",
    ),
    "feedback_zero": (
        "the feedback B drawn as zero",
        ("convergence", "alignment", "separation", "orthogonal"),
        "_draw = S.feedback_matrix\n"
        "S.feedback_matrix = lambda rng, r, m, scale=1.0: 0.0 * _draw(rng, r, m, scale)",
    ),
    "feedback_redrawn": (
        "a fresh random feedback at every step instead of a fixed B",
        ("convergence", "alignment", "separation"),
        "_g = np.random.default_rng(2024)\n"
        "def _step(Y, Z, W, B, eta):\n"
        "    fresh = _g.standard_normal(B.shape) * np.sqrt(np.mean(B**2, axis=(-2, -1), keepdims=True))\n"
        "    Z1, W1, _ = R.fa_step(Y, Z, W, fresh, eta)\n"
        "    return Z1, W1, B\n"
        "R.RULES['fa'] = dataclasses.replace(R.RULES['fa'], step=_step)",
    ),
    "fa_star_without_midpoint": (
        "FA* without its midpoint (it becomes FA)",
        ("alignment",),
        "R.RULES['fa_star'] = dataclasses.replace(R.RULES['fa_star'], step=R.fa_step)",
    ),
    "limit_perturbed": (
        "FA's limit formula perturbed by 1%",
        ("separation", "orthogonal", "linear_network", "beyond_real_data"),
        "_lim, _sk = T.fa_limit_error, T.sketch_error\n"
        "T.fa_limit_error = fa_core.fa_limit_error = lambda *a, **k: 1.01 * _lim(*a, **k)\n"
        "T.sketch_error = lambda *a, **k: 1.01 * _sk(*a, **k)",
    ),
    "not_whitened": (
        "network inputs Gaussian instead of whitened",
        ("linear_network",),
        "I.whitened_inputs = fa_core.whitened_inputs = lambda N_, n, rng: fa_core.gaussian_inputs(N_, n, rng)",
    ),
    "whitening_skipped": (
        "real data 'whitened' by returning it unchanged",
        ("beyond_real_data",),
        "I.whiten = lambda X: np.asarray(X, dtype=float)",
    ),
}
_PRELUDE = """\
import dataclasses
import numpy as np
import fa_core
import fa_core.inputs as I
import fa_core.rules as R
import fa_core.start as S
import fa_core.theory as T
"""


def notebooks_for(claims) -> list[str]:
    """The notebooks that check the given claims (catalog anchors), in catalog order."""
    from .catalog import SECTIONS

    return list(dict.fromkeys(s.notebook for s in SECTIONS if s.anchor in claims))


def run_breakages(
    plan: list[tuple[str, list[str]]], workdir: Path, jobs: int = 2
) -> dict[str, list[dict]]:
    """Run each ``(breakage, notebooks)`` of ``plan``, ``jobs`` at a time; each breakage's outcomes, by name.

    One fresh server process (``--fork-server``) forks a child per breakage:
    this process, which may have threads (a test runner's), never forks. The
    server gets each breakage's patch with the plan, as this process has it.
    """
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    plan_json = json.dumps([(b, nbs, BREAKAGES[b][2]) for b, nbs in plan])
    server = [
        sys.executable,
        "-m",
        "companion.sabotage",
        "--fork-server",
        str(workdir),
        str(jobs),
        plan_json,
    ]
    proc = subprocess.run(server, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {b: _outcomes(workdir / b, notebooks, last) for b, notebooks in plan}


def run_breakage(breakage: str, notebooks: list[str], workdir: Path) -> list[dict]:
    """Execute notebooks at quick size in one fresh process with one breakage; return each one's checks or failure."""
    return run_breakages([(breakage, notebooks)], workdir, jobs=1)[breakage]


def _outcomes(folder: Path, notebooks: list[str], fallback: str) -> list[dict]:
    """Each notebook's checks from its results JSON, or why it did not finish."""
    errors_json = folder / "errors.json"
    errors = json.loads(errors_json.read_text()) if errors_json.is_file() else {}
    outcomes = []
    for notebook in notebooks:
        results = folder / "build" / "results" / f"{notebook}.json"
        if results.is_file():
            doc = json.loads(results.read_text())
            checks = [
                dict(claim=c["claim"], about=c["about"], holds=c["holds"]) for c in doc["claims"]
            ]
            outcomes.append({"notebook": notebook, "finished": True, "checks": checks})
        else:
            last = errors.get(notebook) or fallback
            outcomes.append(
                {"notebook": notebook, "finished": False, "error": last[-300:], "checks": []}
            )
    return outcomes


def fork_server(workdir: Path, jobs: int, plan: list[tuple[str, list[str], str]]) -> None:
    """Import what every breakage needs once, then fork a child per (breakage, notebooks, patch), ``jobs`` at once."""
    import matplotlib.pyplot  # noqa: F401 (imported once, before forking; so are NumPy and seaborn)
    import seaborn  # noqa: F401

    if "fa_core" in sys.modules:  # each child must import the science afresh, then patch it
        raise RuntimeError("the sabotage server imported fa_core before forking")
    running = 0
    for breakage, notebooks, patch in plan:
        if running == jobs:
            os.wait()
            running -= 1
        if (
            os.fork() == 0
        ):  # the child: patch, run, record, and leave without running the parent's cleanup
            status = 1
            try:
                _run_patched(patch, notebooks, workdir / breakage)
                status = 0
            finally:
                os._exit(status)
        running += 1
    while running:
        os.wait()
        running -= 1


def _run_patched(patch: str, notebooks: list[str], folder: Path) -> None:
    """In a fresh child: apply the patch, run the notebooks, write errors.json (each one's error, or None)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        exec(compile(_PRELUDE + patch, f"<breakage {folder.name}>", "exec"), {})
        errors = worker(folder / "build", notebooks)
    except Exception as exc:  # the patch itself failed: every notebook reports it
        errors = dict.fromkeys(notebooks, f"{type(exc).__name__}: {exc}".splitlines()[0])
    (folder / "errors.json").write_text(json.dumps(errors))


def worker(build: Path, notebooks: list[str]) -> dict:
    """Run each notebook's cells in this process (companion.cells); the error that stopped each one, or None.

    Figures are not saved: the checks are what the matrix is about, and drawing is half a quick run's time.
    """
    import matplotlib.pyplot as plt

    from . import cells, figures
    from .notebook import quick_parameters

    figures.save = lambda fig, *args, **kwargs: plt.close(fig) or []
    errors = {}
    for notebook in notebooks:
        try:
            source = ROOT / "notebooks" / f"{notebook}.py"
            cells.run(source, {**quick_parameters(source), "build_dir": str(build)})
            errors[notebook] = None
        except (
            Exception
        ) as exc:  # a failing check (results written) or a crash (none): _outcomes tells which
            errors[notebook] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return errors


def run(breakages=None, jobs: int = 2) -> dict:
    """The sabotage matrix: for every breakage, each relevant claim's failing checks."""
    names = list(breakages or BREAKAGES)
    unknown = sorted(set(names) - set(BREAKAGES))
    if unknown:
        raise ValueError(f"unknown breakage(s) {unknown}; valid: {sorted(BREAKAGES)}")
    longest_first = sorted(names, key=lambda b: -len(notebooks_for(BREAKAGES[b][1])))
    with tempfile.TemporaryDirectory(prefix="fa-sabotage-") as tmp:
        runs = run_breakages(
            [(b, notebooks_for(BREAKAGES[b][1])) for b in longest_first], Path(tmp), jobs
        )
        by_job = {(b, o["notebook"]): o for b, outcomes in runs.items() for o in outcomes}
    matrix = {}
    for b in names:
        description, claims, _ = BREAKAGES[b]
        row = {}
        for claim in claims:
            outcomes = [by_job[b, nb] for nb in notebooks_for([claim])]
            failed = [
                c["claim"]
                for o in outcomes
                for c in o["checks"]
                if c["about"] == claim and not c["holds"]
            ]
            crashed = [o["error"] for o in outcomes if not o["finished"]]
            row[claim] = {
                "failed_checks": failed,
                "crashed": crashed,
                "caught": bool(failed or crashed),
            }
        matrix[b] = {"description": description, "claims": row}
    return matrix


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the claim notebooks under deliberate breakages.")
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "sabotage.json",
        help="where to write the matrix",
    )
    ap.add_argument(
        "--only", nargs="*", help=f"breakages to run (default all: {', '.join(BREAKAGES)})"
    )
    ap.add_argument(
        "--fork-server", nargs=3, metavar=("WORKDIR", "JOBS", "PLAN"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.fork_server:  # run_breakages' server process
        workdir, jobs, plan = args.fork_server
        fork_server(Path(workdir), int(jobs), json.loads(plan))
        return 0
    matrix = run(args.only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    missed = [
        (b, c)
        for b, row in matrix.items()
        for c, cell in row["claims"].items()
        if not cell["caught"]
    ]
    for b, row in matrix.items():
        cells = ", ".join(
            f"{c}: {len(cell['failed_checks'])} ✗" + (" (crashed)" if cell["crashed"] else "")
            for c, cell in row["claims"].items()
        )
        print(f"  {b:<26} {cells}")
    if missed:
        print(f"sabotage: NOT caught: {missed}", file=sys.stderr)
        return 1
    print(f"sabotage: every breakage is caught by every claim it is relevant to -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
