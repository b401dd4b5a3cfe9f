"""The code is formatted by ruff and passes its lint rules (configured in pyproject.toml)."""

import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["format", "lint"])
def test_ruff(command):
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
