"""The README gallery shows figures made by the current code, from the one catalog of claims."""

import json
import re

from conftest import ROOT, SOURCES

from companion import docs
from companion.catalog import SECTIONS


def test_docs_come_from_the_current_code():
    recorded = (ROOT / "docs" / "SOURCE_DIGEST").read_text().strip()
    assert recorded == docs.source_digest(), (
        "docs/ was made by different code: run a full `make`, then `make docs`, and commit docs/"
    )


def test_readme_gallery_is_the_catalog():
    readme = (ROOT / "README.md").read_text()
    assert docs.with_gallery(readme) == readme, (
        "README's gallery differs from companion/catalog.py: run `make docs`"
    )


def test_readme_gallery_images_exist_and_results_hold():
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\((docs/figures/[^)]+)\)", readme)
    assert len(images) == sum(bool(s.gallery) for s in SECTIONS) > 0
    for img in images:
        assert (ROOT / img).is_file() and (ROOT / img).stat().st_size > 10000, img
    for path in (ROOT / "docs" / "results").glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["all_hold"] and not doc["params"]["quick"], (
            path.name
        )  # full-size runs whose checks hold


def test_report_changes_are_not_producers():
    """Editing the report, the catalog or the docs tool does not make docs/ stale."""
    producers = {p.relative_to(ROOT).as_posix() for pat in docs.PRODUCERS for p in ROOT.glob(pat)}
    assert "companion/report.py" not in producers and "companion/catalog.py" not in producers
    assert "fa_core/theory.py" in producers and "companion/claims.py" in producers


def test_executed_notebooks_are_readable_without_running():
    """docs/notebooks holds every notebook, executed, with its figures and nothing machine-specific."""
    sources = sorted(p.stem for p in SOURCES)
    executed = sorted(p.stem for p in (ROOT / "docs" / "notebooks").glob("*.ipynb"))
    assert executed == sources
    for stem in executed:
        text = (ROOT / "docs" / "notebooks" / f"{stem}.ipynb").read_text()
        nb = json.loads(text)
        assert "image/png" in text and nb["metadata"]["kernelspec"]["name"] == "python3", stem
        assert str(ROOT) not in text and '"start_time"' not in text, stem
        params = nb["metadata"]["papermill"]["parameters"]
        assert params["build_dir"] == "../build" and not params.get("quick"), stem  # a full build


def test_readme_links_both_versions_of_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for source in SOURCES:
        assert (
            f"(notebooks/{source.name})" in readme
            and f"(docs/notebooks/{source.stem}.ipynb)" in readme
        ), source.stem
