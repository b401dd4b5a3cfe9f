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

A run of more than 3r equal singular values shrinks further, to the 3r
directions of that run which Z₀, W₀ and B occupy (:func:`merge_ties`): on a
flat spectrum a step then costs O(r³) whatever k is.
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

    def rows(self, rows: slice) -> ReducedBasis:
        """The bases of the seeds ``rows`` (U and V shared by all seeds stay whole)."""
        own = lambda Q: Q[rows] if np.ndim(Q) == 3 else Q  # noqa: E731
        return ReducedBasis(own(self.U), own(self.V), self.Qz[rows], self.Qw[rows])


def compress(U, s: np.ndarray, V, Z: np.ndarray, W: np.ndarray, B: np.ndarray):
    """Map a batched starting point to exact reduced coordinates.

    Parameters
    ----------
    U : ndarray, shape (n, k) or (S, n, k), or Identity
    s : ndarray, shape (k,)
        Singular values, descending.
    V : ndarray, shape (m, k) or (S, m, k), or Identity
    Z : ndarray, shape (S, n, r)
    W, B : ndarray, shape (S, r, m)

    Returns
    -------
    Zt, Wt, Bt : ndarray
        Shapes (S, k' + p, r), (S, r, k' + q), (S, r, k' + q) with p = min(n, r),
        q = min(m, 2r), and k' ≤ k after :func:`merge_ties`.
    basis : ReducedBasis
    s_reduced : ndarray, shape (k',)
        The singular values the reduced Ỹ = diag(s_reduced) carries.
    dropped : float
        ‖Y − Ũ Ỹ Ṽᵀ‖²_F: the part of Y no reduced state can reach, a constant
        of every error.
    """
    r = Z.shape[-1]
    A = U.mT @ Z
    Qz, Rz = np.linalg.qr(Z - U @ A)
    C, D = W @ V, B @ V
    outside = np.concatenate([W - C @ V.mT, B - D @ V.mT], axis=-2)
    Qw, R = np.linalg.qr(outside.mT)
    T, s_reduced, dropped = merge_ties(s, A, C, D)
    if T is not None:
        U, V, A, C, D = U @ T, V @ T, T.mT @ A, C @ T, D @ T
    Zt = np.concatenate([A, Rz], axis=-2)
    Wt = np.concatenate([C, R[..., :, :r].mT], axis=-1)
    Bt = np.concatenate([D, R[..., :, r:].mT], axis=-1)
    return Zt, Wt, Bt, ReducedBasis(U, V, Qz, Qw), s_reduced, dropped


def tied_runs(s: np.ndarray, longer_than: int) -> list[tuple[int, int]]:
    """(start, stop) of each run of exactly equal values in ``s`` longer than ``longer_than``."""
    edges = np.flatnonzero(np.diff(s) != 0) + 1
    return [
        (int(a), int(b))
        for a, b in zip(np.r_[0, edges], np.r_[edges, s.size])
        if b - a > longer_than
    ]


def merge_ties(s: np.ndarray, A: np.ndarray, C: np.ndarray, D: np.ndarray):
    """Shrink each long run of equal singular values to the 3r directions the state uses.

    Parameters
    ----------
    s : ndarray, shape (k,)
    A : ndarray, shape (S, k, r)
        Z's coordinates in U.
    C, D : ndarray, shape (S, r, k)
        W's and B's coordinates in V.

    Returns
    -------
    T : ndarray, shape (S, k, k'), or None if no run is longer than 3r
        Orthonormal columns: the identity outside the long runs and, on a run
        g, a basis Q_g of span(A_g, C_gᵀ, D_gᵀ) (3r columns).
    s_reduced : ndarray, shape (k',)
    dropped : float
        Σ_g s_g² (k_g − 3r).

    Notes
    -----
    On a run g of k_g equal values s_g, Y's block is s_g I in (U_g, V_g).
    Rotating U_g and V_g by the same orthogonal matrix leaves Y unchanged, so
    an equivariant rule keeps Z's rows and W's and B's columns on the run
    inside span(Q_g) (derivations R11). There Y's block is s_g I_{3r}, and the
    rest of it, s_g (I − Q_g Q_gᵀ), adds the constant s_g² (k_g − 3r) to ‖E‖²_F.
    """
    width = 3 * A.shape[-1]
    runs = tied_runs(s, width)
    if not runs:
        return None, s, 0.0
    keep = np.ones(s.size, bool)
    for a, b in runs:
        keep[a + width : b] = False
    T = np.zeros((A.shape[0], s.size, int(keep.sum())))
    col = np.cumsum(keep) - 1  # reduced column of each kept index
    free = np.ones(s.size, bool)
    for a, b in runs:
        free[a:b] = False
        G = np.concatenate([A[:, a:b], C[:, :, a:b].mT, D[:, :, a:b].mT], axis=-1)
        T[:, a:b, col[a] : col[a] + width] = np.linalg.qr(G)[0]
    T[:, np.flatnonzero(free), col[free]] = 1.0
    dropped = float(sum(s[a] ** 2 * (b - a - width) for a, b in runs))
    return T, s[keep], dropped
