"""Refresh docs/: the README gallery, its figures, and the results they come from.

    make docs      # after a full `make`

Copies each gallery figure named in :mod:`companion.catalog` to docs/figures/,
every results JSON to docs/results/, every executed notebook to docs/notebooks/
(so they can be read, figures and all, without running anything), rewrites the
README's gallery block from the catalog, and records in docs/SOURCE_DIGEST a digest of the sources that
produced the figures (see :data:`PRODUCERS`). tests/test_docs.py fails when
that digest no longer matches the code, so the README never shows figures from
old code. Prints which checked numbers changed since the last refresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from .catalog import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
# The code whose change can change a figure or a number: the science, the
# notebooks, the tooling a notebook runs with, and the pinned versions.
PRODUCERS = (
    "fa_core/*.py",
    "notebooks/*.py",
    "companion/claims.py",
    "companion/data.py",
    "companion/data/*.gz",
    "companion/figures.py",
    "companion/notebook.py",
    "companion/pipeline.py",
    "requirements/lock-*.txt",
)
GALLERY_START = "<!-- gallery: written by `make docs` from companion/catalog.py; edit it there -->"
GALLERY_END = "<!-- /gallery -->"


def source_digest(root: Path = ROOT) -> str:
    """sha256 over the code that produces the figures and numbers."""
    h = hashlib.sha256()
    files = sorted(
        {p for pattern in PRODUCERS for p in root.glob(pattern)}
        - {root / "notebooks" / "explore.py"}
    )
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def gallery_markdown() -> str:
    """The README gallery: each result with a figure, its text, and the figure."""
    parts = []
    for s in SECTIONS:
        if s.gallery:
            parts.append(
                f"**{'Beyond the paper: ' if s.beyond else ''}{s.title}.** {s.text} ([source](notebooks/{s.notebook}.py), "
                f"[executed notebook](docs/notebooks/{s.notebook}.ipynb))\n\n"
                f"[![{s.title}](docs/figures/{s.gallery_name}.png)](docs/notebooks/{s.notebook}.ipynb)\n"
            )
    return "\n".join(parts)


def with_gallery(readme: str) -> str:
    """``readme`` with its gallery block replaced by :func:`gallery_markdown`."""
    head, sep, rest = readme.partition(GALLERY_START)
    _, sep2, tail = rest.partition(GALLERY_END)
    if not sep or not sep2:
        raise ValueError(
            f"README.md has no gallery block between {GALLERY_START!r} and {GALLERY_END!r}"
        )
    return f"{head}{GALLERY_START}\n\n{gallery_markdown()}\n{GALLERY_END}{tail}"


def main(build: Path = ROOT / "build") -> int:
    docs = ROOT / "docs"
    gallery = [s for s in SECTIONS if s.gallery]
    missing = [
        f"{s.notebook}/{s.gallery}"
        for s in gallery
        if not (build / "figures" / s.notebook / f"{s.gallery}.png").is_file()
    ]
    results = sorted((build / "results").glob("*.json"))
    if missing or not results or any(not json.loads(p.read_text())["all_hold"] for p in results):
        print(
            f"docs: run a full `make` first, with every check holding (missing: {missing})",
            file=sys.stderr,
        )
        return 1
    (docs / "figures").mkdir(parents=True, exist_ok=True)
    for old in (docs / "figures").glob("*.png"):
        old.unlink()
    for s in gallery:
        shutil.copy2(
            build / "figures" / s.notebook / f"{s.gallery}.png",
            docs / "figures" / f"{s.gallery_name}.png",
        )
    (docs / "results").mkdir(parents=True, exist_ok=True)
    for path in results:
        old = docs / "results" / path.name
        before = (
            {c["claim"]: c["value"] for c in json.loads(old.read_text())["claims"]}
            if old.is_file()
            else {}
        )
        for c in json.loads(path.read_text())["claims"]:
            if before.get(c["claim"]) != c["value"]:
                print(
                    f"  changed: {path.stem}: {c['claim']}: {before.get(c['claim'])} -> {c['value']}"
                )
        shutil.copy2(path, old)
    notebooks = sorted((build / "notebooks").glob("*.ipynb"))
    (docs / "notebooks").mkdir(parents=True, exist_ok=True)
    for old_nb in (docs / "notebooks").glob("*.ipynb"):
        old_nb.unlink()
    for path in notebooks:
        shutil.copy2(path, docs / "notebooks" / path.name)
    readme = ROOT / "README.md"
    readme.write_text(with_gallery(readme.read_text()))
    (docs / "SOURCE_DIGEST").write_text(source_digest() + "\n")
    print(
        f"docs: {len(gallery)} figures, {len(results)} results, {len(notebooks)} executed notebooks and the README "
        "gallery refreshed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
