"""The explorer: its computation for a grid of widget values, and the notebook itself, executed."""

import json
import sys

import numpy as np
import pytest
from conftest import EXPLORER, run_pipeline

from companion import explorer
from companion.notebook import quick_parameters

SMALL = dict(n=30, m=20, seeds=4, steps=4000, eta=0.1)


@pytest.mark.parametrize("rule", explorer.RULE_NAMES)
@pytest.mark.parametrize("k, r", [(6, 3), (4, 6)])
def test_every_rule_gives_finite_curves(rule, k, r):
    res = explorer.explore(rule, k=k, r=r, spectrum_name="1/i", **SMALL)
    for name, err in res.rel_error.items():
        assert np.all(np.isfinite(err)) and err.shape == (4, res.steps.size), name
    if res.message.startswith(f"rule {rule!r} diverged"):
        assert rule == "drtp"  # linear DRTP diverges at a constant step, by design
        return
    assert np.all(np.isfinite(res.cos_WB)) and np.all(
        (res.angles_deg >= 0) & (res.angles_deg <= 90.000001)
    )
    explorer.draw(res)


def test_a_redraw_for_another_rule_reuses_the_target_and_gds_run(monkeypatch):
    explorer.baseline.cache_clear()
    trained, real = [], explorer.fa.train
    monkeypatch.setattr(
        explorer.fa, "train", lambda *a, **kw: trained.append(a[2]) or real(*a, **kw)
    )
    first = explorer.explore("fa", k=6, r=3, **SMALL)
    second = explorer.explore("fa_star", k=6, r=3, **SMALL)
    assert trained.count("gd") == 1 and len(trained) == 3
    assert np.array_equal(first.rel_error["gd"], second.rel_error["gd"])
    explorer.explore("fa", k=6, r=3, **{**SMALL, "eta": 0.05})  # other widget values: GD runs anew
    assert trained.count("gd") == 2


@pytest.mark.parametrize("spectrum_name", list(explorer.SPECTRA))
@pytest.mark.parametrize("rule", ["fa", "fa_star", "dfa"])
def test_curves_end_at_the_closed_form_limits(spectrum_name, rule):
    """From zero, FA-type rules stop at ‖(I − P)Y‖²; GD stops at the optimum (r < k) or at zero (r ≥ k)."""
    for k, r in ((6, 3), (3, 5)):
        res = explorer.explore(
            rule, k=k, r=r, spectrum_name=spectrum_name, init_scale=0.0, **{**SMALL, "steps": 20000}
        )
        fa_end, gd_end = res.rel_error[rule][:, -1], res.rel_error["gd"][:, -1]
        assert np.max(np.abs(fa_end - res.fa_limit)) <= 1e-8 * max(res.fa_limit.max(), 1.0), (k, r)
        assert np.max(np.abs(gd_end - res.opt)) <= 1e-8, (k, r)


@pytest.mark.notebook
def test_the_explorer_notebook_executes_quick_through_the_pipeline(tmp_path):
    """As `make run NB=explore QUICK=1` runs it: its quick sizes and the values set win."""
    out = tmp_path / "notebooks" / "explore.ipynb"
    proc = run_pipeline(
        EXPLORER, "--quick", "--build-dir", tmp_path, "--params", 'spectrum_name="flat" k=4'
    )
    assert proc.returncode == 0, proc.stderr
    nb = json.loads(out.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    # the first figure is drawn into the output widget, whose state the notebook keeps
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    drawn = [
        o
        for w in state.values()
        if w["model_name"] == "OutputModel"
        for o in w["state"]["outputs"]
        if "image/png" in o.get("data", {})
    ]
    assert len(drawn) == 1
    assert not [o for o in outputs if "image/png" in o.get("data", {})], (
        "a figure outside the widget"
    )
    injected = next(c for c in nb["cells"] if c["id"] == "injected-parameters")
    assert "".join(injected["source"]).split("\n")[1:] == [
        "steps = 300",
        "seeds = 2",
        "quick = True",
        'spectrum_name = "flat"',
        "k = 4",
        "",
    ]


@pytest.fixture
def shell(monkeypatch):
    """An IPython shell for one test; the tests that run after it in this process see none."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats
    from traitlets.config import Config

    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])  # the shell replaces it
    config = Config()
    config.HistoryManager.enabled = False  # no history thread left running
    shell = InteractiveShell.instance(config=config)
    select_figure_formats(shell, {"png"})  # as the inline backend does in a kernel
    yield shell
    InteractiveShell.clear_instance()  # get_ipython() is None again


def test_each_move_of_a_control_replaces_the_figure_and_shows_what_went_wrong(shell, monkeypatch):
    """As in JupyterLab (a shell, no nbclient): one output at a time, and no figure left open."""
    import jupytext
    import matplotlib.pyplot as plt

    plt.close("all")  # figures of other tests in this process; the explorer's kernel has none
    quick = "".join(f"\n{k} = {v!r}" for k, v in quick_parameters(EXPLORER).items())
    for cell in jupytext.read(EXPLORER).cells:
        if cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            assert shell.run_cell(cell.source + (quick if "parameters" in tags else "")).success
    figure, controls = shell.user_ns["figure"], shell.user_ns["controls"]

    def shown():
        (output,) = figure.outputs
        return output.get("name") or "image/png" in output["data"] and "figure"

    assert shown() == "figure"
    controls["k"].value = controls["n"].max  # more than min(n, m)
    assert shown() == "stdout" and "need k and r at most" in figure.outputs[0]["text"]
    controls["k"].value = 4
    assert shown() == "figure" and plt.get_fignums() == []
    monkeypatch.setattr(explorer, "draw", lambda result: plt.figure() and 1 / 0)  # fails mid-draw
    controls["r"].value = 2
    assert shown() == "stderr" and "ZeroDivisionError" in figure.outputs[0]["text"]
    assert plt.get_fignums() == []
