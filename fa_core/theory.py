"""Closed forms: every prediction the notebooks check iterated runs against.

The optimum (Eckart-Young), FA's limit (the projection onto the sketch
col(Y Bᵀ)), their Σ-weighted versions for anisotropic inputs, the error by mode,
the separation's size on a head-plus-tail spectrum, and the orthogonal-
representation predictions on a bump spectrum.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_finite_array, check_shape, positive_float, positive_int
from .linalg import chunked, range_and_rank, range_basis, sq_norms, sqrt_spd
from .targets import Target, as_target


def optimal_error(target_or_Y, r: int, Sigma=None) -> float:
    """Eckart-Young: min over rank-r ZW of ‖Y - ZW‖²_F = Σ_{i>r} σ_i².

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    r : int
        Inner dimension, 1 <= r <= min(n, m).
    Sigma : ndarray, shape (n, n), default=None
        Input covariance, symmetric positive definite. The loss becomes
        ‖Σ^{1/2}(Y − ZW)‖²_F, whose minimum over rank r is
        Σ_{i>r} σ_i(Σ^{1/2} Y)² (the best rank-r fit in the Σ^{1/2} metric,
        GD's limit for anisotropic inputs).

    Returns
    -------
    float

    Examples
    --------
    >>> import fa_core as fa
    >>> t = fa.make_target([1.0, 0.5, 0.25], n=6, m=5, rng=0)
    >>> fa.optimal_error(t, r=1)  # 0.5² + 0.25²
    0.3125
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


def _sketch_tolerance(s: np.ndarray, B: np.ndarray, n: int, m: int) -> np.ndarray:
    """The rank tolerance for Y Bᵀ: max(n, m, r) · eps · ‖Y‖₂ ‖B‖_F, per feedback, shape (...).

    Forming Y Bᵀ (or S (B V)ᵀ) leaves rounding of order eps ‖Y‖ ‖B‖ in every
    direction, whatever the size of Y Bᵀ itself, so the tolerance is relative
    to ‖Y‖ ‖B‖: feedback orthogonal to Y's rows gives a sketch of rank 0, not
    rounding promoted to directions.
    """
    r = B.shape[-2]
    return max(n, m, r) * np.finfo(float).eps * np.max(s) * np.sqrt(sq_norms(B))


def _sketch_basis(s: np.ndarray, D: np.ndarray, tol) -> np.ndarray:
    """Orthonormal basis (in U-coordinates) of col(S Dᵀ) = Uᵀ col(Y Bᵀ), zero past its rank at ``tol``."""
    return range_basis(s[:, None] * D.swapaxes(-1, -2), tol)


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
    P projects onto col(Y Bᵀ) at its numerical rank: min(r, k) for a random B,
    less for a degenerate one (B = 0, or B orthogonal to Y's rows, gives
    P = 0). Singular values of Y Bᵀ at or below max(n, m, r)·eps·‖Y‖₂‖B‖_F
    are rounding, not directions.

    Examples
    --------
    >>> import fa_core as fa
    >>> t = fa.Target(np.eye(3)[:, :2], np.array([2.0, 1.0]), np.eye(3)[:, :2])
    >>> fa.theory.fa_limit(t, np.array([[1.0, 0.0, 0.0]]))  # feedback on Y's first row: P = e₁e₁ᵀ
    array([[2., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.]])
    """
    t = as_target(target_or_Y)
    B = _as_feedback(B, t.m)
    Q = _sketch_basis(t.s, B @ t.V, _sketch_tolerance(t.s, B, t.n, t.m))
    return (t.U @ Q) @ ((Q.swapaxes(-1, -2) * t.s) @ t.V.T)


def fa_limit_error(target_or_Y, B, Sigma=None) -> np.ndarray | float:
    """‖(I - P) Y‖²_F, the error at which FA from zero (or small) init stops.

    Computed in Y's singular coordinates by :func:`sketch_error`.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    B : ndarray, shape (r, m) or (N, r, m)
    Sigma : ndarray, shape (n, n), default=None
        Input covariance. FA's stationary points still have col(Z) = col(Y Bᵀ)
        (from Σ E Bᵀ = 0), but the fit is the Σ-weighted projection
        P_Σ = Q (QᵀΣQ)⁻¹ QᵀΣ, and the error is ‖Σ^{1/2}(I − P_Σ) Y‖²_F.

    Returns
    -------
    float, or ndarray of shape (N,)

    Notes
    -----
    The rank of Y Bᵀ is taken at the tolerance max(n, m, r)·eps·‖Y‖₂‖B‖_F
    (see :func:`fa_limit`), the same for a Target, a dense Y and with Σ.

    Examples
    --------
    >>> import fa_core as fa
    >>> t = fa.make_target([1.0, 0.5], n=4, m=3, rng=0)
    >>> round(fa.fa_limit_error(t, t.V[:, :1].T), 12)  # feedback along v₁: mode 2 is missed
    0.25
    >>> fa.fa_limit_error(t, np.zeros((1, 3)))  # no feedback: FA learns nothing, ‖Y‖²
    1.25
    """
    t = as_target(target_or_Y)
    B = _as_feedback(B, t.m)
    tol = _sketch_tolerance(t.s, B, t.n, t.m)
    if Sigma is None:
        out = _sketch_error(t.s, B @ t.V, tol)
    else:
        L = sqrt_spd(Sigma, t.n)
        Sigma = L @ L
        Q = range_basis(t.Y @ B.swapaxes(-1, -2), tol)  # zero columns past rank(Y Bᵀ)
        unused = np.all(Q == 0, axis=-2)  # those columns get coefficient 0: put 1 on their diagonal
        M = Q.swapaxes(-1, -2) @ Sigma @ Q + unused[..., None] * np.eye(Q.shape[-1])
        fit = Q @ np.linalg.solve(M, Q.swapaxes(-1, -2) @ Sigma @ t.Y)
        out = sq_norms(L @ (t.Y - fit))
    return float(out) if np.ndim(out) == 0 else out


def sketch_error(s: np.ndarray, D: np.ndarray) -> np.ndarray:
    """‖diag(s) - Q Qᵀ diag(s)‖²_F with Q = orth(diag(s) Dᵀ); D has shape (..., r, k).

    :func:`fa_limit_error` in coordinates: D = B V is Gaussian when B is, so
    many draws cost O(k r²) each and never touch n or m.

    Parameters
    ----------
    s : ndarray, shape (k,)
        Y's singular values (any order).
    D : ndarray, shape (r, k) or (..., r, k)
        The feedback in Y's right singular coordinates.

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    Split the columns of (I − QQᵀ) S into J, the top min(r, k) values, formed
    and summed as squares, and the rest, ‖S_{J^c}‖² − ‖Qᵀ S_{J^c}‖² = a − b.
    That cannot cancel: a = Σ_{i∈J^c} s_i² is the rank-r optimum, so a is at
    most the result (Eckart-Young). The rank of S Dᵀ is taken at
    max(k, r)·eps·max(s)·‖D‖_F, as in :func:`fa_limit_error`.

    Accuracy: columns J of (I − QQᵀ) S need the small rows of Q, which
    Householder QR of S Dᵀ does not give to full relative precision when s
    spans many decades (3e-7 relative error for s = [1, 1e-6, 1e-12, 1e-13,
    1e-14], r = 2). So a draw whose head block D_J (the columns of the top r
    values) has condition number at most :data:`GRADED_MAX_COND` uses the
    graded form of :func:`_graded_sketch_error`, accurate to about eps·κ(D_J)²
    whatever the spread of s; the others use Q. Measured against exact
    rational arithmetic (k = 5, r = 2, 20 Gaussian draws, worst relative
    error): 9e-16 for s = [1, .5, .25, .1, .05], 3e-16 for s = [1, 1e-6,
    1e-12, 1e-13, 1e-14], 1e-14 for a flat s; with κ(D_J) forced to 100 or
    1000, at most 7e-13 and 1e-12.

    Examples
    --------
    >>> import fa_core as fa
    >>> float(fa.theory.sketch_error(np.array([1.0, 0.5]), np.array([[1.0, 0.0]])))
    0.25
    """
    s = as_finite_array(s, "s", ndim=(1,))
    D = as_finite_array(D, "D", ndim=(2, 3))
    check_shape(D, "D", (D.shape[-2], s.size))
    return _sketch_error(s, D, _sketch_tolerance(s, D, s.size, s.size))


# sketch_error uses the graded formula for draws whose head block D_J has at most this
# condition number (its error grows like eps·κ(D_J)²), the QR basis for the others.
GRADED_MAX_COND = 300.0


def _sketch_error(s: np.ndarray, D: np.ndarray, tol) -> np.ndarray:
    """:func:`sketch_error` for validated inputs, with the rank tolerance ``tol`` of shape D.shape[:-2]."""
    lead, D = D.shape[:-2], D.reshape(-1, *D.shape[-2:])
    tol = np.broadcast_to(tol, lead).reshape(-1)
    r = D.shape[-2]
    order = np.argsort(-s, kind="stable")
    J, Jc = order[:r], order[r:]
    a = np.sum(s[Jc] ** 2)

    def error(Dc, tol_c):
        Q, rank = range_and_rank(s[:, None] * Dc.swapaxes(-1, -2), tol_c)
        graded = (rank == r) & (np.linalg.cond(Dc[..., J]) <= GRADED_MAX_COND) & bool(Jc.size)
        out = np.empty(Dc.shape[0])
        if np.any(graded):
            out[graded] = _graded_sketch_error(s[J], s[Jc], Dc[graded][..., J], Dc[graded][..., Jc])
        Q = Q[~graded]
        cols = -(Q @ (Q[:, J, :].swapaxes(-1, -2) * s[J]))  # (I − P) S, columns J
        cols[:, J, np.arange(J.size)] += s[J]
        b = np.einsum("nir,nir,i->n", Q[:, Jc, :], Q[:, Jc, :], s[Jc] ** 2)
        out[~graded] = sq_norms(cols) + (a - b)
        return out

    return chunked(error, 3 * s.size * D.shape[-2], D, tol).reshape(lead)


def _graded_sketch_error(s_J, s_T, D_J, D_T) -> np.ndarray:
    """:func:`sketch_error` for r < k and an invertible head block D_J, in the graded form.

    With G = (D_J⁻¹ D_T)ᵀ, col(S Dᵀ) = col([I; H]) where H = S_T G S_J⁻¹. With
    H̃ = S_T G, A = H̃ᵀH̃ and M = I + S_J⁻² A (= S_J K S_J⁻¹ for K = I + HᵀH),
    the error splits into two sums of non-negative terms,

        tr(M⁻¹ A) + Σ_{i∈T} s_i² (1 − h̃_iᵀ M⁻¹ S_J⁻² h̃_i),

    in which every quantity carries its own scale: no small row of an
    orthonormal basis is needed, so the relative accuracy does not depend on
    the spread of s, only on κ(D_J).
    """
    # r×r inverses times many columns: batched solve is several times slower here,
    # and both matrices are well conditioned (κ(D_J) is bounded, M is similar to K >= I).
    G = (np.linalg.inv(D_J) @ D_T).swapaxes(-1, -2)  # (N, k − r, r)
    H = s_T[:, None] * G  # H̃
    A = H.swapaxes(-1, -2) @ H
    s_J2 = s_J**2
    M_inv = np.linalg.inv(np.eye(s_J.size) + A / s_J2[:, None])
    head = np.trace(M_inv @ A, axis1=-2, axis2=-1)
    captured = np.einsum("nji,nij->ni", M_inv @ (H / s_J2).swapaxes(-1, -2), H)
    return head + np.sum(s_T**2 * (1 - captured), axis=-1)


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
        A spanning set of the representation; Q_Z is an orthonormal basis of
        col(Z) at its numerical rank (see :func:`fa_core.linalg.range_and_rank`),
        so dependent columns add nothing and Z = 0 captures nothing.

    Returns
    -------
    ndarray, shape (k,) or (S, k)
        Sums to ‖(I − P_Z) Y‖²_F, the error of the best fit with representation Z.

    Examples
    --------
    >>> import fa_core as fa
    >>> t = fa.Target(np.eye(3)[:, :2], np.array([2.0, 1.0]), np.eye(3)[:, :2])
    >>> Z = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])  # two columns spanning u₁ only
    >>> fa.theory.error_by_mode(t, Z).round(12)
    array([0., 1.])
    """
    t = as_target(target_or_Y)
    Q_Z = range_basis(as_finite_array(Z, "Z", ndim=(2, 3)))
    check_shape(Q_Z, "Z", (t.n, Q_Z.shape[-1]))
    captured = np.sum((Q_Z.swapaxes(-1, -2) @ t.U) ** 2, axis=-2)
    return t.s**2 * (1 - captured)


def head_tail_ratio(D: np.ndarray, tail_level: float) -> np.ndarray:
    """FA/OPT, exactly, on a head-plus-tail spectrum: r values at 1 and q at s, with r units.

    With D = [G₁, G₂] the feedback in Y's right singular basis (G₁ r×r, G₂ r×q)
    and H = G₂ᵀ G₁⁻ᵀ, FA's error over OPT_r = q s² is

        FA/OPT = 1 + (1 − s²)/q · tr((I + s² HᵀH)⁻¹ HᵀH)
               = 1 + (1 − s²)/q · tr((G₁G₁ᵀ + s² G₂G₂ᵀ)⁻¹ G₂G₂ᵀ).

    Parameters
    ----------
    D : ndarray, shape (..., r, r + q)
        Of full row rank r (a singular head G₁ is fine).
    tail_level : float
        s, in (0, 1).

    Returns
    -------
    ndarray, shape (...)

    Raises
    ------
    ValueError
        If D has rank below r (at max(r, r + q)·eps·σ₁): then Y Bᵀ has rank
        below r and FA/OPT is :func:`sketch_error` over OPT at its own rank.

    Notes
    -----
    The second form is the first with H substituted (cyclic trace); it needs
    no G₁⁻¹, so it holds as written for a singular head, where the first is
    its limit.

    Examples
    --------
    >>> import fa_core as fa
    >>> float(fa.theory.head_tail_ratio(np.array([[1.0, 0.0]]), 0.5))  # feedback on the head: FA = OPT
    1.0
    """
    D = as_finite_array(D, "D", ndim=(2, 3))
    s = positive_float(tail_level, "tail_level")
    if s >= 1:
        raise ValueError(f"tail_level must be in (0, 1); got {tail_level}")
    r = D.shape[-2]
    q = positive_int(D.shape[-1] - r, "the tail size q = D.shape[-1] − r")
    G1, G2 = D[..., :r], D[..., r:]
    K = G2 @ G2.swapaxes(-1, -2)
    DSD = G1 @ G1.swapaxes(-1, -2) + s**2 * K  # D S² Dᵀ
    rank = np.linalg.matrix_rank(D)
    if np.any(rank < r):
        raise ValueError(
            f"D must have full row rank r = {r} (the feedback spans r directions); "
            f"got rank {int(np.min(rank))}. Use sketch_error for rank-deficient feedback"
        )
    return 1 + (1 - s**2) / q * np.trace(np.linalg.solve(DSD, K), axis1=-2, axis2=-1)


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

    Parameters
    ----------
    k : int or ndarray of int
        rank(Y), each >= r.
    r : int
    delta : float or ndarray
        δ >= 0.

    Returns
    -------
    float or ndarray, the broadcast shape of ``k`` and ``delta``

    Examples
    --------
    >>> import fa_core as fa
    >>> float(fa.theory.bump_overlap(4, 2, 0.0))  # a flat spectrum: r/k
    0.5
    """
    r = positive_int(r, "r")
    if np.any(np.asarray(k) < r):
        raise ValueError(
            f"k (the rank of Y) must be >= r = {r}: a bump spectrum has r top values; got k={k}"
        )
    if not np.all(np.asarray(delta, dtype=float) >= 0):
        raise ValueError(f"delta must be >= 0 (the bump's height); got {delta}")
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
    eta = positive_float(eta, "eta")
    lam = np.atleast_2d(lam_sym_min)
    integral = np.concatenate(
        [np.zeros((lam.shape[0], 1)), np.cumsum(2 * lam[:, :-1], axis=1)], axis=1
    )
    return np.reshape(V0, (-1, 1)) * np.exp(-eta * integral)


def gd_limit_tilt(target_or_Y, r: int, Sigma_hat: np.ndarray) -> np.ndarray:
    """Largest principal angle between GD's limit subspace under Σ̂ and U_r, to first order in Σ̂ − I.

    GD's limit on inputs with covariance Σ̂ = I + Δ has column space
    col(Σ̂^{−1/2} U_r(Σ̂^{1/2} Y)). To first order in Δ it is spanned by
    u_i + Σ_{j>r} T_{ji} u_j (i ≤ r), with the tilt

        T_{ji} = (u_jᵀ Δ u_i) s_j² / (s_i² − s_j²),   i ≤ r < j ≤ k:

    the parts outside col(Y) cancel between Σ̂^{1/2} and Σ̂^{−1/2}, and the
    tail modes j of Y are weighted by s_j² (derivations R13). The largest
    principal angle is arctan σ_max(T), up to O(‖Δ‖²).

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    r : int
        Hidden units, 1 ≤ r < rank(Y); requires s_r > s_{r+1}.
    Sigma_hat : ndarray, shape (S, n, n) or (n, n)
        Input covariances XᵀX/N.

    Returns
    -------
    ndarray, shape (S,) or float
        The first-order largest angle (radians) for each covariance.

    Examples
    --------
    >>> import numpy as np, fa_core as fa
    >>> t = fa.make_target(np.array([1.0, 1.0, 0.1]), 6, 4, rng=0)
    >>> float(fa.theory.gd_limit_tilt(t, 2, np.eye(6)))
    0.0
    """
    t = as_target(target_or_Y)
    r = positive_int(r, "r")
    s = t.s
    if not r < s.size or not s[r - 1] > s[r]:
        raise ValueError(f"r must be in [1, rank(Y) - 1] with s_r > s_(r+1); got r = {r}")
    Delta = np.asarray(Sigma_hat, dtype=float) - np.eye(t.U.shape[0])
    coupling = t.U[:, r:].T @ Delta @ t.U[:, :r]  # (..., k − r, r): u_jᵀ Δ u_i
    weight = s[r:, None] ** 2 / (s[None, :r] ** 2 - s[r:, None] ** 2)
    return np.arctan(np.linalg.norm(coupling * weight, ord=2, axis=(-2, -1)))


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
