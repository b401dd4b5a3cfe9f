"""The target as a linear operator: the only place rules touch Y.

Every update rule is written with two products, so it never forms the n×m
residual ``E = Y - ZW``:

* ``E Fᵀ = Y Fᵀ - Z (W Fᵀ)``      (Z-updates; F is W for GD, B for FA)
* ``Gᵀ E = Gᵀ Y - (Gᵀ Z) W``      (W-updates; G is Z, or FA*'s midpoint)

:class:`TargetOperator` states this interface once; every method takes the
state ``(Z, W)`` first and the extra matrix last. Three operators implement
it: :class:`DenseY` here (the dense matrix, cost O(n m r)),
:class:`fa_core.reduced.ReducedY` (the exact reduced coordinates, cost
independent of n and m) and :class:`fa_core.network.DataY` (a network's
forward and backward passes over samples).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .linalg import batched_sq_norm


class TargetOperator(Protocol):
    """What an update rule and the training loop need from a target.

    All arrays are stacked over seeds: Z (S, n, r), W (S, r, m).
    """

    def E(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """The residual ``Y - Z W`` (or the operator's equivalent of it)."""
        ...

    def E_Ft(self, Z: np.ndarray, W: np.ndarray, F: np.ndarray) -> np.ndarray:
        """``(Y - Z W) Fᵀ`` for F of W's shape: the error sent back through F, shape (S, n, r)."""
        ...

    def Gt_E(self, Z: np.ndarray, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        """``Gᵀ (Y - Z W)`` for G of Z's shape: W's update direction, shape (S, r, m)."""
        ...

    def sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``‖Y - Z W‖²_F`` per seed, shape (S,)."""
        ...


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
    """The target ``Y`` held densely; a :class:`TargetOperator`.

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

    def Gt_E(self, Z: np.ndarray, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        """``Gᵀ (Y - Z W)``, shape (S, r, m)."""
        return G.mT @ self.Y - (G.mT @ Z) @ W

    def sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``‖Y - Z W‖²_F`` per seed, as a sum of squares (no cancellation)."""
        return batched_sq_norm(self.E, Z.shape[-2] * W.shape[-1], Z, W)
