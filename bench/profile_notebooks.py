"""Where a notebook's time goes: seconds per cell, and the fa_core functions that take them.

    .venv/bin/python bench/profile_notebooks.py                 # every claim notebook, full size
    .venv/bin/python bench/profile_notebooks.py separation --quick --top 8

Each notebook's code cells run in this process, in order, under cProfile, with figures drawn
off-screen and outputs written to a temporary folder; kernel start-up and papermill are not
counted (``make`` prints each notebook's wall time including them). For every cell it prints
the wall time and the first line of code; then the functions with the largest cumulative time,
restricted to this repository's code (fa_core, companion) and matplotlib's savefig.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from companion import cells  # noqa: E402
from companion.notebook import quick_parameters  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"


def profile(name: str, quick: bool, top: int) -> float:
    """Run one notebook's cells in order under cProfile; print per-cell times and the top functions."""
    prof = cProfile.Profile()
    rows = []

    def timed(code, ns):
        t0 = time.perf_counter()
        prof.runctx(code, ns, ns)
        rows.append(time.perf_counter() - t0)

    with tempfile.TemporaryDirectory(prefix="fa-profile-") as tmp:
        source = NOTEBOOKS / f"{name}.py"
        params = quick_parameters(source) if quick else {}
        cells.run(source, {**params, "build_dir": tmp}, runner=timed)
    firsts = [
        next((ln for ln in code.splitlines() if ln.strip() and not ln.startswith("#")), "")
        for code in cells.code_cells(source, {})
    ]
    rows = list(zip(rows, firsts))
    total = sum(t for t, _ in rows)
    print(f"\n== {name}{' (quick)' if quick else ''}: {total:.1f} s in {len(rows)} cells")
    for t, first in rows:
        print(f"  {t:6.2f} s  {first[:90]}")
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
    stats.print_stats(r"fa_core|companion/(?!notebook)|savefig", top)
    lines = [
        ln for ln in out.getvalue().splitlines() if re.match(r"\s*\d+(/\d+)?\s+[\d.]+\s", ln)
    ]  # table rows
    print(
        f"  top {top} functions by cumulative time (ncalls, tottime, percall, cumtime, percall, where):"
    )
    for ln in lines[:top]:
        print("   ", ln.strip()[:150])
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="notebook stems (default: every claim notebook)")
    ap.add_argument("--quick", action="store_true", help="the notebooks' quick sizes")
    ap.add_argument("--top", type=int, default=10, help="functions to list per notebook")
    args = ap.parse_args(argv)
    names = args.names or sorted(p.stem for p in NOTEBOOKS.glob("*.py") if p.stem != "explore")
    totals = {name: profile(name, args.quick, args.top) for name in names}
    print("\n== totals (cells only)")
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {t:6.1f} s  {name}")
    print(f"  {sum(totals.values()):6.1f} s  all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
