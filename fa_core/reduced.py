"""Exact reduced coordinates for orthogonally equivariant rules.

Write ``Y = U diag(s) Vᵀ`` (rank k). Split the starting point into parts
inside and outside Y's singular subspaces:

* ``Z₀ = U A + Z⊥``, with ``Z⊥ = Q_z R_z`` (thin QR, Q_z is n×r);
* ``W₀ = C Vᵀ + W⊥`` and ``B = D Vᵀ + B⊥``, with ``[W⊥; B⊥]ᵀ = Q_w R`` (m×2r).

Under GD, FA and FA* the column space of Z stays in span(U, Z⊥) and the row
spaces of W and B stay in span(V, W⊥, B⊥) (derivations R11). In the bases
``Ũ = [U, Q_z]`` and ``Ṽ = [V, Q_w]`` the problem becomes

    Z̃ = [A; R_z]           (k + r) × r
    W̃ = [C, R[:, :r]ᵀ]     r × (k + 2r)
    B̃ = [D, R[:, r:]ᵀ]     r × (k + 2r)
    Ỹ = diag(s), zero-padded,

and ``Z = Ũ Z̃``, ``W = W̃ Ṽᵀ``, ``B = B̃ Ṽᵀ`` hold at every step. Every Gram
product (ZᵀZ, W Bᵀ, ‖E‖², ...) is the same in both coordinate systems, so the
rules and metrics run unchanged on the reduced arrays, at a cost independent
of n and m.

Q_z and Q_w need not be orthogonal to U and V when the complement parts are
rank-deficient (e.g. from zero init); the coordinates stay exact because the
reachable complement coefficients lie in the row space of R_z and R, whose
images are orthogonal to U and V.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ReducedBasis:
    """Bases that map reduced coordinates back to the original ones.

    Attributes
    ----------
    U : ndarray, shape (n, k) or (S, n, k)
    V : ndarray, shape (m, k) or (S, m, k)
    Qz : ndarray, shape (S, n, p)
        Orthonormal basis of the part of Z₀ outside col(U).
    Qw : ndarray, shape (S, m, q)
        Orthonormal basis of the parts of W₀ and B outside col(V).
    """

    U: np.ndarray
    V: np.ndarray
    Qz: np.ndarray
    Qw: np.ndarray

    def expand_left(self, Zt: np.ndarray) -> np.ndarray:
        """``Z = U Z̃[:k] + Q_z Z̃[k:]``, shape (S, n, r)."""
        k = self.U.shape[-1]
        return self.U @ Zt[..., :k, :] + self.Qz @ Zt[..., k:, :]

    def expand_right(self, Wt: np.ndarray) -> np.ndarray:
        """``W = W̃[:, :k] Vᵀ + W̃[:, k:] Q_wᵀ``, shape (S, r, m)."""
        k = self.V.shape[-1]
        return Wt[..., :k] @ self.V.mT + Wt[..., k:] @ self.Qw.mT


def compress(U: np.ndarray, V: np.ndarray, Z: np.ndarray, W: np.ndarray, B: np.ndarray):
    """Map a batched starting point to exact reduced coordinates.

    Parameters
    ----------
    U : ndarray, shape (n, k) or (S, n, k)
    V : ndarray, shape (m, k) or (S, m, k)
    Z : ndarray, shape (S, n, r)
    W, B : ndarray, shape (S, r, m)

    Returns
    -------
    Zt, Wt, Bt : ndarray
        Shapes (S, k + p, r), (S, r, k + q), (S, r, k + q) with p = min(n, r)
        and q = min(m, 2r).
    basis : ReducedBasis
    """
    r = Z.shape[-1]
    A = U.mT @ Z
    Qz, Rz = np.linalg.qr(Z - U @ A)
    C, D = W @ V, B @ V
    outside = np.concatenate([W - C @ V.mT, B - D @ V.mT], axis=-2)
    Qw, R = np.linalg.qr(outside.mT)
    Zt = np.concatenate([A, Rz], axis=-2)
    Wt = np.concatenate([C, R[..., :, :r].mT], axis=-1)
    Bt = np.concatenate([D, R[..., :, r:].mT], axis=-1)
    return Zt, Wt, Bt, ReducedBasis(U, V, Qz, Qw)
