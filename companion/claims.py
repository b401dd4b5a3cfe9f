"""Checked claims: each notebook ends by testing its claims on the numbers it
just computed, writing them to a results JSON, and failing loudly.

Not an algorithm module: this one does file I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import platform
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .atomic import written_whole

KINDS = ("law", "consistency", None)
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class ClaimFailed(AssertionError):
    """One or more claims did not hold on this run."""


@dataclass
class Claim:
    claim: str
    value: float
    op: str
    threshold: float
    holds: bool
    note: str = ""
    about: str = ""  # the catalog section (claim) this check is evidence for
    cell: int | None = (
        None  # execution count of the notebook cell that made the check (links in the report)
    )
    # "law": evidence for a sentence of a claim; "consistency": an implementation identity
    # (engines agree, a formula equals its iteration). None until every check is labelled.
    kind: str | None = None


def _plain(x):
    """JSON-safe plain Python values (NumPy scalars and arrays included)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


class Claims:
    """Collect claims as ``value <op> threshold`` and record whether each holds.

    Parameters
    ----------
    notebook : str
        Name of the notebook (used for the results file name).
    params : dict
        The notebook's parameters, stored beside the claims.
    """

    def __init__(self, notebook: str, params: dict):
        self.notebook = notebook
        self.params = dict(params)
        self.items: list[Claim] = []
        self.measured: dict = {}

    def check(
        self,
        claim: str,
        value: float,
        op: str,
        threshold: float,
        note: str = "",
        about: str = "",
        kind: str | None = None,
    ) -> bool:
        """Record ``value op threshold``; a non-finite value never holds.

        ``about`` names the catalog section (claim) the check supports; by
        default the section named after the notebook. ``kind`` is ``"law"``
        (evidence for a sentence of that claim: some breakage of the science
        must turn it ✗) or ``"consistency"`` (an implementation identity).
        """
        if op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}; got {op!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        value = float(value)
        holds = bool(math.isfinite(value) and _OPS[op](value, float(threshold)))
        self.items.append(
            Claim(
                claim,
                value,
                op,
                float(threshold),
                holds,
                note,
                about or self.notebook,
                _current_cell(),
                kind,
            )
        )
        return holds

    def record(self, **values) -> None:
        """Store measured numbers that are reported but not thresholded."""
        self.measured.update(values)

    def table(self) -> str:
        """A plain-text table of the claims, for the notebook's output."""
        rows = [
            f"{'✓' if c.holds else '✗'}  {c.claim}: {c.value:.4g} {c.op} {c.threshold:.4g}"
            for c in self.items
        ]
        return "\n".join(rows)

    def write(self, path: str | Path) -> Path:
        """Write the results JSON atomically."""
        path = Path(path)
        doc = {
            "notebook": self.notebook,
            "all_hold": all(c.holds for c in self.items),
            "claims": [asdict(c) for c in self.items],
            "measured": self.measured,
            "params": self.params,
            "environment": environment(),
            "provenance": provenance(self.notebook),
        }
        with written_whole(path) as tmp:
            tmp.write_text(
                json.dumps(_plain(doc), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
            )
        return path

    def assert_all(self) -> None:
        """Raise :class:`ClaimFailed` listing every claim that did not hold."""
        failed = [c for c in self.items if not c.holds]
        if failed:
            lines = "\n".join(
                f"  ✗ {c.claim}: {c.value:.4g} is not {c.op} {c.threshold:.4g}" for c in failed
            )
            raise ClaimFailed(f"{len(failed)} claim(s) of {self.notebook!r} failed:\n{lines}")


def _current_cell() -> int | None:
    """The execution count of the cell running now, inside a Jupyter kernel; None elsewhere."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return None if shell is None else int(shell.execution_count)


# What a notebook's results come from, by path relative to the repository root (globs): the science,
# the tooling the notebook runs with (the Makefile's CORE), the pinned versions, and, per notebook,
# its own source and quick sizes. "Current" results are those whose recorded digest equals the digest of these now.
SCIENCE = ("fa_core/*.py",)
TOOLING = (
    "companion/__init__.py",
    "companion/claims.py",
    "companion/data.py",
    "companion/data/digits.csv.gz",
    "companion/figures.py",
    "companion/atomic.py",
    "companion/notebook.py",
    "companion/pipeline.py",
)
LOCKS = ("requirements/lock.txt",)
# The tooling runs from a checkout of the repository (make installs it in editable mode).
ROOT = Path(__file__).resolve().parents[1]


def source_patterns(notebooks: Iterable[str]) -> tuple[str, ...]:
    """The globs of the files that produce ``notebooks``' results."""
    own = [f"notebooks/{name}.py" for name in notebooks]
    own += [f"notebooks/quick/{name}.yaml" for name in notebooks]
    return (*SCIENCE, *own, *TOOLING, *LOCKS)


def source_digest(notebooks: Iterable[str], root: Path = ROOT) -> str:
    """sha256 over the files that produce the results of ``notebooks``, by path and content.

    The one digest of the sources: each results JSON records it for its own
    notebook (:func:`provenance`), the report compares it with the files as
    they are now, and ``docs/SOURCE_DIGEST`` records it for every notebook.
    """
    root = Path(root)
    files = sorted({p for pattern in source_patterns(notebooks) for p in root.glob(pattern)})
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _git(root: Path, *args: str) -> str | None:
    """``git ARGS`` in ``root``: its output, or None outside a git checkout."""
    try:
        proc = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=root, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout


def provenance(notebook: str, root: Path = ROOT) -> dict:
    """Where a notebook's results come from: the commit, whether its sources differ from it, their digest.

    Returns
    -------
    dict
        ``commit`` (short hash, or None outside a git checkout), ``dirty``
        (True if a file of :func:`source_patterns` differs from that commit or is
        untracked; None outside a git checkout) and ``source_digest``
        (:func:`source_digest` of the notebook).
    """
    commit = _git(root, "rev-parse", "--short", "HEAD")
    status = _git(
        root, "status", "--porcelain", "--untracked-files=all", "--", *source_patterns([notebook])
    )
    return {
        "commit": commit.strip() if commit else None,
        "dirty": None if commit is None or status is None else bool(status.strip()),
        "source_digest": source_digest([notebook], root),
    }


def environment() -> dict:
    """The versions of Python and of the packages that compute and draw the results."""
    import matplotlib

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
    }


def output_paths(build_dir: str | Path, notebook: str) -> tuple[Path, Path]:
    """``(figure_dir, results_json)`` for a notebook under a build folder."""
    build = Path(build_dir)
    fig_dir = build / "figures" / notebook
    fig_dir.mkdir(parents=True, exist_ok=True)
    return fig_dir, build / "results" / f"{notebook}.json"
