"""Checks proven able to fail: run the claim notebooks on deliberately broken science.

    python -m companion.sabotage --out docs/sabotage.json      # make sabotage

Each breakage patches ``fa_core`` in a fresh Python process (through a
``sitecustomize`` module on ``PYTHONPATH``; the repository's code is never
edited), which then runs the cells of the notebooks it is relevant to at
quick size (:mod:`companion.cells`: the same code and checks as a papermill
run, without a kernel per notebook). The
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (what it breaks, the claims (catalog anchors) it must be caught by, patch run in the kernel)
BREAKAGES = {
    "fa_is_gd": (
        "FA's feedback replaced by W, so FA is GD",
        ("convergence", "alignment", "separation", "orthogonal", "linear_network", "beyond_real_data"),
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


def run_breakage(breakage: str, notebooks: list[str], workdir: Path) -> list[dict]:
    """Execute notebooks at quick size in one fresh Python process with one breakage; return each one's checks or failure."""
    patch_dir = workdir / breakage / "site"
    patch_dir.mkdir(parents=True, exist_ok=True)
    (patch_dir / "sitecustomize.py").write_text(_PRELUDE + BREAKAGES[breakage][2] + "\n")
    build = workdir / breakage / "build"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(patch_dir), os.environ.get("PYTHONPATH")])),
           "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "companion.sabotage", "--worker", str(build), *notebooks], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    errors = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    outcomes = []
    for notebook in notebooks:
        results = build / "results" / f"{notebook}.json"
        if results.is_file():
            doc = json.loads(results.read_text())
            outcomes.append({"notebook": notebook, "finished": True,
                             "checks": [dict(claim=c["claim"], about=c["about"], holds=c["holds"]) for c in doc["claims"]]})
        else:
            last = errors.get(notebook) or (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            outcomes.append({"notebook": notebook, "finished": False, "error": last[-300:], "checks": []})
    return outcomes


def worker(build: Path, notebooks: list[str]) -> dict:
    """Run each notebook's cells in this process (companion.cells); the error that stopped each one, or None.

    Figures are not saved: the checks are what the matrix is about, and drawing is half a quick run's time.
    """
    import matplotlib.pyplot as plt

    from . import cells, figures

    figures.save = lambda fig, *args, **kwargs: plt.close(fig) or []
    errors = {}
    for notebook in notebooks:
        try:
            cells.run(ROOT / "notebooks" / f"{notebook}.py", {"quick": True, "build_dir": str(build)})
            errors[notebook] = None
        except Exception as exc:  # a failing check (results written) or a crash (none): run_breakage tells which
            errors[notebook] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return errors


def run(breakages=None, jobs: int = 2) -> dict:
    """The sabotage matrix: for every breakage, each relevant claim's failing checks."""
    names = list(breakages or BREAKAGES)
    unknown = sorted(set(names) - set(BREAKAGES))
    if unknown:
        raise ValueError(f"unknown breakage(s) {unknown}; valid: {sorted(BREAKAGES)}")
    longest_first = sorted(names, key=lambda b: -len(notebooks_for(BREAKAGES[b][1])))
    with tempfile.TemporaryDirectory(prefix="fa-sabotage-") as tmp, ThreadPoolExecutor(jobs) as ex:
        runs = ex.map(lambda b: run_breakage(b, notebooks_for(BREAKAGES[b][1]), Path(tmp)), longest_first)
        by_job = {(b, o["notebook"]): o for b, outcomes in zip(longest_first, runs) for o in outcomes}
    matrix = {}
    for b in names:
        description, claims, _ = BREAKAGES[b]
        row = {}
        for claim in claims:
            outcomes = [by_job[b, nb] for nb in notebooks_for([claim])]
            failed = [c["claim"] for o in outcomes for c in o["checks"] if c["about"] == claim and not c["holds"]]
            crashed = [o["error"] for o in outcomes if not o["finished"]]
            row[claim] = {"failed_checks": failed, "crashed": crashed, "caught": bool(failed or crashed)}
        matrix[b] = {"description": description, "claims": row}
    return matrix


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the claim notebooks under deliberate breakages.")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "sabotage.json", help="where to write the matrix")
    ap.add_argument("--only", nargs="*", help=f"breakages to run (default all: {', '.join(BREAKAGES)})")
    ap.add_argument("--worker", nargs="+", metavar=("BUILD", "NOTEBOOK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:  # inside run_breakage's process, with the breakage patched in by sitecustomize
        print(json.dumps(worker(Path(args.worker[0]), args.worker[1:])))
        return 0
    matrix = run(args.only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(matrix, indent=2, ensure_ascii=False) + "\n")
    missed = [(b, c) for b, row in matrix.items() for c, cell in row["claims"].items() if not cell["caught"]]
    for b, row in matrix.items():
        cells = ", ".join(f"{c}: {len(cell['failed_checks'])} ✗" + (" (crashed)" if cell["crashed"] else "")
                          for c, cell in row["claims"].items())
        print(f"  {b:<26} {cells}")
    if missed:
        print(f"sabotage: NOT caught: {missed}", file=sys.stderr)
        return 1
    print(f"sabotage: every breakage is caught by every claim it is relevant to -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
