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
    "invariant_drift": ("‖C_t - C_0‖_F of the rule's conserved quantity",
                        lambda c: frobenius(c.rule.invariant(c.Z, c.W, c.B) - c.C0)),
    "grad_angle": ("angle (degrees) between the rule's Z-update and the true gradient step E Wᵀ",
                   lambda c: signed_angle(c.rule.z_direction(c.Y, c.Z, c.W, c.B), c.Y.E_Ft(c.Z, c.W, c.W))),
    "EBt_sq": ("‖E Bᵀ‖²_F", lambda c: squared_norm(c.Y.E_Ft(c.Z, c.W, c.B))),
    "Z_sq": ("‖Z‖²_F", lambda c: squared_norm(c.Z)),
    "W_sq": ("‖W‖²_F", lambda c: squared_norm(c.W)),
}
