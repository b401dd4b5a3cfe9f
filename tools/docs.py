"""Refresh docs/: the README gallery figures and the results they come from.

    make docs      # after a full `make`

Copies one headline figure per claim to docs/figures/, every results JSON to
docs/results/, and records in docs/SOURCE_DIGEST a digest of the sources that
produced them (fa_core/, notebooks/, the lock file). tests/test_docs.py fails
when that digest no longer matches the code, so the README never shows figures
from old code. Prints which checked numbers changed since the last refresh.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GALLERY = {  # docs/figures name: (notebook, figure)
    "claim1_convergence": ("convergence", "convergence"),
    "claim2_alignment": ("convergence", "alignment"),
    "claim3_separation": ("separation", "ratio_distribution"),
    "claim4_orthogonal": ("orthogonal", "angles_vs_rank"),
    "claim5_linear_network": ("linear_network", "finite_samples"),
}


def source_digest(root: Path = ROOT) -> str:
    """sha256 over the code that produces the figures and numbers."""
    h = hashlib.sha256()
    files = sorted([*root.glob("fa_core/*.py"), *root.glob("notebooks/*.py"), *root.glob("requirements/lock-*.txt")])
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def main(build: Path = ROOT / "build") -> int:
    docs = ROOT / "docs"
    missing = [f"{nb}/{fig}" for nb, fig in GALLERY.values() if not (build / "figures" / nb / f"{fig}.png").is_file()]
    results = sorted((build / "results").glob("*.json"))
    if missing or not results or any(not json.loads(p.read_text())["all_hold"] for p in results):
        print(f"docs: run a full `make` first, with every check holding (missing: {missing})", file=sys.stderr)
        return 1
    for name, (nb, fig) in GALLERY.items():
        (docs / "figures").mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / "figures" / nb / f"{fig}.png", docs / "figures" / f"{name}.png")
    (docs / "results").mkdir(parents=True, exist_ok=True)
    for path in results:
        old = docs / "results" / path.name
        before = {c["claim"]: c["value"] for c in json.loads(old.read_text())["claims"]} if old.is_file() else {}
        for c in json.loads(path.read_text())["claims"]:
            if before.get(c["claim"]) != c["value"]:
                print(f"  changed: {path.stem}: {c['claim']}: {before.get(c['claim'])} -> {c['value']}")
        shutil.copy2(path, old)
    (docs / "SOURCE_DIGEST").write_text(source_digest() + "\n")
    print(f"docs: {len(GALLERY)} figures and {len(results)} results refreshed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
