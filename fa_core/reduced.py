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

This module holds all of it: :func:`compress` maps a start into the reduced
coordinates, :class:`ReducedY` is the target there (a
:class:`fa_core.operators.TargetOperator`), and :class:`ReducedBasis` maps a
reduced state back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linalg import batched_sq_norm, sq_norms
from .operators import remember_last

# From this rank on (k ≥ SPLIT_FROM · r) the reduced error avoids the (k + p) × (k + q) residual block.
SPLIT_FROM = 16


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

        def own(Q):  # a basis stacked per seed, or one shared by all seeds
            return Q[rows] if np.ndim(Q) == 3 else Q

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
    C = W @ V
    D = B @ V
    outside = np.concatenate([W - C @ V.mT, B - D @ V.mT], axis=-2)
    Qw, R = np.linalg.qr(outside.mT)
    T, s_reduced, dropped = merge_ties(s, A, C, D)
    if T is not None:
        U = U @ T
        V = V @ T
        A = T.mT @ A
        C = C @ T
        D = D @ T
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


class ReducedY:
    """The target in reduced coordinates, ``diag(s)`` in the top-left k×k block; a TargetOperator.

    Parameters
    ----------
    s : ndarray, shape (k,) or (S, k)
        Singular values of Y.
    dropped : float
        A constant part of ‖E‖²_F that lies outside the reduced coordinates
        (:func:`merge_ties`); 0 by default.
    """

    def __init__(self, s: np.ndarray, dropped: float = 0.0):
        self.s = s
        self.k = s.shape[-1]
        self.dropped = dropped
        self.YFt = remember_last(self._YFt)

    def _YFt(self, F: np.ndarray, rows: int) -> np.ndarray:
        """``Ỹ Fᵀ = [s ∘ F[:, :k]ᵀ; 0]``, shape (S, rows, r)."""
        out = np.zeros((*F.shape[:-2], rows, F.shape[-2]))
        out[..., : self.k, :] = self.s[..., :, None] * F[..., :, : self.k].mT
        return out

    def E(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Residual in reduced coordinates, shape (S, k + p, k + q)."""
        E = -(Z @ W)
        i = np.arange(self.k)
        E[..., i, i] += self.s
        return E

    def E_Ft(self, Z: np.ndarray, W: np.ndarray, F: np.ndarray) -> np.ndarray:
        """``(Ỹ - Z W) Fᵀ`` with ``Ỹ Fᵀ = [s ∘ F[:, :k]ᵀ; 0]``."""
        ZWFt = Z @ (W @ F.mT)
        return np.subtract(self.YFt(F, Z.shape[-2]), ZWFt, out=ZWFt)

    def Gt_E(self, Z: np.ndarray, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        """``Gᵀ (Ỹ - Z W)`` with ``Gᵀ Ỹ = [G[:k]ᵀ ∘ s, 0]``."""
        out = (G.mT @ Z) @ W
        np.negative(out, out=out)
        out[..., :, : self.k] += G[..., : self.k, :].mT * self.s[..., None, :]
        return out

    def sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``‖Ỹ - Z W‖²_F`` + ``dropped`` per seed; equals the dense error exactly in exact arithmetic.

        For k ≥ ``SPLIT_FROM`` · r it is :meth:`split_sq_error`, at cost
        O(k r²) and memory O(k r) per seed; below, the residual block itself.
        """
        if self.k >= SPLIT_FROM * Z.shape[-1]:
            return self.split_sq_error(Z, W) + self.dropped
        return batched_sq_norm(self.E, Z.shape[-2] * W.shape[-1], Z, W) + self.dropped

    def split_sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``‖Ỹ - Z W‖²_F`` per seed without forming the (k + p) × (k + q) residual.

        Parameters
        ----------
        Z : ndarray, shape (S, k + p, r)
        W : ndarray, shape (S, r, k + q)

        Returns
        -------
        ndarray, shape (S,)

        Notes
        -----
        Let J be the indices of the top j = min(r, k) singular values and J^c
        the rest (padding included). The residual E = Ỹ − ZW splits into the
        rows J, the columns J below them, and the block J^c × J^c:

            ‖E‖² = ‖E_{J,:}‖² + ‖Z_{J^c} W_J‖² + a − 2c + b,

        with a = Σ_{i∈J^c} s_i², c = Σ_{i∈J^c} s_i (ZW)_ii and
        b = ‖Z_{J^c} W_{J^c}‖² = ‖R W_{J^c}‖² (Z_{J^c} = QR). The first two
        terms are sums of squares of residual entries formed directly. The
        block's three terms are each at most 4‖E‖²: a = Σ_{i>r} s_i² is the
        rank-r optimum, so a ≤ ‖E‖² (Eckart-Young), hence
        ‖(ZW)_{J^c J^c}‖ ≤ ‖S_{J^c}‖ + ‖E_{J^c J^c}‖ ≤ 2‖E‖, and c ≤ √(ab).
        So the subtraction never cancels more than a small multiple of the
        result: the relative accuracy is O(eps), even at rounding-level errors.
        """
        k = self.k
        j = min(Z.shape[-1], k)
        s = np.broadcast_to(self.s, (Z.shape[0], k))
        head = -(Z[..., :j, :] @ W)  # rows J of E
        i = np.arange(j)
        head[..., i, i] += s[..., :j]
        below = Z[..., j:, :] @ W[..., :, :j]  # columns J of E under rows J (Ỹ is zero there)
        tail = s[..., j:]
        a = np.sum(tail**2, axis=-1)
        c = np.sum(tail * np.einsum("sir,sri->si", Z[..., j:k, :], W[..., :, j:k]), axis=-1)
        R = np.linalg.qr(Z[..., j:, :], mode="r")
        RW = R @ W[..., :, j:]
        return sq_norms(head) + sq_norms(below) + a - 2 * c + sq_norms(RW)
