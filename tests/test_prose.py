"""The prose quotes the results: no measured number is typed by hand.

Each catalog text is a template filled from its notebook's ``measured`` block
(:meth:`companion.catalog.Section.text_for`); README's gallery is written from
it by ``make docs``. These tests fail when the README and the committed results
disagree, and when a template types a measured number itself.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from companion.catalog import SECTIONS

RESULTS = ROOT / "docs" / "results"
# Numbers that read like measurements: a percentage, a factor "18×", or a decimal. The one
# decimal that is a name, not a measurement, is the data licence's version (CC BY 4.0).
MEASURED_LOOKING = re.compile(r"\d+(?:\.\d+)?\s*[%×]|\d\.\d+")
NAMES = ("CC BY 4.0",)


def prose_disagreements(readme: str, results: Path) -> list[str]:
    """The gallery sections whose text, filled from ``results``, is not what ``readme`` says."""
    wrong = []
    for s in SECTIONS:
        if s.gallery:
            measured = json.loads((results / f"{s.notebook}.json").read_text())["measured"]
            if s.text_for(measured) not in readme:
                wrong.append(s.anchor)
    return wrong


def test_readme_quotes_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    assert not prose_disagreements(readme, RESULTS), "README is stale: run `make docs`"


@pytest.mark.parametrize(
    "notebook, path, factor",
    [
        ("separation", ("default_spectrum", "median_ratio"), 1.5),
        ("orthogonal", ("gd_relative_error_min_largest_k",), 0.5),
        ("linear_network", ("finite_sample_slopes", "gd"), 0.5),
        ("beyond_real_data", ("input_condition_number",), 10.0),
    ],
)
def test_a_perturbed_result_disagrees_with_the_prose(tmp_path, notebook, path, factor):
    """The same README against a copy of the results with one measured number changed."""
    readme = "\n".join(
        s.text_for(json.loads((RESULTS / f"{s.notebook}.json").read_text())["measured"])
        for s in SECTIONS
    )  # prose that agrees with the committed results, whatever README's state
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    doc = json.loads((results / f"{notebook}.json").read_text())
    parent = doc["measured"]
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] *= factor
    (results / f"{notebook}.json").write_text(json.dumps(doc))
    assert not prose_disagreements(readme, RESULTS)
    assert prose_disagreements(readme, results) == [
        s.anchor for s in SECTIONS if s.gallery and s.notebook == notebook
    ]


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.anchor)
def test_no_template_types_a_measured_number(section):
    text = section.text
    for name in NAMES:
        text = text.replace(name, "")
    assert not MEASURED_LOOKING.findall(text), (
        f"{section.anchor}: fill measured numbers from the results with `numbers`, not by hand"
    )
