"""The training engine: batches seeds, runs a rule, records metrics.

Rules (:mod:`fa_core.rules`) know nothing about seeds, recording or
coordinates; this module draws the starting points, picks the dense or the
exact reduced coordinates, advances all seeds together as stacked arrays,
and records metrics at (by default) log-spaced steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Sequence

import numpy as np

from . import metrics as _metrics
from ._checks import as_finite_array, check_shape, positive_float, positive_int
from .operators import DenseY, ReducedY
from .reduced import ReducedBasis, compress
from .rules import Rule, get_rule
from .theory import as_target

STREAMS = ("target", "init", "feedback")
ENGINES = ("auto", "reduced", "dense")
# An error this many times its starting value (or ‖Y‖²_F) counts as divergence.
DIVERGENCE_FACTOR = 1e8


class DivergenceError(RuntimeError):
    """Training diverged: the error became non-finite or grew without bound."""

    def __init__(self, rule: str, eta: float, step: int, error: float, suggested_eta: float):
        self.rule, self.eta, self.step, self.error, self.suggested_eta = rule, eta, step, error, suggested_eta
        super().__init__(
            f"rule {rule!r} diverged with eta={eta:g}: error {error:.3g} at step {step}. "
            f"Try eta <= {suggested_eta:.3g} (for ‖Y‖₂ = 1, eta in 0.05-0.1 is stable in our runs)."
        )


def streams(seed: int, names: Sequence[str] = STREAMS) -> dict[str, np.random.Generator]:
    """Independent generators per purpose, spawned from ``SeedSequence(seed)``.

    The i-th name always gets the i-th child, so ``"target"``, ``"init"`` and
    ``"feedback"`` draw the same numbers whatever other names are added after.
    """
    children = np.random.SeedSequence(positive_int(seed, "seed", low=0)).spawn(len(names))
    return {name: np.random.default_rng(ss) for name, ss in zip(names, children)}


def as_seeds(seeds) -> tuple[int, ...]:
    """An int n means range(n); a sequence of non-negative ints is taken as is."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return tuple(range(positive_int(seeds, "seeds")))
    try:
        out = tuple(positive_int(s, "each seed", low=0) for s in seeds)
    except TypeError:
        raise ValueError(f"seeds must be an int or a sequence of non-negative ints; got {seeds!r}") from None
    if not out:
        raise ValueError("seeds must not be empty")
    return out


def log_steps(steps: int, num: int = 120) -> np.ndarray:
    """0 and about ``num`` log-spaced integer steps up to ``steps`` (inclusive)."""
    steps = positive_int(steps, "steps", low=0)
    if steps == 0:
        return np.zeros(1, dtype=np.int64)
    return np.unique(np.concatenate([[0], np.geomspace(1, steps, num).round().astype(np.int64), [steps]]))


def feedback_matrix(rng: np.random.Generator, r: int, m: int, scale: float = 1.0) -> np.ndarray:
    """B with i.i.d. N(0, scale²/m) entries, so each row has norm ≈ scale."""
    return scale / np.sqrt(m) * rng.standard_normal((r, m))


def correlated_feedback(W0: np.ndarray, G: np.ndarray, rho: float) -> np.ndarray:
    """ρ-correlated feedback B = ρ W₀ + √(1 − ρ²) G (Bordelon & Pehlevan 2022).

    ``W0`` and ``G`` should have the same scale (e.g. init_scale = feedback_scale);
    ρ = 0 is plain FA with feedback G, ρ = 1 feeds back the initial forward weights.
    """
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating)) or not 0 <= rho <= 1:
        raise ValueError(f"rho must be a number in [0, 1]; got {rho!r}")
    W0, G = np.asarray(W0, dtype=float), np.asarray(G, dtype=float)
    if W0.shape != G.shape:
        raise ValueError(f"W0 and G must have the same shape; got {W0.shape} and {G.shape}")
    return rho * W0 + np.sqrt(1.0 - rho**2) * G


def initial_factors(rng: np.random.Generator, n: int, m: int, r: int, scale: float):
    """Z₀ (n×r) with N(0, scale²/n) and W₀ (r×m) with N(0, scale²/m) entries.

    ``scale`` is the typical norm of one unit's weight vector; 0 gives zeros.
    """
    Z = scale / np.sqrt(n) * rng.standard_normal((n, r))
    W = scale / np.sqrt(m) * rng.standard_normal((r, m))
    return Z, W


@dataclass(frozen=True, eq=False)
class Run:
    """The result of :func:`train`.

    Attributes
    ----------
    rule : str
    eta : float
    seeds : tuple of int
    steps : ndarray, shape (T,)
        Recorded steps.
    error : ndarray, shape (S, T)
        ‖Y - ZW‖²_F at the recorded steps.
    metrics : dict of str to ndarray, shape (S, T)
        Every recorded metric (``"error"`` included).
    sq_norm_Y : float
        ‖Y‖²_F, to turn errors into relative errors.
    engine : str
        ``"dense"`` or ``"reduced"``.
    Z, W, B : ndarray
        Final factors and feedback in the original coordinates, shapes
        (S, n, r), (S, r, m), (S, r, m); rebuilt from reduced coordinates
        on first access.
    """

    rule: str
    eta: float
    seeds: tuple[int, ...]
    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    sq_norm_Y: float
    engine: str
    _final: tuple = field(repr=False)
    _basis: ReducedBasis | None = field(repr=False)

    @property
    def error(self) -> np.ndarray:
        return self.metrics["error"]

    @property
    def rel_error(self) -> np.ndarray:
        """‖Y - ZW‖²_F / ‖Y‖²_F, shape (S, T)."""
        return self.error / self.sq_norm_Y

    def __getitem__(self, name: str) -> np.ndarray:
        return self.metrics[name]

    def _expand(self, i: int, left: bool) -> np.ndarray:
        A = self._final[i]
        if self._basis is None:
            return A
        return self._basis.expand_left(A) if left else self._basis.expand_right(A)

    @cached_property
    def Z(self) -> np.ndarray:
        return self._expand(0, left=True)

    @cached_property
    def W(self) -> np.ndarray:
        return self._expand(1, left=False)

    @cached_property
    def B(self) -> np.ndarray:
        return self._expand(2, left=False)


def _batch(x, name: str, shape: tuple[int, int], S: int) -> np.ndarray:
    """Validate a user-given (r, m)/(S, r, m) matrix and broadcast to (S, ...)."""
    a = as_finite_array(x, name, ndim=(2, 3))
    check_shape(a, name, shape)
    if a.ndim == 3 and a.shape[0] != S:
        raise ValueError(f"{name} has {a.shape[0]} stacked matrices but there are {S} seeds")
    return np.array(np.broadcast_to(a, (S, *shape)))


def starting_point(n: int, m: int, r: int, seeds, init_scale, feedback_scale, B=None, Z0=None, W0=None):
    """Stacked Z₀ (S, n, r), W₀ and B (S, r, m) for every seed, each from its own streams.

    Explicit ``B``, ``Z0`` or ``W0`` (one matrix, or one per seed) replace the draws.
    """
    Zs, Ws, Bs = [], [], []
    for seed in seeds:
        g = streams(seed)
        Z, W = initial_factors(g["init"], n, m, r, init_scale)
        Zs.append(Z)
        Ws.append(W)
        Bs.append(feedback_matrix(g["feedback"], r, m, feedback_scale))
    S = len(seeds)
    Z = np.stack(Zs) if Z0 is None else _batch(Z0, "Z0", (n, r), S)
    W = np.stack(Ws) if W0 is None else _batch(W0, "W0", (r, m), S)
    B = np.stack(Bs) if B is None else _batch(B, "B", (r, m), S)
    return Z, W, B


def _choose_engine(engine: str, rule: Rule) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    if engine == "reduced" and not rule.equivariant:
        raise ValueError(f"engine='reduced' needs an orthogonally equivariant rule; {rule.name!r} is not")
    if engine == "auto":
        return "reduced" if rule.equivariant else "dense"
    return engine


def _record_steps(record_at, steps: int) -> np.ndarray:
    if record_at is None:
        return log_steps(steps)
    at = np.unique(np.asarray(record_at, dtype=np.int64))
    if at.size == 0 or at[0] < 0 or at[-1] > steps:
        raise ValueError(f"record_at must be non-empty steps in [0, steps={steps}]")
    return at


def _check_record(record) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(("error", *record)))
    unknown = [n for n in names if n != "error" and n not in _metrics.RECORDERS]
    if unknown:
        raise ValueError(f"record: unknown metric(s) {unknown}; valid: {['error', *_metrics.RECORDERS]}")
    return names


def setup(n, m, r, rule, steps, eta, seeds, init_scale, B, feedback_scale, Z0, W0, record, record_at, tol):
    """Validate the arguments shared by every trainer and draw the starting point.

    Returns ``(rule, seeds, metric names, record steps, tol, (Z₀, W₀, B))``.
    """
    rule_ = get_rule(rule)
    r = positive_int(r, "r", high=min(n, m))
    steps = positive_int(steps, "steps", low=0)
    positive_float(eta, "eta")
    seeds_ = as_seeds(seeds)
    names = _check_record(record)
    at = _record_steps(record_at, steps)
    if tol is not None:
        tol = positive_float(tol, "tol")
    state = starting_point(n, m, r, seeds_, positive_float(init_scale, "init_scale", allow_zero=True),
                           positive_float(feedback_scale, "feedback_scale"), B, Z0, W0)
    return rule_, seeds_, names, at, tol, state


def train(
    target_or_Y,
    r: int,
    rule: str | Rule = "fa",
    *,
    steps: int,
    eta: float,
    seeds: int | Sequence[int] = 1,
    init_scale: float = 1e-2,
    B=None,
    feedback_scale: float = 1.0,
    Z0=None,
    W0=None,
    record: Sequence[str] = ("error",),
    record_at=None,
    engine: str = "auto",
    tol: float | None = None,
    progress: bool = False,
) -> Run:
    """Train Y ≈ Z W with one rule, for a batch of seeds at once.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
        The target. A :class:`Target` built from factors never needs dense Y
        on the reduced engine.
    r : int
        Inner dimension (hidden units), ``1 <= r <= min(n, m)``.
    rule : {"gd", "fa", "fa_star"} or Rule
        ``"fa_star"`` is this companion's FA* (see :func:`fa_core.rules.fa_star_step`).
    steps : int
        Number of updates, >= 0.
    eta : float
        Step size, > 0. For ‖Y‖₂ = 1, 0.05-0.1 is stable.
    seeds : int or sequence of int
        An int n means ``range(n)``. Seed i draws Z₀, W₀ from stream
        ``"init"`` and B from ``"feedback"`` of :func:`streams`, so GD and FA
        with the same seed start from the same Z₀, W₀.
    init_scale : float
        Norm of each unit's initial weight vector (Z₀ ~ N(0, scale²/n),
        W₀ ~ N(0, scale²/m)); 0 starts at Z = W = 0 (a saddle for GD).
    B : ndarray, shape (r, m) or (S, r, m), optional
        Feedback matrix; drawn as N(0, feedback_scale²/m) if omitted.
    feedback_scale : float
        Row norm of the drawn B.
    Z0, W0 : ndarray, optional
        Explicit starting factors, shapes (n, r) / (r, m), or stacked per seed.
    record : sequence of str
        Metrics to record besides ``"error"``; see ``fa_core.metrics.RECORDERS``.
    record_at : sequence of int, optional
        Steps to record at; default about 120 log-spaced steps including 0
        and ``steps``.
    engine : {"auto", "reduced", "dense"}
        ``"reduced"`` runs the exact reduced dynamics (cost independent of n
        and m); ``"dense"`` is the reference n×m implementation. ``"auto"``
        picks reduced for orthogonally equivariant rules.
    tol : float, optional
        Stop early once every seed's relative error is below ``tol`` at a
        recorded step; the Run then ends at that step (``run.steps[-1]``).
    progress : bool
        Show a tqdm bar (silenced by the ``TQDM_DISABLE`` environment variable).

    Returns
    -------
    Run

    Raises
    ------
    ValueError
        For invalid parameters, naming the parameter and its valid range.
    DivergenceError
        If the error becomes non-finite or exceeds ``DIVERGENCE_FACTOR`` times
        its start.
    """
    t = as_target(target_or_Y)
    rule_, seeds_, names, at, tol, (Z, W, Bm) = setup(t.n, t.m, r, rule, steps, eta, seeds, init_scale, B,
                                                      feedback_scale, Z0, W0, record, record_at, tol)
    engine = _choose_engine(engine, rule_)
    basis = None
    if engine == "reduced":
        Z, W, Bm, basis = compress(t.U, t.V, Z, W, Bm)
        Y = ReducedY(t.s)
    else:
        Y = DenseY(t.Y)

    metrics, at, (Z, W, Bm) = run_loop(Y, (Z, W, Bm), rule_, float(eta), steps=int(steps), names=names, at=at,
                                       sq_norm=t.sq_norm, scale=float(t.s[0]), tol=tol, progress=progress)
    return Run(rule_.name, float(eta), seeds_, at, metrics, t.sq_norm, engine, (Z, W, Bm), basis)


def run_loop(Y, state, rule: Rule, eta: float, *, steps: int, names: Sequence[str], at: np.ndarray, sq_norm: float,
             scale: float, tol: float | None = None, progress: bool = False, update_op=None, eta_at=None):
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
    ctx = SimpleNamespace(Y=Y, rule=rule, C0=rule.invariant(*state))

    def measure(state, j):
        ctx.Z, ctx.W, ctx.B = state
        out["error"][:, j] = err = Y.sq_error(ctx.Z, ctx.W)
        for name in names[1:]:
            out[name][:, j] = _metrics.RECORDERS[name][1](ctx)
        return err

    def advance(state, step):
        op = Y if update_op is None else update_op(step)
        return rule.step(op, *state, eta if eta_at is None else eta_at(step))

    state, j = record_loop(state, advance, measure, steps=steps, at=at, sq_norm=sq_norm, scale=scale,
                           rule_name=rule.name, eta=eta, tol=tol, progress=progress)
    return {name: values[:, :j] for name, values in out.items()}, at[:j], state


def record_loop(state, advance, measure, *, steps: int, at: np.ndarray, sq_norm: float, scale: float, rule_name: str,
                eta: float, tol: float | None = None, progress: bool = False):
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
    limit = DIVERGENCE_FACTOR * sq_norm
    bar = _progress(steps, progress)
    j = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps + 1):
            if step == at[j]:
                err = measure(state, j)
                if j == 0:
                    limit = DIVERGENCE_FACTOR * max(sq_norm, float(np.max(err)))
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


def _check_divergence(err: np.ndarray, limit: float, rule: str, eta: float, step: int, scale: float) -> None:
    bad = ~np.isfinite(err) | (err > limit)
    if np.any(bad):
        worst = float(err[bad][0])
        raise DivergenceError(rule, eta, step, worst, min(eta / 4, 0.1 / scale))


def _progress(steps: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm  # optional, only for interactive runs

    return tqdm(total=steps, unit="step", mininterval=0.5)
