"""Checks proven able to fail: run the claim notebooks on deliberately broken science.

    python -m companion.sabotage --out docs/sabotage.json      # make sabotage

Each breakage patches ``fa_core`` inside the notebook's kernel (through a
``sitecustomize`` module on ``PYTHONPATH``; the repository's code is never
edited), then executes the notebooks it is relevant to at quick size. The
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


def run_one(breakage: str, notebook: str, workdir: Path) -> dict:
    """Execute one notebook at quick size under one breakage; return its checks, or its failure."""
    patch_dir = workdir / breakage / "site"
    patch_dir.mkdir(parents=True, exist_ok=True)
    (patch_dir / "sitecustomize.py").write_text(_PRELUDE + BREAKAGES[breakage][2] + "\n")
    build = workdir / breakage / "build"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(patch_dir), os.environ.get("PYTHONPATH")])),
           "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "companion.pipeline", str(ROOT / "notebooks" / f"{notebook}.py"),
                           "--build-dir", str(build), "--output", str(build / "notebooks" / f"{notebook}.ipynb"),
                           "--quick"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    results = build / "results" / f"{notebook}.json"
    if results.is_file():
        doc = json.loads(results.read_text())
        return {"notebook": notebook, "finished": True,
                "checks": [dict(claim=c["claim"], about=c["about"], holds=c["holds"]) for c in doc["claims"]]}
    last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"notebook": notebook, "finished": False, "error": last[-300:], "checks": []}


def run(breakages=None, jobs: int = 2) -> dict:
    """The sabotage matrix: for every breakage, each relevant claim's failing checks."""
    names = list(breakages or BREAKAGES)
    unknown = sorted(set(names) - set(BREAKAGES))
    if unknown:
        raise ValueError(f"unknown breakage(s) {unknown}; valid: {sorted(BREAKAGES)}")
    with tempfile.TemporaryDirectory(prefix="fa-sabotage-") as tmp:
        jobs_ = [(b, nb) for b in names for nb in notebooks_for(BREAKAGES[b][1])]
        with ThreadPoolExecutor(jobs) as ex:
            runs = list(ex.map(lambda job: run_one(*job, Path(tmp)), jobs_))
    by_job = dict(zip(jobs_, runs))
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
    args = ap.parse_args(argv)
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
