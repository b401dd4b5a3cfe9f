"""Checks proven able to fail: every law check turns ✗ under a breakage of the law it tests."""

import json

import pytest
from conftest import ROOT, once_per_run

import fa_core
from companion import sabotage

MATRIX = ROOT / "docs" / "sabotage.json"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, worker_id):
    """The sabotage matrix, computed once per test run (shared by pytest-xdist's workers)."""
    with once_per_run(tmp_path_factory, worker_id, "sabotage") as (folder, produce):
        if produce:
            (folder / "matrix.json").write_text(json.dumps(sabotage.run()))
        return json.loads((folder / "matrix.json").read_text())


@pytest.mark.notebook
def test_every_law_check_is_caught_by_a_breakage(matrix):
    assert set(matrix["breakages"]) == set(sabotage.BREAKAGES)
    assert not sabotage.uncaught_laws(matrix)
    assert "crashed" not in matrix, (
        f"a breakage should turn checks ✗, not crash the notebook: {matrix['crashed']}"
    )
    assert "unbroken_failures" not in matrix, matrix["unbroken_failures"]


@pytest.mark.notebook
def test_the_committed_matrix_is_current(matrix):
    """docs/sabotage.json (shown in the report) records what this run found: `make sabotage` refreshes it."""
    committed = json.loads(MATRIX.read_text())
    assert committed == matrix, "docs/sabotage.json is stale: run `make sabotage` and commit it"


def test_the_committed_matrix_has_its_shape_and_catches_every_law():
    committed = json.loads(MATRIX.read_text())
    assert set(committed) == {"breakages", "checks"}
    assert all(
        set(c) == {"notebook", "check", "kind", "caught_by"} and c["kind"] in ("law", "consistency")
        for c in committed["checks"]
    )
    assert all(b in committed["breakages"] for c in committed["checks"] for b in c["caught_by"])
    assert not sabotage.uncaught_laws(committed)


def test_every_check_in_the_results_is_in_the_matrix():
    """Each check of docs/results, with its kind, has a row: the quick and full runs check the same things."""
    rows = {
        (c["notebook"], c["check"]): c["kind"] for c in json.loads(MATRIX.read_text())["checks"]
    }
    missing = [
        (path.stem, c["claim"], c["kind"])
        for path in sorted((ROOT / "docs" / "results").glob("*.json"))
        for c in json.loads(path.read_text())["claims"]
        if (path.stem, c["claim"]) not in rows or rows[path.stem, c["claim"]] != c["kind"]
    ]
    assert not missing, missing


def test_the_network_separation_is_caught_when_fa_is_gd():
    rows = json.loads(MATRIX.read_text())["checks"]
    separation = [
        c
        for c in rows
        if c["notebook"] == "linear_network" and c["check"].startswith("the separation survives")
    ]
    assert separation and all("fa_is_gd" in c["caught_by"] for c in separation)


def _science_state() -> dict:
    """What the breakages may touch: every rule, and each fa_core module's attributes."""
    modules = [fa_core, *(m for name, m in vars(fa_core).items() if type(m) is type(fa_core))]
    modules += [fa_core.start, fa_core.deep, fa_core.rules, fa_core.rules_beyond]
    return {
        "rules": dict(fa_core.RULES),
        **{m.__name__: dict(vars(m)) for m in modules},
    }


@pytest.mark.parametrize("name", sorted(sabotage.BREAKAGES))
def test_a_breakage_changes_the_science_and_undoes_itself(name):
    before = _science_state()
    with sabotage.BREAKAGES[name].patch():
        during = _science_state()
    assert during != before, f"{name} patches nothing"
    assert _science_state() == before, f"{name} leaves fa_core patched"


def test_fa_is_gd_makes_fa_train_like_gd():
    Y = fa_core.make_target(fa_core.low_rank_spectrum(3), 12, 10, rng=0)
    fa_run = fa_core.train(Y, 3, "fa", steps=50, eta=0.1, seeds=2, init_scale=0.1)
    with sabotage.BREAKAGES["fa_is_gd"].patch():
        broken = fa_core.train(Y, 3, "fa", steps=50, eta=0.1, seeds=2, init_scale=0.1)
    gd_run = fa_core.train(Y, 3, "gd", steps=50, eta=0.1, seeds=2, init_scale=0.1)
    assert abs(broken.error - gd_run.error).max() < 1e-12 < abs(fa_run.error - gd_run.error).max()


def test_a_crashing_notebook_is_reported_with_its_error(tmp_path):
    (outcome,) = sabotage.run_worker(None, ["no_such_notebook"], tmp_path)
    assert not outcome["finished"] and not outcome["checks"]
    assert "no_such_notebook" in outcome["error"]


def test_unknown_breakages_are_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match="fa_is_gd"):
        sabotage.run(["no_such_breakage"])
