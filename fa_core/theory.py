"""Closed forms: the optimum, FA's limit, and subspace geometry.

Background: paper-notes D4 (FA's limit) and Eckart-Young (the optimum).
"""
from __future__ import annotations

import numpy as np

from ._checks import as_finite_array, check_shape, positive_int
from .operators import batched_sq_norm
from .targets import Target


def as_target(target_or_Y) -> Target:
    """Accept a :class:`Target` or a dense 2-D array."""
    if isinstance(target_or_Y, Target):
        return target_or_Y
    return Target.from_matrix(target_or_Y)


def optimal_error(target_or_Y, r: int, Sigma=None) -> float:
    """Eckart-Young: min over rank-r ZW of ‖Y - ZW‖²_F = Σ_{i>r} σ_i².

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    r : int
        Inner dimension, 1 <= r <= min(n, m).
    Sigma : ndarray, shape (n, n), optional
        Input covariance. The loss becomes ‖Σ^{1/2}(Y − ZW)‖²_F, whose
        minimum over rank r is Σ_{i>r} σ_i(Σ^{1/2} Y)² (the best rank-r fit
        in the Σ^{1/2} metric, GD's limit for anisotropic inputs).
    """
    t = as_target(target_or_Y)
    positive_int(r, "r", high=min(t.n, t.m))
    if Sigma is None:
        return float(np.sum(t.s[r:] ** 2))
    s = np.linalg.svd(sqrt_spd(Sigma, t.n) @ t.Y, compute_uv=False)
    return float(np.sum(s[r:] ** 2))


def optimal_fit(target_or_Y, r: int, Sigma=None) -> np.ndarray:
    """The rank-r minimizer M of ‖Σ^{1/2}(Y − M)‖²_F: GD's limit ZW, shape (n, m).

    Without Sigma it is the truncated SVD [Y]_r; with it, Σ^{−1/2} [Σ^{1/2} Y]_r.
    """
    t = as_target(target_or_Y)
    positive_int(r, "r", high=min(t.n, t.m))
    if Sigma is None:
        return (t.U[:, :r] * t.s[:r]) @ t.V[:, :r].T
    L = sqrt_spd(Sigma, t.n)
    U, s, Vt = np.linalg.svd(L @ t.Y, full_matrices=False)
    return np.linalg.solve(L, (U[:, :r] * s[:r]) @ Vt[:r])


def sqrt_spd(Sigma, n: int) -> np.ndarray:
    """Symmetric square root of a symmetric positive definite n×n matrix."""
    Sigma = as_finite_array(Sigma, "Sigma", ndim=(2,))
    check_shape(Sigma, "Sigma", (n, n))
    w, V = np.linalg.eigh(0.5 * (Sigma + Sigma.T))
    if w[0] <= 0:
        raise ValueError(f"Sigma must be positive definite; its smallest eigenvalue is {w[0]:.3g}")
    return (V * np.sqrt(w)) @ V.T


def _feedback_coords(t: Target, B) -> np.ndarray:
    """D = B V, the feedback's coordinates in Y's row space, shape (..., r, k)."""
    B = as_finite_array(B, "B", ndim=(2, 3))
    check_shape(B, "B", (B.shape[-2], t.m))
    return B @ t.V


def _sketch_basis(s: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Orthonormal basis (in U-coordinates) of col(S Dᵀ) = Uᵀ col(Y Bᵀ)."""
    Q, _ = np.linalg.qr(s[:, None] * D.swapaxes(-1, -2))
    return Q


def fa_limit(target_or_Y, B) -> np.ndarray:
    """FA's limit P Y, with P the orthogonal projector onto col(Y Bᵀ) (paper-notes D4).

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (N, r, m)

    Returns
    -------
    ndarray, shape (n, m) or (N, n, m)

    Notes
    -----
    Assumes rank(Y Bᵀ) = min(r, k), which holds almost surely for random B.
    """
    t = as_target(target_or_Y)
    Q = _sketch_basis(t.s, _feedback_coords(t, B))
    UQ = t.U @ Q
    return UQ @ ((Q.swapaxes(-1, -2) * t.s) @ t.V.T)


def fa_limit_error(target_or_Y, B, Sigma=None) -> np.ndarray | float:
    """‖(I - P) Y‖²_F, the error at which FA from zero (or small) init stops.

    Computed in Y's singular coordinates as ‖S - Q Qᵀ S‖²_F, a sum of squares.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (N, r, m)
    Sigma : ndarray, shape (n, n), optional
        Input covariance. FA's stationary points still have col(Z) = col(Y Bᵀ)
        (from Σ E Bᵀ = 0), but the fit is the Σ-weighted projection
        P_Σ = Q (QᵀΣQ)⁻¹ QᵀΣ, and the error is ‖Σ^{1/2}(I − P_Σ) Y‖²_F.

    Returns
    -------
    float, or ndarray of shape (N,)
    """
    t = as_target(target_or_Y)
    if Sigma is None:
        out = sketch_error(t.s, _feedback_coords(t, B))
    else:
        L = sqrt_spd(Sigma, t.n)
        Sigma = L @ L
        Q = orthonormal_basis(t.Y @ np.swapaxes(as_finite_array(B, "B", ndim=(2, 3)), -1, -2))
        fit = Q @ np.linalg.solve(Q.swapaxes(-1, -2) @ Sigma @ Q, Q.swapaxes(-1, -2) @ Sigma @ t.Y)
        R = L @ (t.Y - fit)
        out = np.einsum("...ij,...ij->...", R, R)
    return float(out) if np.ndim(out) == 0 else out


def sketch_error(s: np.ndarray, D: np.ndarray) -> np.ndarray:
    """‖diag(s) - Q Qᵀ diag(s)‖²_F with Q = orth(diag(s) Dᵀ); D has shape (..., r, k).

    This is :func:`fa_limit_error` in coordinates: by rotation invariance,
    D = B V is itself Gaussian when B is, so many draws cost O(k² r) each and
    never touch n or m.
    """
    lead = D.shape[:-2]
    D = D.reshape(-1, *D.shape[-2:])
    S = np.diag(s)

    def residual(Dc):
        Q = _sketch_basis(s, Dc)
        return S - Q @ (Q.swapaxes(-1, -2) * s)

    return batched_sq_norm(residual, s.size**2, D).reshape(lead)


def top_singular_subspace(target_or_Y, r: int, rtol: float = 1e-12) -> np.ndarray:
    """Left singular vectors with σ_i ≥ σ_r (ties included), shape (n, q) with q ≥ r.

    GD's rank-r representation lies in this subspace; it is the top-r
    subspace itself when σ_r > σ_{r+1}, and larger when σ_r is tied.
    """
    t = as_target(target_or_Y)
    positive_int(r, "r", high=t.k)
    q = int(np.sum(t.s >= t.s[r - 1] * (1 - rtol)))
    return t.U[:, :q]


def orthonormal_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of col(A) by thin QR (A assumed full column rank)."""
    return np.linalg.qr(A)[0]


def principal_angles(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Principal angles between col(A) and col(C), in radians, ascending.

    Parameters
    ----------
    A : ndarray, shape (..., n, p)
    C : ndarray, shape (..., n, q)

    Returns
    -------
    ndarray, shape (..., min(p, q))

    Notes
    -----
    Cosines come from the singular values of Q_Aᵀ Q_C and sines from those of
    (I - Q_A Q_Aᵀ) Q_C (Knyazev & Argentati 2002): arcsin is used for angles
    below 45° and arccos above, so small angles are accurate to ~1e-16
    rather than ~1e-8.
    """
    A = as_finite_array(A, "A", ndim=(2, 3))
    C = as_finite_array(C, "C", ndim=(2, 3))
    if A.shape[-2] != C.shape[-2]:
        raise ValueError(f"A and C must have the same number of rows; got {A.shape} and {C.shape}")
    if A.shape[-1] < C.shape[-1]:
        A, C = C, A
    Qa, Qc = orthonormal_basis(A), orthonormal_basis(C)
    cos = np.linalg.svd(Qa.swapaxes(-1, -2) @ Qc, compute_uv=False)  # descending
    sin = np.linalg.svd(Qc - Qa @ (Qa.swapaxes(-1, -2) @ Qc), compute_uv=False)[..., ::-1]
    small = np.arcsin(np.clip(sin, 0.0, 1.0))
    large = np.arccos(np.clip(cos, -1.0, 1.0))
    return np.where(cos**2 >= 0.5, small, large)


def subspace_overlap(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Mean squared cosine of the principal angles: ‖Q_Aᵀ Q_C‖²_F / min(p, q)."""
    return np.mean(np.cos(principal_angles(A, C)) ** 2, axis=-1)
