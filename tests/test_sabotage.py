"""Checks proven able to fail: every claim catches every breakage relevant to it."""

import json

import pytest
from conftest import ROOT, once_per_run

from companion import sabotage


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, worker_id):
    """The sabotage matrix, computed once per test run (shared by pytest-xdist's workers)."""
    with once_per_run(tmp_path_factory, worker_id, "sabotage") as (folder, produce):
        if produce:
            (folder / "matrix.json").write_text(json.dumps(sabotage.run()))
        return json.loads((folder / "matrix.json").read_text())


@pytest.mark.notebook
def test_every_breakage_is_caught_by_every_relevant_claim(matrix):
    assert set(matrix) == set(sabotage.BREAKAGES)
    missed = [
        (b, c)
        for b, row in matrix.items()
        for c, cell in row["claims"].items()
        if not cell["caught"]
    ]
    assert not missed, missed
    crashed = [
        (b, c) for b, row in matrix.items() for c, cell in row["claims"].items() if cell["crashed"]
    ]
    assert not crashed, f"a breakage should turn checks ✗, not crash the notebook: {crashed}"


@pytest.mark.notebook
def test_the_committed_matrix_is_current(matrix):
    """docs/sabotage.json (shown in the report) records what this run found: `make sabotage` refreshes it."""
    committed = json.loads((ROOT / "docs" / "sabotage.json").read_text())
    assert committed == matrix, "docs/sabotage.json is stale: run `make sabotage` and commit it"


def test_a_crashing_notebook_is_reported_with_its_error(monkeypatch, tmp_path):
    monkeypatch.setitem(
        sabotage.BREAKAGES,
        "no_deep_trainer",
        ("train_deep removed", ("beyond_depth",), "fa_core.train_deep = None"),
    )
    (outcome,) = sabotage.run_breakage("no_deep_trainer", ["beyond_depth"], tmp_path)
    assert (
        outcome["notebook"] == "beyond_depth" and not outcome["finished"] and not outcome["checks"]
    )
    assert "TypeError" in outcome["error"] and "NoneType" in outcome["error"]
