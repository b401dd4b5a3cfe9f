"""Targets: the matrices Y = U diag(s) Vᵀ that the factorization learns.

A :class:`Target` keeps the factors, so the reduced engine never needs the
dense ``Y``; ``Target.Y`` is formed only when someone asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._checks import Seed, as_finite_array, as_generator, positive_float, positive_int
from .linalg import Identity, haar_orthonormal, thin_svd


@dataclass(frozen=True, eq=False)
class Target:
    """A rank-k target ``Y = U diag(s) Vᵀ``.

    Parameters
    ----------
    U : ndarray, shape (n, k), or Identity
        Orthonormal left singular vectors; :class:`fa_core.linalg.Identity`
        (n = k) for a target in its own coordinates (:meth:`diagonal`).
    s : ndarray, shape (k,)
        Positive singular values, descending, with Σ s_i² finite in float64.
    V : ndarray, shape (m, k), or Identity
        Orthonormal right singular vectors, likewise.

    Notes
    -----
    The factors are copied and made read-only, so the Target never changes
    after it is made. U and V must be orthonormal to :data:`ORTHONORMAL_ATOL`:
    every entry of UᵀU − I (and VᵀV − I) at most that in absolute value.

    Examples
    --------
    >>> import fa_core as fa
    >>> t = fa.Target(np.eye(3)[:, :2], np.array([2.0, 1.0]), np.eye(2))
    >>> t.Y
    array([[2., 0.],
           [0., 1.],
           [0., 0.]])
    >>> t.sq_norm
    5.0
    """

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray

    def __post_init__(self):
        U, V = (
            Q if isinstance(Q, Identity) else as_finite_array(Q, name, ndim=(2,))
            for Q, name in ((self.U, "U"), (self.V, "V"))
        )
        s = as_finite_array(self.s, "s", ndim=(1,))
        k = s.size
        if U.shape[1] != k or V.shape[1] != k or k > min(U.shape[0], V.shape[0]):
            raise ValueError(
                f"U (n×k), s (k,) and V (m×k) must agree with k <= min(n, m); "
                f"got U {U.shape}, s {s.shape}, V {V.shape}"
            )
        if np.any(s <= 0) or np.any(np.diff(s) > 0):
            raise ValueError(f"s must be positive singular values in descending order; got {s}")
        with np.errstate(over="ignore"):  # an overflow is the error reported here
            sq_norm = np.sum(s**2)
        if not np.isfinite(sq_norm):
            raise ValueError(
                f"s is too large: ‖Y‖²_F = Σ s_i² overflows float64 (s₁ = {s[0]:.3g}; "
                f"rescale Y below ~1e150)"
            )
        for name, Q in (("U", U), ("V", V)):
            if not isinstance(Q, Identity):
                deviation = _orthonormality_error(Q)
                if deviation > ORTHONORMAL_ATOL:
                    raise ValueError(
                        f"{name} must have orthonormal columns: {name}ᵀ{name} differs from I by "
                        f"{deviation:.3g} in an entry (allowed {ORTHONORMAL_ATOL:g})"
                    )
        for name, a in (("U", U), ("s", s), ("V", V)):
            if not isinstance(a, Identity):
                a = np.array(a)  # a copy the caller cannot change
                a.flags.writeable = False
            object.__setattr__(self, name, a)

    @property
    def n(self) -> int:
        return self.U.shape[0]

    @property
    def m(self) -> int:
        return self.V.shape[0]

    @property
    def k(self) -> int:
        """rank(Y)."""
        return self.s.shape[0]

    @cached_property
    def Y(self) -> np.ndarray:
        """The dense target, shape (n, m), formed on first use."""
        return (self.U * self.s) @ self.V.T

    @property
    def sq_norm(self) -> float:
        """‖Y‖²_F = Σ s_i²."""
        return float(np.sum(self.s**2))

    @classmethod
    def diagonal(cls, s) -> Target:
        """``Y = diag(s)``, n = m = k, in its own singular coordinates: U = V = I, never formed.

        Any k fits in memory: the factors are :class:`fa_core.linalg.Identity`
        and the reduced engine touches only O(k r) numbers per seed. Every rule
        here commutes with rotations of Y's row and column spaces, and the
        drawn Z₀, W₀ and B are rotation invariant, so errors and angles between
        runs have the same distribution as for any U and V with these s.
        """
        s = as_finite_array(s, "s", ndim=(1,))
        return cls(Identity(s.size), s, Identity(s.size))

    @classmethod
    def from_matrix(cls, Y, rtol: float | None = None) -> Target:
        """Factor a dense ``Y`` by its thin SVD at its numerical rank (:func:`fa_core.linalg.thin_svd`).

        Parameters
        ----------
        Y : array_like, shape (n, m)
            Finite and nonzero.
        rtol : float, default=None
            Singular values at or below ``rtol · s₁`` are dropped; None means
            ``max(n, m) * eps`` (NumPy's ``matrix_rank`` convention).

        Returns
        -------
        Target

        Notes
        -----
        For a large,
        numerically low-rank Y this costs O(n m k), not O(n m min(n, m)), and
        the factors reproduce Y to 1e-13 relative. Factor once and pass the
        Target to every run on the same Y: ``fa.train(Y, ...)`` factors again.
        The Target keeps a read-only copy of ``Y`` as its dense form.

        Examples
        --------
        >>> import fa_core as fa
        >>> t = fa.Target.from_matrix(np.outer([1.0, 2.0, 2.0], [1.0, 0.0]))
        >>> t.k, float(t.s[0])
        (1, 3.0)
        """
        Y = as_finite_array(Y, "Y", ndim=(2,))
        if rtol is not None:
            positive_float(rtol, "rtol")
        U, s, Vt = thin_svd(Y, rtol)
        if s.size == 0:
            raise ValueError("Y must be nonzero: every singular value is below the rank tolerance")
        target = cls(U, s, Vt.T)
        Y = np.array(
            Y
        )  # the caller's exact matrix as the dense form, copied: later edits of theirs do not reach it
        Y.flags.writeable = False
        target.__dict__["Y"] = Y
        return target


# Largest |(QᵀQ − I)_ij| accepted for the factors U and V of a Target.
ORTHONORMAL_ATOL = 1e-8


def _orthonormality_error(Q: np.ndarray) -> float:
    """max |(QᵀQ − I)_ij| over the entries, in blocks of columns so memory stays O(n·block + k·block)."""
    k, block, worst = Q.shape[1], 512, 0.0
    for a in range(0, k, block):
        G = Q.T @ Q[:, a : a + block]
        G[np.arange(a, min(a + block, k)), np.arange(G.shape[1])] -= 1.0
        worst = max(worst, float(np.max(np.abs(G))))
    return worst


def make_target(svals, n: int, m: int, rng: Seed, *, normalize: bool = True) -> Target:
    """Draw ``Y = U diag(s) Vᵀ`` with Haar-random orthonormal U (n×k) and V (m×k).

    Parameters
    ----------
    svals : array_like, shape (k,)
        Positive singular values (any order; they are sorted descending).
    n, m : int
        Shape of Y; ``k <= min(n, m)``.
    rng : int, SeedSequence or Generator
        Source of randomness for U and V.
    normalize : bool, default=True
        Scale so that ‖Y‖₂ = s_max = 1.

    Returns
    -------
    Target

    Examples
    --------
    >>> import fa_core as fa
    >>> t = fa.make_target([3.0, 1.0], n=5, m=4, rng=0)
    >>> t.s
    array([1.        , 0.33333333])
    >>> t.Y.shape, t.k
    ((5, 4), 2)
    """
    s = as_finite_array(svals, "svals", ndim=(1,))
    n = positive_int(n, "n")
    m = positive_int(m, "m")
    if s.size == 0 or np.any(s <= 0):
        raise ValueError("svals must be a non-empty list of positive singular values")
    positive_int(s.size, "len(svals) (the rank k)", high=min(n, m))
    s = np.sort(s)[::-1]
    if normalize:
        s = s / s[0]
    g = as_generator(rng)
    U = haar_orthonormal(g, n, s.size)
    V = haar_orthonormal(g, m, s.size)
    return Target(U, s, V)


def as_target(target_or_Y) -> Target:
    """Accept a :class:`Target` or a dense 2-D array (factored by its SVD)."""
    if isinstance(target_or_Y, Target):
        return target_or_Y
    return Target.from_matrix(target_or_Y)


# -- spectra for the claims -------------------------------------------------


def low_rank_spectrum(k: int, kappa: float = 1.0) -> np.ndarray:
    """k singular values spaced geometrically from 1 down to 1/kappa (claims 1-2).

    Parameters
    ----------
    k : int
        The rank, k >= 1.
    kappa : float, default=1.0
        The condition number s₁/s_k, >= 1.

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.low_rank_spectrum(3, kappa=4.0)
    array([1.  , 0.5 , 0.25])
    """
    k = positive_int(k, "k")
    kappa = positive_float(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa (the condition number) must be >= 1; got {kappa}")
    return np.geomspace(1.0, 1.0 / kappa, k)


def head_tail_spectrum(
    head: int, tail: int, tail_level: float, head_level: float = 1.0
) -> np.ndarray:
    """``head`` values at ``head_level`` then ``tail`` values at ``tail_level`` (claim 3).

    Parameters
    ----------
    head : int
        Number of head values, >= 1.
    tail : int
        Number of tail values, >= 0.
    tail_level : float
        The tail's singular value, > 0.
    head_level : float, default=1.0
        The head's singular value, > 0.

    Returns
    -------
    ndarray, shape (head + tail,)

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.head_tail_spectrum(2, 3, tail_level=0.1)
    array([1. , 1. , 0.1, 0.1, 0.1])
    """
    head = positive_int(head, "head")
    tail = positive_int(tail, "tail", low=0)
    tail_level = positive_float(tail_level, "tail_level")
    head_level = positive_float(head_level, "head_level")
    return np.concatenate([np.full(head, head_level), np.full(tail, tail_level)])


def bump_spectrum(k: int, r: int, delta: float) -> np.ndarray:
    """A nearly flat spectrum: r values at 1 + delta, then k - r values at 1 (claim 4).

    Parameters
    ----------
    k : int
        The rank, >= 1.
    r : int
        Number of values in the bump, 1 <= r <= k.
    delta : float
        The bump's height above 1, >= 0.

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.bump_spectrum(4, 1, delta=0.5)
    array([1.5, 1. , 1. , 1. ])
    """
    k = positive_int(k, "k")
    r = positive_int(r, "r", high=k)
    delta = positive_float(delta, "delta", allow_zero=True)
    return np.concatenate([np.full(r, 1.0 + delta), np.ones(k - r)])


def power_spectrum(k: int, p: float = 1.0) -> np.ndarray:
    """Power-law decay s_i = i^(-p), i = 1..k.

    Parameters
    ----------
    k : int
        The rank, >= 1.
    p : float, default=1.0
        The exponent, >= 0 (p = 0 is a flat spectrum).

    Returns
    -------
    ndarray, shape (k,)

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.power_spectrum(4, p=1.0)
    array([1.        , 0.5       , 0.33333333, 0.25      ])
    """
    k = positive_int(k, "k")
    p = positive_float(p, "p", allow_zero=True)
    return np.arange(1, k + 1, dtype=float) ** -p
