"""The target as a linear operator: the only place rules touch Y.

Every update rule is written with two products, so it never forms the n×m
residual ``E = Y - ZW``:

* ``E Fᵀ = Y Fᵀ - Z (W Fᵀ)``      (Z-updates; F is W for GD, B for FA)
* ``Gᵀ E = Gᵀ Y - (Gᵀ Z) W``      (W-updates; G is Z, or FA*'s midpoint)

:class:`DenseY` computes them with the dense matrix (cost O(n m r)).
:class:`ReducedY` is the same target in the exact reduced coordinates of
:mod:`fa_core.reduced`, where ``Y`` is ``diag(s)`` padded with zeros, so the
products cost O(k r + k r²) and never depend on n or m.
"""

from __future__ import annotations

import numpy as np

from .linalg import batched_sq_norm, sq_norms

# From this rank on (k ≥ SPLIT_FROM · r) the reduced error avoids the (k + p) × (k + q) residual block.
SPLIT_FROM = 16


def remember_last(f):
    """``f(x, *rest)``, recomputed only when ``x`` is not the very array of the previous call.

    Rules and the engine never modify an array in place, so identity is a safe
    key: FA's feedback B, for one, is the same array at every step.
    """
    last = [None, None]

    def cached(x, *rest):
        if last[0] is not x:
            last[:] = [x, f(x, *rest)]
        return last[1]

    return cached


class DenseY:
    """The target ``Y`` held densely.

    Parameters
    ----------
    Y : ndarray, shape (n, m) or (S, n, m)
        One target shared by all seeds, or one per seed.
    """

    def __init__(self, Y: np.ndarray):
        self.Y = Y

    def E(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Residual ``Y - Z W``, shape (S, n, m)."""
        return self.Y - Z @ W

    def E_Ft(self, Z: np.ndarray, W: np.ndarray, F: np.ndarray) -> np.ndarray:
        """``(Y - Z W) Fᵀ``, shape (S, n, r)."""
        return self.Y @ F.mT - Z @ (W @ F.mT)

    def Gt_E(self, G: np.ndarray, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``Gᵀ (Y - Z W)``, shape (S, r, m)."""
        return G.mT @ self.Y - (G.mT @ Z) @ W

    def sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``‖Y - Z W‖²_F`` per seed, as a sum of squares (no cancellation)."""
        return batched_sq_norm(self.E, Z.shape[-2] * W.shape[-1], Z, W)


class ReducedY:
    """The target in reduced coordinates: ``diag(s)`` in the top-left k×k block.

    Parameters
    ----------
    s : ndarray, shape (k,) or (S, k)
        Singular values of Y.
    dropped : float
        A constant part of ‖E‖²_F that lies outside the reduced coordinates
        (:func:`fa_core.reduced.merge_ties`); 0 by default.
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

    def Gt_E(self, G: np.ndarray, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
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
        k, j = self.k, min(Z.shape[-1], self.k)
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
