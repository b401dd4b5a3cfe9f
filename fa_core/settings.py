"""The keywords every trainer shares, validated once: :func:`settings`.

A trainer (:func:`fa_core.train`, :func:`fa_core.train_network`,
:func:`fa_core.train_deep`) first turns ``rule``, ``steps``, ``eta``,
``record``, ``record_at`` and ``tol`` into a :class:`Settings`, so a bad
value is reported before anything is drawn or trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import positive_float, positive_int
from .metrics import RECORDERS
from .rules import Rule, get_rule


@dataclass(frozen=True)
class Settings:
    """The validated keywords every trainer shares."""

    rule: Rule
    steps: int
    eta: float
    names: tuple[str, ...]
    at: np.ndarray
    tol: float | None


def log_steps(steps: int, num: int = 120) -> np.ndarray:
    """0 and about ``num`` log-spaced integer steps up to ``steps`` (inclusive)."""
    steps = positive_int(steps, "steps")
    spaced = np.geomspace(1, steps, num).round().astype(np.int64)
    return np.unique(np.concatenate([[0], spaced, [steps]]))


def is_integral(given: np.ndarray) -> bool:
    """True if ``given`` holds integers: an integer dtype, or finite whole floats."""
    if np.issubdtype(given.dtype, np.integer):
        return True
    if not np.issubdtype(given.dtype, np.floating):
        return False
    return bool(np.all(np.isfinite(given)) and np.all(given == np.round(given)))


def record_steps(record_at, steps: int) -> np.ndarray:
    """The steps to record at: the given ones (sorted, unique) or :func:`log_steps`, and always ``steps``.

    The final step is always recorded, so a run trains for all ``steps`` and
    its divergence check sees the end, whatever ``record_at`` lists.
    """
    if record_at is None:
        return log_steps(steps)
    if isinstance(record_at, (str, bytes)):
        raise TypeError(f"record_at must be a sequence of integer steps; got {record_at!r}")
    given = np.asarray(record_at)
    if given.ndim != 1 or given.size == 0 or not is_integral(given):
        raise ValueError(
            f"record_at must be a non-empty 1-D sequence of integer steps in [0, steps={steps}]; "
            f"got {record_at!r}"
        )
    at = np.unique(np.append(given.astype(np.int64), steps))
    if at[0] < 0 or at[-1] > steps:
        raise ValueError(f"record_at must be steps in [0, steps={steps}]; got {record_at!r}")
    return at


def check_record(record) -> tuple[str, ...]:
    """``("error", *record)`` without repeats, every name a known recorder."""
    is_names = isinstance(record, (list, tuple)) and all(isinstance(n, str) for n in record)
    if not is_names:
        raise TypeError(f"record must be a list or tuple of metric names; got {record!r}")
    names = tuple(dict.fromkeys(("error", *record)))
    unknown = [n for n in names if n != "error" and n not in RECORDERS]
    if unknown:
        raise ValueError(f"record: unknown metric(s) {unknown}; valid: {['error', *RECORDERS]}")
    return names


def settings(rule, steps, eta, record, record_at, tol) -> Settings:
    """Validate the keywords every trainer shares.

    ``steps`` must be at least 1: a run of no steps is a start, which
    :func:`fa_core.starting_point` gives.
    """
    rule = get_rule(rule)
    steps = positive_int(steps, "steps")
    names = check_record(record)
    if "invariant_drift" in names and rule.invariant is None:
        raise ValueError(
            f"record: rule {rule.name!r} conserves nothing, "
            f"so 'invariant_drift' is meaningless for it"
        )
    eta = positive_float(eta, "eta")
    tol = None if tol is None else positive_float(tol, "tol")
    return Settings(rule, steps, eta, names, record_steps(record_at, steps), tol)
