"""The README gallery shows figures made by the current code, from the one catalog of claims."""

import json
import re
import subprocess
import sys

from conftest import ROOT, SOURCES, build_files

from companion import claims, docs
from companion.catalog import SECTIONS, notebooks


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
    """Editing the report, the catalog or the docs tool does not make docs/ or any results stale."""
    producers = {
        p.relative_to(ROOT).as_posix()
        for pattern in claims.source_patterns(notebooks())
        for p in ROOT.glob(pattern)
    }
    for tool in ("report", "catalog", "docs"):
        assert f"companion/{tool}.py" not in producers
    assert "fa_core/theory.py" in producers and "companion/claims.py" in producers
    assert "notebooks/explore.py" not in producers


def test_the_digest_covers_what_make_rebuilds_a_notebook_for():
    """The science and tooling in the digest are the Makefile's CORE, on which every notebook depends."""
    proc = subprocess.run(
        ["make", "--no-print-directory", "--eval", "print-core: ; @echo $(CORE)", "print-core"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    core = set(proc.stdout.split())
    digested = {
        p.relative_to(ROOT).as_posix()
        for pattern in (*claims.SCIENCE, *claims.TOOLING)
        for p in ROOT.glob(pattern)
    }
    assert digested == core


def test_docs_help_prints_help_and_changes_nothing():
    before = build_files(ROOT / "docs"), (ROOT / "README.md").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "companion.docs", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "usage:" in proc.stdout and "--build" in proc.stdout
    assert (build_files(ROOT / "docs"), (ROOT / "README.md").read_bytes()) == before


def test_docs_refuses_a_build_that_is_not_current(tmp_path, capsys):
    before = build_files(ROOT / "docs")
    assert docs.main(["--build", str(tmp_path)]) == 1
    assert "did not finish" in capsys.readouterr().err
    assert build_files(ROOT / "docs") == before


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
