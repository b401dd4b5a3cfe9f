"""Refresh docs/: the README gallery, its figures, and the results they come from.

    make docs      # after a full `make`

Copies each gallery figure named in :mod:`companion.catalog` to docs/figures/,
every results JSON to docs/results/, every executed notebook to docs/notebooks/
(so they can be read, figures and all, without running anything), rewrites the
README's gallery block from the catalog, and records in docs/SOURCE_DIGEST the digest of the sources that
produced them (:func:`companion.claims.source_digest`, the one the results record and the report checks).
It refuses a build in which any notebook is not ✓ current (:func:`companion.report.notebook_status`).
tests/test_docs.py fails when that digest no longer matches the code, so the README never shows figures
from old code. Prints which checked numbers changed since the last refresh.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from . import claims
from .catalog import SECTIONS, notebooks
from .report import notebook_status, section_text

ROOT = claims.ROOT
GALLERY_START = "<!-- gallery: written by `make docs` from companion/catalog.py; edit it there -->"
GALLERY_END = "<!-- /gallery -->"


def source_digest(root: Path = ROOT) -> str:
    """:func:`companion.claims.source_digest` of every notebook: the code that produces docs/."""
    return claims.source_digest(notebooks(), root)


def gallery_markdown(results: Path = ROOT / "docs" / "results") -> str:
    """The README gallery: each result with a figure, its text, and the figure.

    The text is filled from the results in ``results`` (docs/results by default).
    """
    parts = []
    for s in SECTIONS:
        if s.gallery:
            path = results / f"{s.notebook}.json"
            measured = json.loads(path.read_text()).get("measured", {}) if path.is_file() else {}
            parts.append(
                f"**{'Beyond the paper: ' if s.beyond else ''}{s.title}.** {section_text(s, measured)} ([source](notebooks/{s.notebook}.py), "
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m companion.docs",
        description="Refresh docs/ (gallery figures, results, executed notebooks, SOURCE_DIGEST) and the "
        "README gallery from a full build in which every notebook is current (see the report).",
    )
    ap.add_argument(
        "--build",
        type=Path,
        default=ROOT / "build",
        help="the full build to copy from (default build/)",
    )
    build = ap.parse_args(argv).build
    docs = ROOT / "docs"
    gallery = [s for s in SECTIONS if s.gallery]
    missing = [
        f"{s.notebook}/{s.gallery}"
        for s in gallery
        if not (build / "figures" / s.notebook / f"{s.gallery}.png").is_file()
    ]
    statuses = [notebook_status(build, name) for name in notebooks()]
    not_current = [s.line() for s in statuses if not s.current]
    quick = [s.notebook for s in statuses if s.results and s.results.get("params", {}).get("quick")]
    if missing or not_current or quick:
        print(
            "docs: run a full `make` first, with every notebook ✓ current"
            + "".join(f"; {line}" for line in not_current)
            + (f"; quick results: {', '.join(quick)}" if quick else "")
            + (f"; missing figures: {', '.join(missing)}" if missing else ""),
            file=sys.stderr,
        )
        return 1
    results = [build / "results" / f"{name}.json" for name in notebooks()]
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
    executed = [build / "notebooks" / f"{name}.ipynb" for name in notebooks()]
    (docs / "notebooks").mkdir(parents=True, exist_ok=True)
    for old_nb in (docs / "notebooks").glob("*.ipynb"):
        old_nb.unlink()
    for path in executed:
        shutil.copy2(path, docs / "notebooks" / path.name)
    readme = ROOT / "README.md"
    readme.write_text(with_gallery(readme.read_text()))
    (docs / "SOURCE_DIGEST").write_text(source_digest() + "\n")
    print(
        f"docs: {len(gallery)} figures, {len(results)} results, {len(executed)} executed notebooks and the README "
        "gallery refreshed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
