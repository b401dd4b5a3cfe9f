"""The training loop every trainer shares, its settings, and its result :class:`Run`.

A trainer (:func:`fa_core.train`, :func:`fa_core.train_network`,
:func:`fa_core.train_deep`) validates its keywords with :func:`settings`, builds
the operator its rule runs on, and calls :func:`run_loop` (two layers) or
:func:`record_loop` (any state). Recording, divergence and early stopping
behave the same everywhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import metrics as _metrics
from ._checks import positive_float, positive_int
from .reduced import ReducedBasis
from .rules import Rule, get_rule
from .start import Start, as_seeds, first_feedback

ENGINES = ("reduced", "dense", "data")
# An error this many times its starting value (or ‖Y‖²_F) counts as divergence.
DIVERGENCE_FACTOR = 1e8


class DivergenceError(RuntimeError):
    """Training diverged: the error became non-finite or grew without bound."""

    def __init__(self, rule: str, eta: float, step: int, error: float, suggested_eta: float):
        self.rule, self.eta, self.step, self.error, self.suggested_eta = (
            rule,
            eta,
            step,
            error,
            suggested_eta,
        )
        super().__init__(
            f"rule {rule!r} diverged with eta={eta:g}: error {error:.3g} at step {step}. "
            f"Try eta <= {suggested_eta:.3g} (for ‖Y‖₂ = 1, eta in 0.05-0.1 is stable in our runs)."
        )


@dataclass(frozen=True, eq=False)
class Run:
    """The result of a trainer: recorded metrics, the start, and the final state.

    Attributes
    ----------
    rule : str
    eta : float
    seeds : tuple of int
    steps : ndarray, shape (T,)
        Recorded steps.
    metrics : dict of str to ndarray, shape (S, T)
        Every recorded metric (``"error"`` included); also ``run[name]``.
    sq_norm_Y : float or ndarray, shape (S,)
        ‖Y‖²_F (‖T‖²_F / N for a network, one per seed if each has its own
        data), to turn errors into relative errors.
    engine : {"reduced", "dense", "data"}
        The coordinates the rule ran in: exact reduced ones, the dense Y, or
        a network's samples.
    start : Start
        Z₀, W₀ and the feedback of every seed, in the original coordinates.
    """

    rule: str
    eta: float
    seeds: tuple[int, ...]
    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    sq_norm_Y: float | np.ndarray
    engine: str
    start: Start = field(repr=False)
    _layers: tuple = field(repr=False)
    _feedback: tuple = field(repr=False)
    _basis: ReducedBasis | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}; got {self.engine!r}")

    @property
    def error(self) -> np.ndarray:
        """‖Y − ZW‖²_F at the recorded steps, shape (S, T)."""
        return self.metrics["error"]

    @property
    def rel_error(self) -> np.ndarray:
        """‖Y − ZW‖²_F / ‖Y‖²_F, shape (S, T)."""
        return self.error / np.reshape(self.sq_norm_Y, (-1, 1))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.metrics[name]

    def split(self, parts: int) -> list[Run]:
        """This run as ``parts`` runs of equally many consecutive seeds.

        For configurations trained as one batch: stacked ``Z0``, ``W0``, ``B``,
        or one λ per seed (:func:`fa_core.with_weight_decay`). Seeds never
        interact, so each part is what training its seeds alone gives, bit for bit.
        """
        S = len(self.seeds)
        parts = positive_int(parts, "parts", high=S)
        if S % parts:
            raise ValueError(f"parts must divide the number of seeds ({S}); got {parts}")
        return [self._rows(slice(i * (S // parts), (i + 1) * (S // parts))) for i in range(parts)]

    def _rows(self, rows: slice) -> Run:
        take = lambda arrays: tuple(a[rows] for a in arrays)  # noqa: E731
        start = Start(
            self.start.seeds[rows],
            take(self.start.layers),
            take(self.start.feedback),
            self.start.direct,
        )
        return Run(
            self.rule,
            self.eta,
            self.seeds[rows],
            self.steps,
            {k: v[rows] for k, v in self.metrics.items()},
            self.sq_norm_Y if np.ndim(self.sq_norm_Y) == 0 else self.sq_norm_Y[rows],
            self.engine,
            start,
            take(self._layers),
            take(self._feedback),
            None if self._basis is None else self._basis.rows(rows),
        )

    @cached_property
    def layers(self) -> tuple[np.ndarray, ...]:
        """Final layers in the original coordinates: (Z, W), or Z₁ … Z_L for a deep run."""
        if self._basis is None:
            return tuple(self._layers)
        return self._basis.expand_left(self._layers[0]), self._basis.expand_right(self._layers[-1])

    @cached_property
    def feedback(self) -> tuple[np.ndarray, ...]:
        """Final feedback matrices, as in :attr:`Start.feedback` (they change under some rules)."""
        return tuple(
            self._feedback if self._basis is None else map(self._basis.expand_right, self._feedback)
        )

    @property
    def Z(self) -> np.ndarray:
        """Final first layer (the representation), shape (S, n, r)."""
        return self.layers[0]

    @property
    def W(self) -> np.ndarray:
        """Final last layer, shape (S, r, m)."""
        return self.layers[-1]

    @property
    def B(self) -> np.ndarray:
        """Final feedback reaching the first layer's output, shape (S, r, m); see :attr:`Start.B`."""
        return first_feedback(self.feedback, self.start.direct)


@dataclass(frozen=True)
class Settings:
    """The validated keywords every trainer shares."""

    rule: Rule
    steps: int
    eta: float
    seeds: tuple[int, ...]
    names: tuple[str, ...]
    at: np.ndarray
    tol: float | None


def log_steps(steps: int, num: int = 120) -> np.ndarray:
    """0 and about ``num`` log-spaced integer steps up to ``steps`` (inclusive)."""
    if positive_int(steps, "steps", low=0) == 0:
        return np.zeros(1, dtype=np.int64)
    return np.unique(
        np.concatenate([[0], np.geomspace(1, steps, num).round().astype(np.int64), [steps]])
    )


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
    if (
        given.ndim != 1
        or given.size == 0
        or not (
            np.issubdtype(given.dtype, np.integer)
            or (
                np.issubdtype(given.dtype, np.floating)
                and np.all(np.isfinite(given))
                and np.all(given == np.round(given))
            )
        )
    ):
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
    if (
        isinstance(record, str)
        or not isinstance(record, (list, tuple))
        or not all(isinstance(n, str) for n in record)
    ):
        raise TypeError(f"record must be a list or tuple of metric names; got {record!r}")
    names = tuple(dict.fromkeys(("error", *record)))
    unknown = [n for n in names if n != "error" and n not in _metrics.RECORDERS]
    if unknown:
        raise ValueError(
            f"record: unknown metric(s) {unknown}; valid: {['error', *_metrics.RECORDERS]}"
        )
    return names


def settings(rule, steps, eta, seeds, record, record_at, tol) -> Settings:
    """Validate the keywords every trainer shares."""
    rule_ = get_rule(rule)
    steps = positive_int(steps, "steps", low=0)
    names = check_record(record)
    if "invariant_drift" in names and rule_.invariant is None:
        raise ValueError(
            f"record: rule {rule_.name!r} conserves nothing, so 'invariant_drift' is meaningless for it"
        )
    return Settings(
        rule_,
        steps,
        positive_float(eta, "eta"),
        as_seeds(seeds),
        names,
        record_steps(record_at, steps),
        None if tol is None else positive_float(tol, "tol"),
    )


class ScaleWarning(UserWarning):
    """The random start is larger than the target, so the run measures the start, not the target."""


def check_start_scale(init_scale: float, scale: float) -> None:
    """Warn when the drawn start's product ZW (about init_scale²) exceeds ‖Y‖₂ = ``scale``.

    Then the first steps fit the start away rather than the target; under FA
    the start also leaves a conserved offset C₀ that can make the error grow.
    """
    if init_scale**2 > scale:
        warnings.warn(
            f"init_scale={init_scale:g} is large for this target (‖Y‖₂ = {scale:.3g}): the start's "
            f"product ZW is about init_scale² = {init_scale**2:.3g}. Use init_scale <= "
            f"{0.1 * np.sqrt(scale):.3g} (0.1·√‖Y‖₂), or scale Y up.",
            ScaleWarning,
            stacklevel=4,
        )


def run_loop(
    Y,
    state,
    rule: Rule,
    eta: float,
    *,
    steps: int,
    names: Sequence[str],
    at: np.ndarray,
    sq_norm: float | np.ndarray,
    scale: float,
    tol: float | None = None,
    progress: bool = False,
    update_op=None,
    eta_at=None,
):
    """Advance ``state = (Z, W, B)`` for ``steps`` steps, recording metrics at ``at``.

    ``Y`` is the operator the metrics (and, by default, the updates) use.
    ``update_op(step)`` may supply a different operator for each update
    (minibatches), and ``eta_at(step)`` a step-size schedule. ``scale``
    (≈ ‖Y‖₂) sets the suggested η when training diverges.

    Returns
    -------
    metrics : dict of str to ndarray (S, T'), at : ndarray (T',), state
        T' < T when ``tol`` stopped the run early.
    """
    out = {name: np.empty((state[0].shape[0], at.size)) for name in names}
    C0 = rule.invariant(*state) if rule.invariant is not None else None

    def measure(state, j):
        s = _metrics.State(Y, *state, rule, C0)
        out["error"][:, j] = err = Y.sq_error(s.Z, s.W)
        for name in names[1:]:
            out[name][:, j] = _metrics.RECORDERS[name](s)
        return err

    def advance(state, step):
        op = Y if update_op is None else update_op(step)
        return rule.step(op, *state, eta if eta_at is None else eta_at(step))

    state, j = record_loop(
        state,
        advance,
        measure,
        steps=steps,
        at=at,
        sq_norm=sq_norm,
        scale=scale,
        rule_name=rule.name,
        eta=eta,
        tol=tol,
        progress=progress,
    )
    return {name: values[:, :j] for name, values in out.items()}, at[:j], state


def record_loop(
    state,
    advance: Callable,
    measure: Callable,
    *,
    steps: int,
    at: np.ndarray,
    sq_norm: float | np.ndarray,
    scale: float,
    rule_name: str,
    eta: float,
    tol: float | None = None,
    progress: bool = False,
):
    """The training loop every trainer shares: advance, record, stop.

    ``advance(state, step)`` returns the next state; at each step in ``at``,
    ``measure(state, j)`` records column j and returns the per-seed squared
    error, which is checked for divergence (non-finite, or more than
    ``DIVERGENCE_FACTOR`` times its start or ‖Y‖²) and, with ``tol``, for early
    stopping once every seed is below ``tol · sq_norm``.

    Returns
    -------
    state, j : the final state and the number of recorded columns.
    """
    limit = DIVERGENCE_FACTOR * np.max(sq_norm)
    bar = _progress(steps, progress, rule_name, eta)
    j = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps + 1):
            if step == at[j]:
                err = measure(state, j)
                if j == 0:
                    limit = DIVERGENCE_FACTOR * max(float(np.max(sq_norm)), float(np.max(err)))
                _check_divergence(err, limit, rule_name, eta, step, scale)
                j += 1
                if j == at.size or (tol is not None and np.all(err < tol * sq_norm)):
                    break
            state = advance(state, step)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return state, j


def _check_divergence(
    err: np.ndarray, limit: float, rule: str, eta: float, step: int, scale: float
) -> None:
    bad = ~np.isfinite(err) | (err > limit)
    if np.any(bad):
        worst = float(err[bad][0])
        raise DivergenceError(rule, eta, step, worst, min(eta / 4, 0.1 / scale))


def _progress(steps: int, show: bool, rule: str, eta: float):
    if not show:
        return None
    from tqdm import tqdm  # optional, only for interactive runs; honours TQDM_DISABLE

    return tqdm(total=steps, unit="step", mininterval=0.5, desc=f"{rule} η={eta:g}")
