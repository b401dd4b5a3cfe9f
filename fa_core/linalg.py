"""Linear-algebra helpers shared by the whole package, each written once.

Everything here works on stacked arrays (a leading batch axis) where that
makes sense, and uses only NumPy.
"""

from __future__ import annotations

import numpy as np

from ._checks import Seed, as_finite_array, as_generator, check_shape, positive_int

# Residuals are formed only to measure an error; cap the block size (in float64
# elements) so that large k does not allocate S×k×k at once.
MAX_BLOCK = 1 << 23


def haar_orthonormal(rng: Seed, n: int, k: int) -> np.ndarray:
    """An n×k matrix with orthonormal columns, Haar-distributed (QR with sign fix), k <= n."""
    k = positive_int(k, "k")
    Q, R = np.linalg.qr(as_generator(rng).standard_normal((positive_int(n, "n", low=k), k)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


# Σ may differ from Σᵀ by rounding, up to this relative Frobenius norm; more is refused.
SYMMETRY_RTOL = 1e-8


def sqrt_spd(Sigma, n: int) -> np.ndarray:
    """Symmetric square root of a symmetric positive definite n×n matrix.

    Parameters
    ----------
    Sigma : array_like, shape (n, n)
        Symmetric positive definite. An asymmetry ‖Σ − Σᵀ‖_F up to
        :data:`SYMMETRY_RTOL` · ‖Σ‖_F is rounding and is removed (Σ is
        replaced by (Σ + Σᵀ)/2); a larger one is refused.
    n : int
        The expected size.

    Returns
    -------
    ndarray, shape (n, n)
        L with L = Lᵀ and L L = Σ.

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.linalg.sqrt_spd(np.diag([4.0, 9.0]), 2)
    array([[2., 0.],
           [0., 3.]])
    """
    Sigma = as_finite_array(Sigma, "Sigma", ndim=(2,))
    check_shape(Sigma, "Sigma", (n, n))
    asymmetry = np.linalg.norm(Sigma - Sigma.T)
    if asymmetry > SYMMETRY_RTOL * np.linalg.norm(Sigma):
        raise ValueError(
            f"Sigma must be symmetric (a covariance); ‖Σ − Σᵀ‖_F / ‖Σ‖_F = "
            f"{asymmetry / np.linalg.norm(Sigma):.3g} exceeds {SYMMETRY_RTOL:g}"
        )
    w, V = np.linalg.eigh(0.5 * (Sigma + Sigma.T))
    if w[0] <= 0:
        raise ValueError(f"Sigma must be positive definite; its smallest eigenvalue is {w[0]:.3g}")
    return (V * np.sqrt(w)) @ V.T


def orthonormal_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of col(A) at its numerical rank, shape (n, rank A).

    Parameters
    ----------
    A : ndarray, shape (n, p)
        A spanning set; its columns may be dependent.

    Returns
    -------
    ndarray, shape (n, rank A)
        Q with QᵀQ = I and col(Q) = col(A), the rank taken as in :func:`range_and_rank`.

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]])  # two columns, one direction
    >>> import fa_core as fa
    >>> fa.linalg.orthonormal_basis(A).shape
    (3, 1)
    """
    A = as_finite_array(A, "A", ndim=(2,))
    Q, rank = range_and_rank(A)
    return Q[:, :rank]


def range_and_rank(A: np.ndarray, tol=None) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis of col(A) padded with zero columns, and the numerical rank.

    Parameters
    ----------
    A : ndarray, shape (..., n, p)
    tol : float or ndarray of shape (...), default=None
        Singular values of A at or below ``tol`` are rounding, not directions.
        The default is max(n, p) · eps · σ₁(A), NumPy's ``matrix_rank``
        tolerance, per item.

    Returns
    -------
    Q : ndarray, shape (..., n, min(n, p))
        The first ``rank`` columns are an orthonormal basis of col(A); the
        rest are zero, so Q Qᵀ is the orthogonal projector onto col(A).
    rank : ndarray of int, shape (...)

    Notes
    -----
    A = Q_A R is the thin QR factorization and σ(R) = σ(A), so the rank comes
    from the small p×p factor R. Where A has full numerical rank (the generic
    case) Q is the QR factor itself, bit for bit; where it does not, it is
    Q_A U_R, whose leading columns are A's left singular vectors.
    """
    Q, R = np.linalg.qr(A)
    U_R, sv, _ = np.linalg.svd(R)
    if tol is None:
        tol = max(A.shape[-2:]) * np.finfo(float).eps * sv[..., 0]
    rank = np.sum(sv > np.asarray(tol, dtype=float)[..., None], axis=-1)
    if np.all(rank == Q.shape[-1]):
        return Q, rank
    keep = np.arange(Q.shape[-1]) < rank[..., None]  # (..., min(n, p))
    full = (rank == Q.shape[-1])[..., None, None]  # those items keep their QR factor
    return np.where(full, Q, np.where(keep[..., None, :], Q @ U_R, 0.0)), rank


def range_basis(A: np.ndarray, tol=None) -> np.ndarray:
    """Orthonormal basis of col(A) at its numerical rank, zero-padded: see :func:`range_and_rank`."""
    return range_and_rank(A, tol)[0]


# Accept a fast factorization only if it reproduces Y to this relative Frobenius error.
EXACT = 1e-13
# Below this min(n, m) the full SVD is as fast as sketching.
SKETCH_FROM = 256


def thin_svd(Y: np.ndarray, rtol: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y = U diag(s) Vᵀ at its numerical rank k: U (n×k), s (k,), Vᵀ (k×m).

    Singular values at or below ``rtol · s₁`` are dropped; ``rtol`` defaults to
    max(n, m)·eps (NumPy's ``matrix_rank`` convention).

    Notes
    -----
    For min(n, m) > :data:`SKETCH_FROM`, a randomized range finder (Halko,
    Martinsson & Tropp 2011, with two power iterations and a fixed seed, so the
    result is deterministic) doubles its width until it exceeds the rank found,
    and the result is accepted only if ‖Y − U S Vᵀ‖_F ≤ :data:`EXACT`·‖Y‖_F.
    That costs O(n m k) instead of O(n m min(n, m)). Otherwise, and for small
    matrices, it is the full SVD.
    """
    n, m = Y.shape
    rel = max(n, m) * np.finfo(float).eps if rtol is None else rtol
    width, norm = 32, float(np.linalg.norm(Y))
    rng = np.random.default_rng(0)
    while min(n, m) > SKETCH_FROM and width <= min(n, m) // 2 and norm > 0:
        Q = np.linalg.qr(Y @ rng.standard_normal((m, width)))[0]
        for _ in range(2):
            Q = np.linalg.qr(Y @ np.linalg.qr(Y.T @ Q)[0])[0]
        Ub, sv, Vt = np.linalg.svd(Q.T @ Y, full_matrices=False)
        k = int(np.sum(sv > rel * sv[0]))
        if k < width:  # the sketch had room to spare, so it holds the whole numerical range
            U = Q @ Ub[:, :k]
            if np.linalg.norm(Y - (U * sv[:k]) @ Vt[:k]) <= EXACT * norm:
                return U, sv[:k], Vt[:k]
        width *= 2
    U, sv, Vt = np.linalg.svd(Y, full_matrices=False)
    k = int(np.sum(sv > rel * sv[0])) if sv.size else 0
    return U[:, :k], sv[:k], Vt[:k]


def principal_angles(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Principal angles between col(A) and col(C), in radians, ascending.

    A and C are spanning sets: each is reduced to a basis of the subspace it
    spans, at its numerical rank (singular values above max(n, p)·eps·σ₁, see
    :func:`range_and_rank`), so there are min(rank A, rank C) angles.

    Parameters
    ----------
    A : ndarray, shape (n, p) or (S, n, p)
    C : ndarray, shape (n, q) or (S, n, q)
        A leading axis is a stack (e.g. seeds); the two broadcast.

    Returns
    -------
    ndarray, shape (min(rank A, rank C),) or (S, min(n, p, q))
        For one pair, its angles. For a stack, every item's angles padded with
        NaN to the common width min(n, p, q): an item of lower rank has NaN
        past its last angle, and an item in which A or C is zero (it spans
        no direction) is all NaN. Use ``np.nanmax`` and the like to skip the
        padding; a plain ``max`` is NaN where a subspace is missing.

    Raises
    ------
    ValueError
        If A or C is a single zero matrix (to rounding): {0} has no
        principal angles.

    Notes
    -----
    Cosines come from the singular values of Q_Aᵀ Q_C and sines from those of
    (I - Q_A Q_Aᵀ) Q_C (Knyazev & Argentati 2002): arcsin is used for angles
    below 45° and arccos above, so small angles are accurate to ~1e-16
    rather than ~1e-8.

    Examples
    --------
    >>> import fa_core as fa
    >>> e = np.eye(3)
    >>> np.degrees(fa.principal_angles(e[:, :2], np.c_[e[:, 0], e[:, 1] + e[:, 2]])).round(12)
    array([ 0., 45.])
    >>> fa.principal_angles(np.c_[e[:, 0], e[:, 0]], e[:, :2])  # one direction, so one angle
    array([0.])
    >>> fa.principal_angles(np.stack([e[:, :2], np.c_[e[:, 0], e[:, 0]]]), e[:, :2])
    array([[ 0.,  0.],
           [ 0., nan]])
    """
    A = as_finite_array(A, "A", ndim=(2, 3))
    C = as_finite_array(C, "C", ndim=(2, 3))
    if A.shape[-2] != C.shape[-2]:
        raise ValueError(f"A and C must have the same number of rows; got {A.shape} and {C.shape}")
    (Qa, ra), (Qc, rc) = range_and_rank(A), range_and_rank(C)
    if A.ndim == 2 and C.ndim == 2:
        for name, rank in (("A", ra), ("C", rc)):
            if rank == 0:
                raise ValueError(f"{name} is zero (to rounding): it spans no direction to measure")
        return _angles_between_bases(Qa[:, :ra], Qc[:, :rc])
    if np.all(ra == Qa.shape[-1]) and np.all(rc == Qc.shape[-1]):
        return _angles_between_bases(Qa, Qc)
    lead = np.broadcast_shapes(Qa.shape[:-2], Qc.shape[:-2])
    Qa, Qc = (np.broadcast_to(Q, (*lead, *Q.shape[-2:])) for Q in (Qa, Qc))
    ra, rc = np.broadcast_to(ra, lead), np.broadcast_to(rc, lead)
    out = np.full((*lead, min(Qa.shape[-1], Qc.shape[-1])), np.nan)
    for i in np.ndindex(lead):
        if ra[i] and rc[i]:
            angles = _angles_between_bases(Qa[i][:, : ra[i]], Qc[i][:, : rc[i]])
            out[i][: angles.size] = angles
    return out


def _angles_between_bases(Qa: np.ndarray, Qc: np.ndarray) -> np.ndarray:
    """Principal angles between col(Qa) and col(Qc) for orthonormal bases, ascending."""
    if Qa.shape[-1] < Qc.shape[-1]:
        Qa, Qc = Qc, Qa
    cos = np.linalg.svd(Qa.swapaxes(-1, -2) @ Qc, compute_uv=False)  # descending
    sin = np.linalg.svd(Qc - Qa @ (Qa.swapaxes(-1, -2) @ Qc), compute_uv=False)[..., ::-1]
    small = np.arcsin(np.clip(sin, 0.0, 1.0))
    large = np.arccos(np.clip(cos, -1.0, 1.0))
    return np.where(cos**2 >= 0.5, small, large)


def subspace_overlap(A: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Mean squared cosine of the principal angles between col(A) and col(C).

    ‖Q_Aᵀ Q_C‖²_F / min(rank A, rank C): 1 when one subspace contains the
    other, 0 when they are orthogonal.

    Parameters
    ----------
    A : ndarray, shape (n, p) or (S, n, p)
    C : ndarray, shape (n, q) or (S, n, q)
        Spanning sets, reduced to their numerical rank as in
        :func:`principal_angles`.

    Returns
    -------
    float or ndarray, shape (S,)
        NaN for an item of a stack in which A or C is zero.

    Examples
    --------
    >>> import fa_core as fa
    >>> e = np.eye(4)
    >>> float(fa.subspace_overlap(e[:, :2], e[:, 1:3]))
    0.5
    >>> float(fa.subspace_overlap(np.c_[e[:, 0], e[:, 0]], e[:, :2]))
    1.0
    """
    angles = principal_angles(A, C)
    present = ~np.isnan(angles)
    total = np.sum(np.where(present, np.cos(angles) ** 2, 0.0), axis=-1)
    count = np.sum(present, axis=-1)
    return np.divide(total, count, out=np.full(np.shape(total), np.nan), where=count > 0)[()]


def chunked(f, per_item: int, *args: np.ndarray) -> np.ndarray:
    """``f(*chunk)`` for slices of ``args`` along axis 0, concatenated, in bounded chunks.

    ``f`` maps slices to one float per item, using about ``per_item`` float64
    entries per item on the way; at most about :data:`MAX_BLOCK` exist at once.
    """
    S = args[0].shape[0]
    chunk = max(1, MAX_BLOCK // max(per_item, 1))
    out = np.empty(S)
    for a in range(0, S, chunk):
        out[a : a + chunk] = f(*(x[a : a + chunk] for x in args))
    return out


def sq_norms(M: np.ndarray) -> np.ndarray:
    """‖M_s‖²_F for each matrix of a stack, shape (..., i, j) → (...).

    Each matrix's sum is the same whatever else is in the stack (``np.einsum``
    sums in an order that depends on the stack), so a batch equals a loop.
    """
    return np.sum(M * M, axis=(-2, -1))


def batched_sq_norm(residual, per_item: int, *args: np.ndarray) -> np.ndarray:
    """``‖residual(*chunk)‖²_F`` for each item of the leading axis, in bounded chunks (see :func:`chunked`)."""
    return chunked(lambda *a: sq_norms(residual(*a)), per_item, *args)


class Identity:
    """The n×n identity as an operator that is never formed: ``I @ X`` and ``X @ I`` are X.

    It stands in for U and V of a target given in its own singular coordinates
    (:meth:`fa_core.Target.diagonal`), where ``np.eye(n)`` would take n² memory
    and every product with it O(n²) time. Products return their other operand
    itself, not a copy. Indexing ``I[:, cols]`` and ``np.asarray(I)`` give dense arrays.
    """

    __array_ufunc__ = None  # NumPy then hands ``ndarray @ Identity`` to __rmatmul__
    ndim = 2

    def __init__(self, n: int):
        self.n = positive_int(n, "n")

    def __repr__(self) -> str:
        return f"Identity({self.n})"

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    @property
    def T(self) -> Identity:
        return self

    mT = T

    def _check(self, X, axis: int, side: str):
        if np.shape(X)[axis] != self.n:
            raise ValueError(f"Identity({self.n}) {side} an operand of shape {np.shape(X)}")
        return X

    def __matmul__(self, X):
        return self._check(X, -2, "times")

    def __rmatmul__(self, X):
        return self._check(X, -1, "after")

    def __mul__(self, s):
        """``I * s`` scales the columns: diag(s), dense."""
        return np.eye(self.n) * s

    def __getitem__(self, key):
        """Dense columns: only ``I[:, cols]`` (every row) is supported."""
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise TypeError(f"Identity supports only I[:, cols]; got {key!r}")
        cols = np.arange(self.n)[key[1]]
        out = np.zeros((self.n, cols.size))
        out[cols, np.arange(cols.size)] = 1.0
        return out

    def __array__(self, dtype=None, copy=None):
        return np.eye(self.n, dtype=dtype)
