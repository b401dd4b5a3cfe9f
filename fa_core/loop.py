"""The training loop every trainer shares, and the error it raises when training diverges.

A trainer validates its keywords (:func:`fa_core.settings.settings`), resolves
its start (:func:`fa_core.start.resolve_start`), builds the operator its rule
runs on, and calls :func:`run_loop` (two layers) or :func:`record_loop` (any
state). Recording, divergence and early stopping behave the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import metrics as _metrics
from .rules import Rule

# An error this many times its starting value (or ‖Y‖²_F) counts as divergence.
DIVERGENCE_FACTOR = 1e8


class DivergenceError(RuntimeError):
    """Training diverged: the error became non-finite or grew without bound.

    Parameters
    ----------
    rule : str
        The rule's name.
    eta : float
        The step size that diverged.
    step : int
        The recorded step at which the divergence was seen.
    error : float
        The squared error there (inf or NaN if it overflowed).
    suggested_eta : float
        A step size to try instead, > 0.

    Examples
    --------
    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=6, m=5, rng=0)
    >>> try:
    ...     fa.train(Y, r=2, rule="gd", steps=200, eta=5.0, init_scale=0.1)
    ... except fa.DivergenceError as e:
    ...     print(e.rule, e.eta, 0 < e.suggested_eta < e.eta)
    gd 5.0 True
    """

    def __init__(self, rule: str, eta: float, step: int, error: float, suggested_eta: float):
        self.rule = rule
        self.eta = eta
        self.step = step
        self.error = error
        self.suggested_eta = suggested_eta
        super().__init__(
            f"rule {rule!r} diverged with eta={eta:g}: error {error:.3g} at step {step}. "
            f"Try eta <= {suggested_eta:.3g} (for ‖Y‖₂ = 1, eta in 0.05-0.1 is stable in our runs)."
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

    ``Y`` is the :class:`fa_core.operators.TargetOperator` the metrics (and,
    by default, the updates) use.
    ``update_op(step)`` may supply a different operator for each update
    (minibatches), and ``eta_at(step)`` a step-size schedule. ``scale``
    (≈ ‖Y‖₂) sets the suggested η when training diverges.

    Returns
    -------
    metrics : dict of str to ndarray (S, T'), at : ndarray (T',), state
        T' < T when ``tol`` stopped the run early.
    """
    out = {name: np.empty((state[0].shape[0], at.size)) for name in names}
    C0 = None
    if rule.invariant is not None:
        with np.errstate(over="ignore", invalid="ignore"):  # a start too large is refused below
            C0 = rule.invariant(*state)

    def measure(state, j):
        s = _metrics.State(Y, *state, rule, C0)
        err = Y.sq_error(s.Z, s.W)
        out["error"][:, j] = err
        for name in names[1:]:
            out[name][:, j] = _metrics.RECORDERS[name](s)
        return err

    def advance(state, step):
        op = Y if update_op is None else update_op(step)
        eta_now = eta if eta_at is None else eta_at(step)
        return rule.step(op, *state, eta_now)

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
    stopping once every seed is below ``tol · sq_norm``. A non-finite error at
    step 0 is the start's fault, not the step size's, and raises ValueError.

    Returns
    -------
    state, j : the final state and the number of recorded columns.
    """
    bar = _progress(steps, progress, rule_name, eta)
    j = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps + 1):
            if step == at[j]:
                err = measure(state, j)
                if step == 0:
                    check_start_error(err)
                if j == 0:
                    start_error = max(float(np.max(sq_norm)), float(np.max(err)))
                    limit = DIVERGENCE_FACTOR * start_error
                check_divergence(err, limit, rule_name, eta, step, scale)
                j += 1
                if j == at.size:
                    break
                if tol is not None and np.all(err < tol * sq_norm):
                    break
            state = advance(state, step)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return state, j


def check_start_error(err: np.ndarray) -> None:
    """Refuse a start whose error is not finite: no step size can help it."""
    if not np.all(np.isfinite(err)):
        raise ValueError(
            f"the error at the start is not finite ({float(err[~np.isfinite(err)][0])}): the "
            f"starting point (init_scale, Z0, W0, the start's layers) is too large for float64"
        )


def check_divergence(
    err: np.ndarray, limit: float, rule: str, eta: float, step: int, scale: float
) -> None:
    """Raise :class:`DivergenceError` if any seed's error is non-finite or above ``limit``.

    The suggested step size is min(η/4, 0.1/‖Y‖₂): positive, since the
    trainers accept only targets of finite, positive scale.
    """
    bad = ~np.isfinite(err) | (err > limit)
    if np.any(bad):
        worst = float(err[bad][0])
        suggested = min(eta / 4, 0.1 / scale)
        raise DivergenceError(rule, eta, step, worst, suggested)


def _progress(steps: int, show: bool, rule: str, eta: float):
    if not show:
        return None
    from tqdm import tqdm  # optional, only for interactive runs; honours TQDM_DISABLE

    return tqdm(total=steps, unit="step", mininterval=0.5, desc=f"{rule} η={eta:g}")
