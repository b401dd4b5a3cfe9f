"""Input validation shared by the public API.

Every check raises ``ValueError`` (a bad value) or ``TypeError`` (a bad type)
whose message names the parameter, what was given and what is allowed, so a
mistake is reported where it is made, not as a NaN later.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_finite_array(x, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    """Return ``x`` as a float64 array, checking its type, rank, size and finiteness.

    Complex input is refused rather than silently truncated to its real part.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real array; got {type(x).__name__}")
    if np.iscomplexobj(x):
        raise TypeError(
            f"{name} must be real; got a complex array (pass .real if that is what you mean)"
        )
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real numeric array; got {type(x).__name__}") from None
    if a.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be a {want} array; got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return a


def positive_int(x, name: str, low: int = 1, high: int | None = None) -> int:
    """Check that ``x`` is an integer in ``[low, high]``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {x!r}")
    upper = "inf" if high is None else str(high)
    if x < low or (high is not None and x > high):
        raise ValueError(f"{name} must be in [{low}, {upper}]; got {x}")
    return int(x)


def positive_float(x, name: str, allow_zero: bool = False) -> float:
    """Check that ``x`` is a finite real number > 0 (or >= 0)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x):
        raise ValueError(f"{name} must be a finite real number; got {x!r}")
    if x < 0 or (x == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}; got {x}")
    return float(x)


def check_shape(a: np.ndarray, name: str, shape: tuple[int, ...]) -> None:
    """Check that the trailing axes of ``a`` equal ``shape``."""
    if a.shape[a.ndim - len(shape) :] != shape or a.ndim < len(shape):
        raise ValueError(
            f"{name} must have shape {shape} (optionally with a leading seed axis); got {a.shape}"
        )


Seed = int | np.random.Generator | np.random.SeedSequence


def as_generator(rng: Seed, name: str = "rng") -> np.random.Generator:
    """NumPy's ``default_rng`` convention: a non-negative int, a ``SeedSequence`` or a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence) or (
        isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0
    ):
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name} must be a non-negative int, a np.random.SeedSequence or a np.random.Generator; "
        f"got {rng!r}"
    )


def one_of(x, name: str, choices) -> str:
    """Check that ``x`` is one of the strings ``choices``."""
    if not isinstance(x, str) or x not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {x!r}")
    return x
