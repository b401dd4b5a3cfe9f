"""Diagnostics of a (batched) factorization state.

All functions take stacked arrays (leading seed axis S) and return one value
per seed. They use only Gram products, so they give the same numbers in the
dense and in the reduced coordinates.
"""
from __future__ import annotations

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


# name -> (description, function of the engine's recording context)
# The context ``c`` has attributes Y (operator), Z, W, B, rule and C0.
RECORDERS = {
    "cos_WB": ("cos(W, B)", lambda c: cosine(c.W, c.B)),
    "lam_min_WBt": ("λ_min of sym(W Bᵀ)", lambda c: lam_min_sym(c.W @ c.B.mT)),
    "lam_min_ZtZ": ("λ_min(ZᵀZ)", lambda c: lam_min_sym(c.Z.mT @ c.Z)),
    "lam_min_WWt": ("λ_min(W Wᵀ)", lambda c: lam_min_sym(c.W @ c.W.mT)),
    "invariant_drift": ("‖C_t - C_0‖_F of the rule's conserved quantity",
                        lambda c: frobenius(c.rule.invariant(c.Z, c.W, c.B) - c.C0)),
    "grad_angle": ("angle (degrees) between the rule's Z-update and the true gradient step E Wᵀ",
                   lambda c: signed_angle(c.rule.z_direction(c.Y, c.Z, c.W, c.B), c.Y.E_Ft(c.Z, c.W, c.W))),
    "EBt_sq": ("‖E Bᵀ‖²_F", lambda c: squared_norm(c.Y.E_Ft(c.Z, c.W, c.B))),
    "Z_sq": ("‖Z‖²_F", lambda c: squared_norm(c.Z)),
    "W_sq": ("‖W‖²_F", lambda c: squared_norm(c.W)),
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


def decay_rate(steps: np.ndarray, err: np.ndarray, band=(1e-24, 1e-6)) -> np.ndarray:
    """Linear-convergence rate per step, -d ln(err)/d step, fitted per seed.

    The fit uses the recorded points with ``band[0] < err < band[1]`` (past
    the transient, above the rounding floor); if fewer than 3 points fall
    in the band, the last quarter of the run is used. Returns shape (S,).
    """
    err = np.atleast_2d(err)
    out = np.empty(err.shape[0])
    for i, e in enumerate(err):
        use = (e > band[0]) & (e < band[1])
        if use.sum() < 3:
            use = steps >= steps[-1] * 0.75
        x, y = steps[use].astype(float), np.log(np.maximum(e[use], np.finfo(float).tiny))
        out[i] = -np.polyfit(x, y, 1)[0]
    return out
