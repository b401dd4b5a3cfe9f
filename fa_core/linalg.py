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


def sqrt_spd(Sigma, n: int) -> np.ndarray:
    """Symmetric square root of a symmetric positive definite n×n matrix."""
    Sigma = as_finite_array(Sigma, "Sigma", ndim=(2,))
    check_shape(Sigma, "Sigma", (n, n))
    w, V = np.linalg.eigh(0.5 * (Sigma + Sigma.T))
    if w[0] <= 0:
        raise ValueError(f"Sigma must be positive definite; its smallest eigenvalue is {w[0]:.3g}")
    return (V * np.sqrt(w)) @ V.T


def orthonormal_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of col(A) by thin QR (A assumed full column rank), shape (..., n, p)."""
    return np.linalg.qr(A)[0]


def range_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of col(A) at its numerical rank, shape (..., n, min(n, p)).

    Columns past the rank are zero, so Q Qᵀ is the orthogonal projector onto
    col(A) whatever its rank. Where A has full column rank (the generic case)
    this is the thin QR factor, bit for bit; where it does not, the leading left
    singular vectors. The rank tolerance is max(n, p)·eps·‖A‖_F (NumPy's
    ``matrix_rank`` convention, with the Frobenius norm as the scale).
    """
    Q, R = np.linalg.qr(A)
    d = np.abs(np.diagonal(R, axis1=-2, axis2=-1))
    tol = max(A.shape[-2:]) * np.finfo(float).eps * np.linalg.norm(A, axis=(-2, -1))
    deficient = np.min(d, axis=-1) <= tol
    if not np.any(deficient):
        return Q
    Q = np.array(Q)
    for i in zip(*np.nonzero(deficient)) if Q.ndim > 2 else [()]:
        U, sv, _ = np.linalg.svd(A[i], full_matrices=False)
        Q[i] = U[:, : Q.shape[-1]] * (sv[: Q.shape[-1]] > tol[i])
    return Q


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
