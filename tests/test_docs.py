"""The README gallery shows figures made by the current code, and every one is there."""
import json
import re

from conftest import ROOT, load_script


def docs_tool():
    return load_script("tools/docs.py")


def test_docs_come_from_the_current_code():
    recorded = (ROOT / "docs" / "SOURCE_DIGEST").read_text().strip()
    assert recorded == docs_tool().source_digest(), (
        "docs/ was made by different code: run a full `make`, then `make docs`, and commit docs/")


def test_readme_gallery_images_exist_and_results_hold():
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\((docs/figures/[^)]+)\)", readme)
    assert len(images) == len(docs_tool().GALLERY)
    for img in images:
        assert (ROOT / img).is_file() and (ROOT / img).stat().st_size > 10000, img
    for path in (ROOT / "docs" / "results").glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["all_hold"] and not doc["params"]["quick"], path.name  # full-size runs whose checks hold
