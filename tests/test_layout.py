"""The layout contract: a numpy-only science package, tooling apart, public names only in notebooks."""

import ast
import os
import re
import subprocess
import sys

import pytest
from conftest import EXPLORER, ROOT, SOURCES

import fa_core as fa

PUBLIC_MODULES = {"theory", "linalg", "metrics", "network", "inputs", "rules_beyond", "start"}
# Functions a notebook may define: experiment drivers that call fa_core and the explorer's
# display callbacks, never closed forms.
NOTEBOOK_HELPERS = {
    "diagonal_target",
    "compare",
    "seeds_for",
    "every_step",
    "population_error",
    "run",
    "summary",
    "redraw",
    "show",
    "on_change",
    "closed_forms",
    "errors_ratio_overlap",
    "reading_directions",
    "run_each_lam",
    "feedback_draws",
}


def test_importing_fa_core_loads_no_plotting_or_notebook_tooling():
    code = (
        "import sys, fa_core; heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'papermill', 'nbformat', 'seaborn', 'companion', 'jupytext', 'tqdm')]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", out


def test_fa_core_never_imports_the_companion():
    for path in (ROOT / "fa_core").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [
            m for m in names if m.split(".")[0] in ("companion", "matplotlib", "seaborn")
        ], path.name


def test_public_api_is_small_and_resolves():
    assert 20 <= len(fa.__all__) <= 30
    for name in fa.__all__:
        assert getattr(fa, name) is not None


@pytest.mark.parametrize("source", [*SOURCES, EXPLORER], ids=[p.stem for p in [*SOURCES, EXPLORER]])
def test_notebooks_use_public_names_and_define_no_theory(source):
    text = source.read_text()
    assert not re.search(r"from fa_core\.\w+ import|import fa_core\.", text), (
        "import fa_core as fa and use its public API"
    )
    for attr, sub in re.findall(r"\bfa\.(\w+)(?:\.(\w+))?", text):
        if attr in PUBLIC_MODULES:
            assert sub and not sub.startswith("_") and hasattr(getattr(fa, attr), sub), (
                f"fa.{attr}.{sub}"
            )
        else:
            assert attr in fa.__all__ or attr == "DivergenceError", f"fa.{attr} is not public"
    tree = ast.parse(text)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert defined <= NOTEBOOK_HELPERS, (
        f"closed forms belong in fa_core.theory: {sorted(defined - NOTEBOOK_HELPERS)}"
    )


def test_every_notebook_has_one_parameters_cell_then_start():
    for source in SOURCES:
        text = source.read_text()
        assert text.count('# %% tags=["parameters"]') == 1, source.stem
        assert f'nb = start("{source.stem}", globals())' in text and text.rstrip().endswith(
            "nb.finish()"
        ), source.stem
        assert "params = dict(" not in text, (
            "parameters are recorded by companion.notebook.start, not by hand"
        )


def _make_dry_run(build, touched, *args):
    env = {**os.environ, "MAKEFLAGS": ""}
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", *args, f"BUILD={build}", "-W", touched, "executed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return out.count("companion.pipeline")


def test_editing_the_report_reruns_no_notebook(tmp_path):
    """make's prerequisites: the science and the notebook tooling, never the report, catalog or docs tool."""
    if not (ROOT / ".venv" / ".installed").is_file():
        pytest.skip("needs the .venv that make builds")
    build = tmp_path / "build"
    (build / "notebooks").mkdir(parents=True)
    for source in SOURCES:  # a finished build, newer than every source
        (build / "notebooks" / f"{source.stem}.ipynb").write_text("{}")
    for edited in ("companion/report.py", "companion/catalog.py", "companion/docs.py", "README.md"):
        assert _make_dry_run(build, edited) == 0, edited
    for edited in ("fa_core/theory.py", "companion/claims.py", "companion/figures.py"):
        assert _make_dry_run(build, edited) == len(SOURCES), edited
    assert _make_dry_run(build, "notebooks/separation.py") == 1
    assert _make_dry_run(build, "notebooks/quick/separation.yaml") == 0  # quick sizes: QUICK only
    assert _make_dry_run(build, "notebooks/quick/separation.yaml", "QUICK=1") == 1
