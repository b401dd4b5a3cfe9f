"""Closed forms: every prediction the notebooks check iterated runs against.

The optimum (Eckart-Young), FA's limit (the projection onto the sketch
col(Y Bᵀ)), their Σ-weighted versions for anisotropic inputs, the error by mode,
the separation's size on a head-plus-tail spectrum, and the orthogonal-
representation predictions on a bump spectrum.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_finite_array, check_shape, positive_float, positive_int
from .linalg import chunked, orthonormal_basis, range_basis, sq_norms, sqrt_spd
from .targets import Target, as_target


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
    s = t.s if Sigma is None else np.linalg.svd(sqrt_spd(Sigma, t.n) @ t.Y, compute_uv=False)
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


def _as_feedback(B, m: int) -> np.ndarray:
    """``B`` validated as a finite (r, m) or stacked (S, r, m) float array."""
    B = as_finite_array(B, "B", ndim=(2, 3))
    check_shape(B, "B", (B.shape[-2], m))
    return B


def _feedback_coords(t: Target, B) -> np.ndarray:
    """D = B V, the feedback's coordinates in Y's row space, shape (..., r, k)."""
    return _as_feedback(B, t.m) @ t.V


def _sketch_basis(s: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Orthonormal basis (in U-coordinates) of col(S Dᵀ) = Uᵀ col(Y Bᵀ), at its actual rank."""
    return range_basis(s[:, None] * D.swapaxes(-1, -2))


def fa_limit(target_or_Y, B) -> np.ndarray:
    """FA's limit P Y, with P the orthogonal projector onto col(Y Bᵀ).

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (N, r, m)

    Returns
    -------
    ndarray, shape (n, m) or (N, n, m)

    Notes
    -----
    P projects onto col(Y Bᵀ) at its actual rank: min(r, k) for a random B,
    less for a degenerate one (B = 0 gives P = 0).
    """
    t = as_target(target_or_Y)
    Q = _sketch_basis(t.s, _feedback_coords(t, B))
    return (t.U @ Q) @ ((Q.swapaxes(-1, -2) * t.s) @ t.V.T)


def fa_limit_error(target_or_Y, B, Sigma=None) -> np.ndarray | float:
    """‖(I - P) Y‖²_F, the error at which FA from zero (or small) init stops.

    Computed in Y's singular coordinates by :func:`sketch_error`.

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
        B = _as_feedback(B, t.m)
        Q = range_basis(t.Y @ B.swapaxes(-1, -2))  # zero columns past rank(Y Bᵀ)
        unused = np.all(Q == 0, axis=-2)  # those columns get coefficient 0: put 1 on their diagonal
        M = Q.swapaxes(-1, -2) @ Sigma @ Q + unused[..., None] * np.eye(Q.shape[-1])
        fit = Q @ np.linalg.solve(M, Q.swapaxes(-1, -2) @ Sigma @ t.Y)
        out = sq_norms(L @ (t.Y - fit))
    return float(out) if np.ndim(out) == 0 else out


def sketch_error(s: np.ndarray, D: np.ndarray) -> np.ndarray:
    """‖diag(s) - Q Qᵀ diag(s)‖²_F with Q = orth(diag(s) Dᵀ); D has shape (..., r, k).

    :func:`fa_limit_error` in coordinates: D = B V is Gaussian when B is, so
    many draws cost O(k r²) each and never touch n or m.

    Notes
    -----
    Split the columns of (I − QQᵀ) S into J, the top min(r, k) values, formed
    and summed as squares, and the rest, ‖S_{J^c}‖² − ‖Qᵀ S_{J^c}‖² = a − b.
    That cannot cancel: a = Σ_{i∈J^c} s_i² is the rank-r optimum, so a is at
    most the result (Eckart-Young), which keeps O(eps) relative accuracy.
    """
    s = as_finite_array(s, "s", ndim=(1,))
    D = as_finite_array(D, "D", ndim=(2, 3))
    check_shape(D, "D", (D.shape[-2], s.size))
    lead, D = D.shape[:-2], D.reshape(-1, *D.shape[-2:])
    order = np.argsort(-s, kind="stable")
    J, Jc = order[: D.shape[-2]], order[D.shape[-2] :]
    a = np.sum(s[Jc] ** 2)

    def error(Dc):
        Q = _sketch_basis(s, Dc)
        cols = -(Q @ (Q[:, J, :].swapaxes(-1, -2) * s[J]))  # (I − P) S, columns J
        cols[:, J, np.arange(J.size)] += s[J]
        b = np.einsum("nir,nir,i->n", Q[:, Jc, :], Q[:, Jc, :], s[Jc] ** 2)
        return sq_norms(cols) + (a - b)

    return chunked(error, 3 * s.size * D.shape[-2], D).reshape(lead)


def top_singular_subspace(target_or_Y, r: int, rtol: float = 1e-12) -> np.ndarray:
    """Left singular vectors with σ_i ≥ σ_r (ties included), shape (n, q) with q ≥ r.

    GD's rank-r representation lies in this subspace; it is the top-r
    subspace itself when σ_r > σ_{r+1}, and larger when σ_r is tied.
    """
    t = as_target(target_or_Y)
    positive_int(r, "r", high=t.k)
    q = int(np.sum(t.s >= t.s[r - 1] * (1 - rtol)))
    return t.U[:, :q]


def sketch(target_or_Y, B) -> np.ndarray:
    """Y Bᵀ, the random sketch whose range FA's representation keeps from a zero start.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (S, r, m)

    Returns
    -------
    ndarray, shape (n, r) or (S, n, r)
        For a Target, U (diag(s) (B V)ᵀ), never forming the dense Y.
    """
    if isinstance(target_or_Y, Target):
        t = target_or_Y
        return t.U @ (t.s[:, None] * _feedback_coords(t, B).swapaxes(-1, -2))
    Y = as_finite_array(target_or_Y, "Y", ndim=(2,))
    return Y @ _as_feedback(B, Y.shape[1]).swapaxes(-1, -2)


def error_by_mode(target_or_Y, Z) -> np.ndarray:
    """σ_i² (1 − ‖Q_Zᵀ u_i‖²): how much of Y's i-th mode the projection onto col(Z) misses.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    Z : ndarray, shape (n, r) or (S, n, r)

    Returns
    -------
    ndarray, shape (k,) or (S, k)
        Sums to ‖(I − P_Z) Y‖²_F, the error of the best fit with representation Z.
    """
    t = as_target(target_or_Y)
    captured = np.sum(
        (orthonormal_basis(as_finite_array(Z, "Z", ndim=(2, 3))).swapaxes(-1, -2) @ t.U) ** 2,
        axis=-2,
    )
    return t.s**2 * (1 - captured)


def head_tail_ratio(D: np.ndarray, tail_level: float) -> np.ndarray:
    """FA/OPT, exactly, on a head-plus-tail spectrum: r values at 1 and q at s, with r units.

    With D = [G₁, G₂] the feedback in Y's right singular basis (G₁ r×r, G₂ r×q)
    and H = G₂ᵀ G₁⁻ᵀ, FA's error over OPT_r = q s² is

        FA/OPT = 1 + (1 − s²)/q · tr((I + s² HᵀH)⁻¹ HᵀH).

    Parameters
    ----------
    D : ndarray, shape (..., r, r + q)
    tail_level : float
        s, in (0, 1).

    Returns
    -------
    ndarray, shape (...)
    """
    D = as_finite_array(D, "D", ndim=(2, 3))
    s = positive_float(tail_level, "tail_level")
    r = D.shape[-2]
    q = positive_int(D.shape[-1] - r, "the tail size q = D.shape[-1] − r")
    H = D[..., r:].swapaxes(-1, -2) @ np.linalg.inv(D[..., :r].swapaxes(-1, -2))
    HtH = H.swapaxes(-1, -2) @ H
    return 1 + (1 - s**2) / q * np.trace(
        np.linalg.solve(np.eye(r) + s**2 * HtH, HtH), axis1=-2, axis2=-1
    )


def head_tail_estimate(sv_head: np.ndarray, tail: int, tail_level: float) -> np.ndarray:
    """Leading-order FA/OPT on a head-plus-tail spectrum, from the head block's singular values alone.

    Replacing G₂ G₂ᵀ by its mean q·I in :func:`head_tail_ratio` gives
    FA/OPT ≈ 1 + (1 − s²) Σ_i 1/(σ_i(G₁)² + q s²), for standard Gaussian G₁.
    A heuristic: exact only in that mean, and the measured median is checked
    against it within a band.

    Parameters
    ----------
    sv_head : ndarray, shape (..., r)
        Singular values of draws of a standard Gaussian r×r matrix G₁.
    tail, tail_level : int, float
        q, the number of tail singular values, and their level s.

    Returns
    -------
    ndarray, shape (...)
    """
    q = positive_int(tail, "tail", low=0)
    s = positive_float(tail_level, "tail_level")
    return 1 + (1 - s**2) * np.sum(1 / (np.asarray(sv_head, dtype=float) ** 2 + q * s**2), axis=-1)


def bump_overlap(k, r: int, delta: float):
    """Predicted GD-FA subspace overlap on the bump spectrum (r values at 1+δ, k−r at 1).

    (1+δ)² r / ((1+δ)² r + k − r): the share of a column of Y Bᵀ's energy on the
    top-r coordinates. It is (1+δ)² r/k to leading order in r/k. ``k`` may be an
    int or an array of ranks.
    """
    return (1 + delta) ** 2 * r / ((1 + delta) ** 2 * r + k - r)


def bump_excess(k, r: int, delta: float, overlap=0.0):
    """FA/GD − 1 on the bump spectrum, exactly, for a representation inside col(Y).

    An r-dimensional subspace of col(Y) whose mean squared cosine with the top-r
    subspace is ``overlap`` leaves the error (k − r) + ((1+δ)² − 1) r (1 − overlap);
    GD's optimum leaves k − r. So FA/GD − 1 = ((1+δ)² − 1) r (1 − overlap) / (k − r).
    """
    return ((1 + delta) ** 2 - 1) * r * (1 - np.asarray(overlap, dtype=float)) / (k - r)


def bump_excess_bound(k, r: int, delta: float):
    """Exact upper bound ((1+δ)² − 1) r / (k − r) on FA/GD − 1: :func:`bump_excess` at overlap 0."""
    return bump_excess(k, r, delta, 0.0)


def alignment_bound(V0, lam_sym_min: np.ndarray, eta: float) -> np.ndarray:
    """The decay of V = ‖E Bᵀ‖²_F that FA's alignment guarantees, in discrete time.

    Under the FA flow dV/dt ≤ −λ_min(W Bᵀ + B Wᵀ) V, so
    V_t ≤ V_0 exp(−η Σ_{s<t} 2 λ_min(sym W_s B_sᵀ)).

    Parameters
    ----------
    V0 : ndarray, shape (S,) or float
        V at the first step of the window.
    lam_sym_min : ndarray, shape (S, T)
        λ_min(sym W Bᵀ) at every step of the window (the recorder ``lam_min_WBt``).
    eta : float

    Returns
    -------
    ndarray, shape (S, T)
        The bound at each step of the window; its first column is V0.
    """
    lam = np.atleast_2d(lam_sym_min)
    integral = np.concatenate(
        [np.zeros((lam.shape[0], 1)), np.cumsum(2 * lam[:, :-1], axis=1)], axis=1
    )
    return np.reshape(V0, (-1, 1)) * np.exp(-eta * integral)


# -- FA and FA* near their limit: the local rate and its bounds (derivations R6) ----------------


def limit_modes(target_or_Y, Z, W, B, *, from_zero: bool) -> np.ndarray:
    """The decay rates per unit time of FA's and FA*'s error modes at a limit (Z, W) with ZW = Y.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    Z : ndarray, shape (n, r) or (S, n, r)
    W, B : ndarray, shape (r, m) or (S, r, m)
        The final state of a converged run and its feedback.
    from_zero : bool
        True if the run started at Z = W = 0, so that Z stays in col(Y) and W
        in row(Y) and only the error inside Y's singular subspaces is left;
        False for a random start, whose parts outside them decay too.

    Returns
    -------
    ndarray, complex, shape (S, K)
        Every z such that a step multiplies a mode of the error by 1 − η z.

    Notes
    -----
    In Y's singular coordinates E = U e Vᵀ + (parts outside), G = Uᵀ Z Zᵀ U and
    M = Vᵀ Bᵀ W V (both k×k; M is the alignment of W with B in Y's row space).
    To first order in e, FA and FA* both step

        e ← e − η (e M + G e),

    a Sylvester map with eigenvalues 1 − η (μ_i + γ_j), μ_i ∈ eig(M), γ_j ∈ eig(G).
    Outside, Z⊥ ← Z⊥ (I − η W Bᵀ) exactly and W⊥ ← (I − η ZᵀZ) W⊥ to first
    order, which adds z = μ for μ ∈ eig(W Bᵀ) and z = γ for γ ∈ eig(ZᵀZ)
    (derivations R6).
    """
    t = as_target(target_or_Y)
    Z, W, B = (np.asarray(X, dtype=float).reshape(-1, *np.shape(X)[-2:]) for X in (Z, W, B))
    UtZ = t.U.T @ Z
    mu = np.linalg.eigvals((B @ t.V).mT @ (W @ t.V))
    gamma = np.linalg.eigvalsh(UtZ @ UtZ.mT)
    modes = [(mu[:, :, None] + gamma[:, None, :]).reshape(len(Z), -1)]
    if not from_zero:
        modes += [np.linalg.eigvals(W @ B.mT), np.linalg.eigvalsh(Z.mT @ Z)]
    return np.concatenate(modes, axis=1)


def local_rate(target_or_Y, Z, W, B, eta: float, *, from_zero: bool) -> np.ndarray | float:
    """The asymptotic rate −d ln‖E‖²/d step of FA or FA* at a limit (Z, W) with ZW = Y.

    Parameters
    ----------
    target_or_Y, Z, W, B, from_zero
        As in :func:`limit_modes`.
    eta : float
        Step size, > 0.

    Returns
    -------
    ndarray, shape (S,), or float for a single state
        −2 ln max |1 − η z| over the modes z of :func:`limit_modes`: the slowest
        mode sets the rate.
    """
    eta = positive_float(eta, "eta")
    factors = np.abs(1 - eta * limit_modes(target_or_Y, Z, W, B, from_zero=from_zero))
    rate = -2 * np.log(np.max(factors, axis=1))
    return float(rate[0]) if np.ndim(Z) == 2 else rate


def fa_star_gram_bounds(target_or_Y, B) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the k nonzero eigenvalues of ZᵀZ at FA*'s limit from zero, r ≥ k.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (S, r, m)

    Returns
    -------
    lower, upper : ndarray, shape (S,) or float
        (2 s_k σ_k(B V_k))^{2/3} and (2 s_1 σ_1(B V_k))^{2/3}.

    Notes
    -----
    At a limit with C = 0, ZW = Y and ZᵀZ = W Bᵀ + B Wᵀ, so in Y's coordinates
    G = Uᵀ Z Zᵀ U and P = Uᵀ Z B V satisfy G² = S Pᵀ + P S. For a unit
    eigenvector u of G with eigenvalue γ, γ² = 2 uᵀ S Pᵀ u ≤ 2 s_1 σ_1(B V) √γ,
    so every γ ≤ ``upper`` (derived). When Y's singular values are all equal
    to s, FA* from zero decouples along the singular vectors of B V and the
    eigenvalues are exactly (2 s σ_i(B V))^{2/3}. That every γ ≥ ``lower``
    in general is a conjecture (derivations R6).
    """
    t = as_target(target_or_Y)
    D = _feedback_coords(t, B)
    if D.shape[-2] < t.k:
        raise ValueError(f"B must have r >= k = {t.k} rows; got r = {D.shape[-2]}")
    sv = np.linalg.svd(D, compute_uv=False)
    return (2 * t.s[-1] * sv[..., t.k - 1]) ** (2 / 3), (2 * t.s[0] * sv[..., 0]) ** (2 / 3)


def fa_star_rate(target_or_Y, B, eta: float) -> np.ndarray | float:
    """FA*'s asymptotic rate from zero, −2 ln(1 − (3η/2) (2 s_k σ_k(B V_k))^{2/3}), r ≥ k.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (S, r, m)
    eta : float
        Step size, > 0.

    Returns
    -------
    ndarray, shape (S,), or float
        A rate per step of ‖E‖²; inf once (3η/2) (2 s_k σ_k)^{2/3} ≥ 1.

    Notes
    -----
    Exact when Y's singular values are all equal to s (derivations R6): each
    singular direction i of B V_k is then a scalar FA* problem
    a ← a + η (s σ_i − a³/2) with limit a³ = 2 s σ_i, whose error shrinks by
    1 − (3η/2) a² per step near it. For a general spectrum it is a
    conjectured lower bound: with γ_min ≥ (2 s_k σ_k)^{2/3} and C = 0, the
    slowest mode decays at least this fast.
    """
    eta = positive_float(eta, "eta")
    x = 1.5 * eta * np.asarray(fa_star_gram_bounds(target_or_Y, B)[0])
    rate = np.where(x < 1, -2 * np.log(np.clip(1 - x, np.finfo(float).tiny, None)), np.inf)
    return rate if rate.ndim else float(rate)
