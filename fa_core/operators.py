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

from .linalg import batched_sq_norm


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
    """

    def __init__(self, s: np.ndarray):
        self.s = s
        self.k = s.shape[-1]

    def E(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Residual in reduced coordinates, shape (S, k + p, k + q)."""
        E = -(Z @ W)
        i = np.arange(self.k)
        E[..., i, i] += self.s
        return E

    def E_Ft(self, Z: np.ndarray, W: np.ndarray, F: np.ndarray) -> np.ndarray:
        """``(Ỹ - Z W) Fᵀ`` with ``Ỹ Fᵀ = [s ∘ F[:, :k]ᵀ; 0]``."""
        out = -(Z @ (W @ F.mT))
        out[..., : self.k, :] += self.s[..., :, None] * F[..., :, : self.k].mT
        return out

    def Gt_E(self, G: np.ndarray, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``Gᵀ (Ỹ - Z W)`` with ``Gᵀ Ỹ = [G[:k]ᵀ ∘ s, 0]``."""
        out = -((G.mT @ Z) @ W)
        out[..., :, : self.k] += G[..., : self.k, :].mT * self.s[..., None, :]
        return out

    def sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``‖Ỹ - Z W‖²_F`` per seed; equals the dense error exactly in exact arithmetic."""
        return batched_sq_norm(self.E, Z.shape[-2] * W.shape[-1], Z, W)

