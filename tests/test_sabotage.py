"""Checks proven able to fail: every claim catches every breakage relevant to it."""
import json

import pytest
from conftest import ROOT

from companion import sabotage


@pytest.fixture(scope="module")
def matrix():
    return sabotage.run()


@pytest.mark.notebook
def test_every_breakage_is_caught_by_every_relevant_claim(matrix):
    assert set(matrix) == set(sabotage.BREAKAGES)
    missed = [(b, c) for b, row in matrix.items() for c, cell in row["claims"].items() if not cell["caught"]]
    assert not missed, missed
    crashed = [(b, c) for b, row in matrix.items() for c, cell in row["claims"].items() if cell["crashed"]]
    assert not crashed, f"a breakage should turn checks ✗, not crash the notebook: {crashed}"


@pytest.mark.notebook
def test_the_committed_matrix_is_current(matrix):
    """docs/sabotage.json (shown in the report) records what this run found: `make sabotage` refreshes it."""
    committed = json.loads((ROOT / "docs" / "sabotage.json").read_text())
    assert committed == matrix, "docs/sabotage.json is stale: run `make sabotage` and commit it"
