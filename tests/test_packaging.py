"""The two-command setup, environment.yml and CI stay in sync with each other."""

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def test_environment_yml_is_generated_from_the_lock():
    """environment.yml pins every declared dependency to the lock's version (make environment writes it)."""
    from companion import environment

    assert (ROOT / "environment.yml").read_text() == environment.render(), (
        "run `make environment` and commit"
    )
    pip_side = set(environment.declared("dev"))
    assert {"numpy", "matplotlib", "papermill", "pytest"} <= pip_side
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pinned = dict(d.split("=", 1) for d in env["dependencies"] if isinstance(d, str) and "=" in d)
    assert set(pinned) - {"python"} == pip_side
    lock = environment.pins()
    assert all(lock[name] == version for name, version in pinned.items() if name != "python")
    assert [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"] == ["-e .[dev]"]
    assert ".[dev]" in (ROOT / "Makefile").read_text()


def test_python_floor_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert project["requires-python"] == ">=3.10"
    assert "python=3.11" in env["dependencies"]  # the lock's Python


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [
        line.strip()
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_readme_quickstart_is_exactly_the_two_commands():
    assert _quickstart_commands() == ["make", "make test"]


def test_ci_runs_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = _quickstart_commands()[1]
    assert re.search(rf"^\s*{re.escape(test_cmd)}\s*$", ci, re.M), (
        ".ci/run must call README's test command"
    )


def test_lock_file_pins_the_declared_dependencies():
    lock = (ROOT / "requirements" / "lock-py311.txt").read_text().lower()
    for name in (
        "numpy",
        "matplotlib",
        "seaborn",
        "papermill",
        "jupytext",
        "ipykernel",
        "pytest",
        "hypothesis",
    ):
        assert re.search(rf"^{name}==", lock, re.M), name
    assert "file://" not in lock


def test_generated_outputs_are_ignored():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "/build/" in ignored and "/.venv/" in ignored


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["fa_run"].rel_error.shape[0] == 20
    assert scope["fa"].fa_limit_error(scope["target"], scope["fa_run"].B).min() > scope[
        "fa"
    ].optimal_error(scope["target"], 5)
    assert len(scope["results"]) == 4
