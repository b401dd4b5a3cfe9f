"""Diagnostics of a (batched) factorization state.

All functions take stacked arrays (leading seed axis S) and return one value
per seed. They use only Gram products, so they give the same numbers in the
dense and in the reduced coordinates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def _inner(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Frobenius inner product ⟨A, B⟩ per seed."""
    return np.einsum("...ij,...ij->...", A, B)


def cosine(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """cos(A, B) = ⟨A, B⟩_F / (‖A‖_F ‖B‖_F); 0 where either is zero."""
    den = np.sqrt(_inner(A, A) * _inner(B, B))
    return np.divide(_inner(A, B), den, out=np.zeros_like(den), where=den > 0)


def signed_angle(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Angle between A and B in degrees, in [0, 180]; below 90 means positively aligned."""
    return np.degrees(np.arccos(np.clip(cosine(A, B), -1.0, 1.0)))


def lam_min_sym(M: np.ndarray) -> np.ndarray:
    """Smallest eigenvalue of sym(M) = (M + Mᵀ)/2 for square M."""
    return np.linalg.eigvalsh(0.5 * (M + M.mT))[..., 0]


def frobenius(M: np.ndarray) -> np.ndarray:
    """‖M‖_F per seed."""
    return np.sqrt(_inner(M, M))


def squared_norm(M: np.ndarray) -> np.ndarray:
    """‖M‖²_F per seed, a sum of squares."""
    return _inner(M, M)


class State(NamedTuple):
    """What a recorder sees at a recorded step: the operator, the state, the rule and C₀."""

    Y: object
    Z: np.ndarray
    W: np.ndarray
    B: np.ndarray
    rule: object
    C0: np.ndarray | None


def cos_WB(s: State) -> np.ndarray:
    """cos(W, B): the alignment of the forward weights with the feedback."""
    return cosine(s.W, s.B)


def lam_min_WBt(s: State) -> np.ndarray:
    """λ_min of sym(W Bᵀ)."""
    return lam_min_sym(s.W @ s.B.mT)


def lam_min_ZtZ(s: State) -> np.ndarray:
    """λ_min(ZᵀZ)."""
    return lam_min_sym(s.Z.mT @ s.Z)


def lam_min_WWt(s: State) -> np.ndarray:
    """λ_min(W Wᵀ)."""
    return lam_min_sym(s.W @ s.W.mT)


def invariant_drift(s: State) -> np.ndarray:
    """‖C_t − C₀‖_F of the rule's conserved quantity (rules that conserve one only)."""
    return frobenius(s.rule.invariant(s.Z, s.W, s.B) - s.C0)


# Below this fraction of ‖Y‖_F · max(‖W‖_F, ‖B‖_F) a Z-direction is rounding noise, and so is
# its angle.
GRAD_ANGLE_RTOL = 1e-12


def grad_angle(s: State) -> np.ndarray:
    """Angle (degrees) between the rule's Z-update and the true gradient step E Wᵀ.

    NaN where either direction is at rounding level, below ``GRAD_ANGLE_RTOL``
    times ‖Y‖_F · max(‖W‖_F, ‖B‖_F): at a fixed point (for FA, E Bᵀ = 0) the
    angle between two rounding-level matrices is noise, and the two engines
    would report different noise.
    """
    rule_dir = s.rule.z_direction(s.Y, s.Z, s.W, s.B)
    gradient = s.Y.E_Ft(s.Z, s.W, s.W)
    Y_norm = np.sqrt(s.Y.sq_error(np.zeros_like(s.Z), np.zeros_like(s.W)))
    scale = Y_norm * np.maximum(frobenius(s.W), frobenius(s.B))
    tiny = np.minimum(frobenius(rule_dir), frobenius(gradient)) <= GRAD_ANGLE_RTOL * scale
    return np.where(tiny, np.nan, signed_angle(rule_dir, gradient))


def EBt_sq(s: State) -> np.ndarray:
    """‖E Bᵀ‖²_F, FA's Lyapunov function."""
    return squared_norm(s.Y.E_Ft(s.Z, s.W, s.B))


def Z_sq(s: State) -> np.ndarray:
    """‖Z‖²_F."""
    return squared_norm(s.Z)


def W_sq(s: State) -> np.ndarray:
    """‖W‖²_F."""
    return squared_norm(s.W)


# The metrics ``train(..., record=[...])`` accepts, by name; each maps a State to one value per seed.
RECORDERS = {
    f.__name__: f
    for f in (
        cos_WB,
        lam_min_WBt,
        lam_min_ZtZ,
        lam_min_WWt,
        invariant_drift,
        grad_angle,
        EBt_sq,
        Z_sq,
        W_sq,
    )
}


# -- trajectories -------------------------------------------------------------


def first_hit(steps: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """First recorded step at which ``values < threshold``, per seed; inf if never.

    Parameters
    ----------
    steps : ndarray, shape (T,)
    values : ndarray, shape (S, T)
    """
    below = values < threshold
    hit = np.argmax(below, axis=-1)
    return np.where(below.any(axis=-1), steps[hit], np.inf)


def log_linear_fit(
    steps: np.ndarray, err: np.ndarray, band=(1e-24, 1e-6)
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ln(err) = a − rate · step per seed: linear convergence has a constant rate.

    The fit uses the recorded points with ``band[0] < err < band[1]`` (past
    the transient, above the rounding floor); if fewer than 3 points fall
    in the band, the last quarter of the run is used, or the last two
    recorded points if the last quarter holds fewer.

    Parameters
    ----------
    steps : ndarray, shape (T,)
        The recorded steps, T >= 2.
    err : ndarray, shape (S, T)
    band : tuple of float, default=(1e-24, 1e-6)
        The errors that count as the linear phase.

    Returns
    -------
    rate : ndarray, shape (S,)
        −d ln(err)/d step.
    r2 : ndarray, shape (S,)
        Coefficient of determination of the fit: 1 for exactly linear convergence.

    Raises
    ------
    ValueError
        If fewer than 2 steps are recorded: a rate needs two points.
    """
    steps = np.asarray(steps)
    err = np.atleast_2d(err)
    if steps.ndim != 1 or steps.size < 2 or err.shape[-1] != steps.size:
        raise ValueError(
            f"steps must hold at least 2 recorded steps, one per column of err, to fit a rate; "
            f"got steps of shape {steps.shape} and err of shape {err.shape}"
        )
    rate, r2 = np.empty(err.shape[0]), np.empty(err.shape[0])
    for i, e in enumerate(err):
        use = (e > band[0]) & (e < band[1])
        if use.sum() < 3:
            use = steps >= steps[-1] * 0.75
        if use.sum() < 2:
            use = np.arange(steps.size) >= steps.size - 2
        x, y = steps[use].astype(float), np.log(np.maximum(e[use], np.finfo(float).tiny))
        coef = np.polyfit(x, y, 1)
        rate[i] = -coef[0]
        spread = np.sum((y - y.mean()) ** 2)
        r2[i] = 1 - np.sum((y - np.polyval(coef, x)) ** 2) / spread if spread > 0 else 1.0
    return rate, r2


def decay_rate(steps: np.ndarray, err: np.ndarray, band=(1e-24, 1e-6)) -> np.ndarray:
    """Linear-convergence rate per step, −d ln(err)/d step, fitted per seed; see :func:`log_linear_fit`."""
    return log_linear_fit(steps, err, band)[0]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two equal-length samples, ties given their average rank.

    Parameters
    ----------
    a, b : array_like, shape (N,)
        Samples of N >= 2 values.

    Returns
    -------
    float
        Pearson's correlation of the ranks, in [−1, 1]. NaN where it is
        undefined, a constant sample (its ranks have no spread): a NaN fails
        every comparison, so a check built on it fails rather than passes.

    Raises
    ------
    ValueError
        For samples that are not 1-D, of unequal lengths or of fewer than 2
        values, or that contain NaN (a sample with NaN has no order).

    Examples
    --------
    >>> import fa_core as fa
    >>> round(fa.metrics.rank_correlation([1, 1, 2, 2], [1, 2, 3, 4]), 4)
    0.8944
    >>> fa.metrics.rank_correlation([1, 1, 1], [1, 2, 3])  # a constant sample
    nan
    """
    a, b = (np.asarray(x, dtype=float) for x in (a, b))
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 1 or x.size < 2:
            raise ValueError(
                f"{name} must be a 1-D sample of at least 2 values; got shape {x.shape}"
            )
    if a.size != b.size:
        raise ValueError(f"a and b must have the same length; got {a.size} and {b.size}")
    for name, x in (("a", a), ("b", b)):
        if np.isnan(x).any():
            raise ValueError(f"{name} must not contain NaN (it has no order)")
    if any(np.all(x == x[0]) for x in (a, b)):
        return float("nan")
    return float(np.corrcoef(average_ranks(a), average_ranks(b))[0, 1])


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..N of a 1-D sample, tied values sharing the mean of their ranks.

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.metrics.average_ranks(np.array([10.0, 30.0, 10.0, 20.0]))
    array([1.5, 4. , 1.5, 3. ])
    """
    order = np.argsort(x, kind="stable")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]  # the first of each run of equal values
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], x.size]  # one past the last of each run
    ranks = np.empty(x.size)
    ranks[order] = ((starts + ends - 1) / 2 + 1)[group]
    return ranks
