"""Inputs for the two-layer network, and the factorization a data set poses.

Isotropic inputs (:func:`whitened_inputs`, :func:`gaussian_inputs`) are the
paper's setting; :func:`whiten` makes a given data set isotropic; and
:func:`linear_teacher` turns any (X, T) into the Σ-weighted factorization
its linear network solves.
"""

from __future__ import annotations

import numpy as np

from ._checks import Seed, as_finite_array, as_generator, positive_int
from .linalg import haar_orthonormal, sqrt_spd


def whitened_inputs(N: int, n: int, rng: Seed) -> np.ndarray:
    """N inputs with XᵀX/N = I exactly (N >= n): √N times a Haar-random N×n isometry.

    Parameters
    ----------
    N : int
        Number of inputs, N >= n.
    n : int
        Input dimension, >= 1.
    rng : int, SeedSequence or Generator
        Source of randomness.

    Returns
    -------
    ndarray, shape (N, n)

    Examples
    --------
    >>> import fa_core as fa
    >>> X = fa.whitened_inputs(50, 3, rng=0)
    >>> bool(np.allclose(X.T @ X / 50, np.eye(3)))
    True
    """
    n = positive_int(n, "n")
    N = positive_int(N, "N", low=n)
    return np.sqrt(N) * haar_orthonormal(as_generator(rng), N, n)


def gaussian_inputs(N: int, n: int, rng: Seed, Sigma: np.ndarray | None = None) -> np.ndarray:
    """N i.i.d. inputs x ~ N(0, Σ) (Σ = I if omitted), shape (N, n).

    Parameters
    ----------
    N : int
        Number of inputs, >= 1.
    n : int
        Input dimension, >= 1.
    rng : int, SeedSequence or Generator
        Source of randomness.
    Sigma : ndarray, shape (n, n), default=None
        Symmetric positive definite covariance (see
        :func:`fa_core.linalg.sqrt_spd`); the identity if None.

    Returns
    -------
    ndarray, shape (N, n)
        Rows x = Σ^{1/2} g with g standard Gaussian.

    Examples
    --------
    >>> import fa_core as fa
    >>> X = fa.gaussian_inputs(20000, 2, rng=0, Sigma=np.diag([1.0, 4.0]))
    >>> np.round(np.diag(X.T @ X / 20000), 1)  # the variances
    array([1., 4.])
    """
    X = as_generator(rng).standard_normal((positive_int(N, "N"), positive_int(n, "n")))
    return X if Sigma is None else X @ sqrt_spd(Sigma, n)


def whiten(X: np.ndarray) -> np.ndarray:
    """Inputs with identity second moment: X Σ̂^{-1/2}, where Σ̂ = XᵀX/N, shape (N, n).

    The corollary's isotropy made true for a given data set. Σ̂ must be
    positive definite (drop constant input coordinates first).

    Parameters
    ----------
    X : ndarray, shape (N, n)

    Notes
    -----
    Any invertible linear map A of the inputs (x → Aᵀx) changes neither
    limit of a linear network on (X, T): GD's optimum is a minimum over all
    rank-r maps, and FA's first-layer features X Z span col(X Y Bᵀ) =
    col(T̂ Bᵀ), with T̂ = X Y the least-squares prediction, in either
    coordinates. Whitening changes the conditioning, so the speed.
    """
    X = as_finite_array(X, "X", ndim=(2,))
    return np.linalg.solve(_covariance_root(X)[1], X.T).T


def _covariance_root(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ̂ = XᵀX/N and its symmetric square root, with an error naming X if Σ̂ is singular."""
    Sigma = X.T @ X / X.shape[0]
    try:
        return Sigma, sqrt_spd(Sigma, X.shape[1])
    except ValueError:
        raise ValueError(
            "XᵀX/N must be positive definite: X needs at least as many samples as columns, "
            "and no constant or linearly dependent columns (drop them first)"
        ) from None


def linear_teacher(X: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The factorization a linear network on (X, T) solves: (Y, Σ̂, floor).

    Parameters
    ----------
    X : ndarray, shape (N, n)
        Inputs, with Σ̂ = XᵀX/N positive definite.
    T : ndarray, shape (N, m)
        Targets.

    Returns
    -------
    Y : ndarray, shape (n, m)
        The least-squares teacher Σ̂⁻¹ XᵀT / N.
    Sigma : ndarray, shape (n, n)
        Σ̂ = XᵀX / N.
    floor : float
        ‖T − X Y‖²_F / N, the loss no linear network gets below.

    Notes
    -----
    For every Z (n×r) and W (r×m), since Xᵀ(T − XY) = 0,

        ‖T − X Z W‖²_F / N = floor + ‖Σ̂^{1/2} (Y − Z W)‖²_F,

    so the network's limits are the Σ-weighted closed forms for Y, plus the floor.
    """
    X = as_finite_array(X, "X", ndim=(2,))
    T = as_finite_array(T, "T", ndim=(2,))
    if X.shape[0] != T.shape[0]:
        raise ValueError(
            f"X and T must have the same number of rows (samples); got {X.shape[0]} and {T.shape[0]}"
        )
    N = X.shape[0]
    Sigma, L = _covariance_root(X)
    Y = np.linalg.solve(L, np.linalg.solve(L, X.T @ T / N))
    return Y, Sigma, float(np.sum((T - X @ Y) ** 2) / N)
