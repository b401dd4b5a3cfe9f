"""Where training starts: seed streams, the starting point as a value, and its checks.

For seed i, :func:`streams` spawns independent generators from
``SeedSequence(i)``: ``"target"``, ``"init"`` (Z₀, W₀) and ``"feedback"`` (B).
So GD and FA with the same seed start from the same Z₀ and W₀, and the start
of a batch of seeds is the starts of its seeds stacked, bit for bit.

Every trainer gets its start from :func:`resolve_start`: a given
:class:`Start` checked against the problem and the rule, or a fresh draw by
:func:`starting_point`, after checking the target's scale
(:func:`check_target_scale`) and the start's size against it
(:func:`check_start_scale`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from ._checks import (
    Seed,
    as_finite_array,
    as_generator,
    check_shape,
    one_of,
    positive_float,
    positive_int,
)

STREAMS = ("target", "init", "feedback")

# The range of ‖Y‖₂ a trainer accepts. Inside it, ‖Y‖²_F times rounding-level
# relative errors (1e-32) and times DIVERGENCE_FACTOR (1e8) both stay normal
# float64 numbers (between 2.2e-308 and 1.8e308) with a wide margin.
TARGET_SCALE_RANGE = (1e-100, 1e100)


def streams(seed: int, names: Sequence[str] = STREAMS) -> dict[str, np.random.Generator]:
    """Independent generators per purpose, spawned from ``SeedSequence(seed)``.

    The i-th name always gets the i-th child, so ``"target"``, ``"init"`` and
    ``"feedback"`` draw the same numbers whatever other names are added after.

    Parameters
    ----------
    seed : int
        A seed >= 0.
    names : sequence of str, default=("target", "init", "feedback")
        Distinct stream names, in a fixed order.

    Returns
    -------
    dict of str to numpy.random.Generator

    Examples
    --------
    >>> import fa_core as fa
    >>> g = fa.streams(0)
    >>> sorted(g)
    ['feedback', 'init', 'target']
    >>> more = fa.streams(0, names=("target", "init", "feedback", "batches"))
    >>> bool(g["init"].standard_normal() == more["init"].standard_normal())
    True
    """
    if (
        isinstance(names, str)
        or not isinstance(names, (list, tuple))
        or not all(isinstance(n, str) for n in names)
        or len(set(names)) != len(names)
        or not names
    ):
        raise TypeError(
            f"names must be a non-empty list or tuple of distinct stream names; got {names!r}"
        )
    children = np.random.SeedSequence(positive_int(seed, "seed", low=0)).spawn(len(names))
    return {name: np.random.default_rng(ss) for name, ss in zip(names, children)}


def as_seeds(seeds) -> tuple[int, ...]:
    """An int n means range(n); a sequence of non-negative ints is taken as is."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return tuple(range(positive_int(seeds, "seeds")))
    if isinstance(seeds, str):
        raise ValueError(f"seeds must be an int or a sequence of non-negative ints; got {seeds!r}")
    try:
        out = tuple(positive_int(s, "each seed", low=0) for s in seeds)
    except TypeError:
        raise ValueError(
            f"seeds must be an int or a sequence of non-negative ints; got {seeds!r}"
        ) from None
    if not out:
        raise ValueError("seeds must not be empty")
    return out


def _gaussian(
    rng: np.random.Generator, shape: tuple[int, int], scale: float, fan: int
) -> np.ndarray:
    """i.i.d. N(0, scale²/fan) entries: each row or column of length ``fan`` has norm ≈ scale."""
    return scale / np.sqrt(fan) * rng.standard_normal(shape)


def feedback_matrix(rng: Seed, r: int, m: int, scale: float = 1.0) -> np.ndarray:
    """B (r×m) with i.i.d. N(0, scale²/m) entries, so each row has norm ≈ scale."""
    return _gaussian(as_generator(rng), (r, m), scale, m)


def initial_factors(rng: Seed, n: int, m: int, r: int, scale: float):
    """Z₀ (n×r) with N(0, scale²/n) and W₀ (r×m) with N(0, scale²/m) entries.

    ``scale`` is the typical norm of one unit's weight vector; 0 gives zeros.
    """
    g = as_generator(rng)
    Z = _gaussian(g, (n, r), scale, n)
    return Z, _gaussian(g, (r, m), scale, m)


@dataclass(frozen=True, eq=False)
class Start:
    """The starting point of a batch of seeds.

    Attributes
    ----------
    seeds : tuple of int
    layers : tuple of ndarray
        Z₀ (S, n, r), then any middle layers (S, r, r), then W₀ (S, r, m).
    feedback : tuple of ndarray
        Two layers: ``(B,)``, shape (S, r, m). Deep: B₂ … B_L (layer-wise FA,
        and GD, which never reads them), or D₁ … D_{L−1} (DFA, each (S, r, m)).
    direct : bool, default=False
        True for DFA's direct feedback D₁ … D_{L−1}.

    Examples
    --------
    >>> import fa_core as fa
    >>> start = fa.starting_point(n=6, m=5, r=2, seeds=3)
    >>> start.seeds, start.Z0.shape, start.W0.shape, start.B.shape
    ((0, 1, 2), (3, 6, 2), (3, 2, 5), (3, 2, 5))

    Every trainer takes it, so several rules start from the same point:

    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=6, m=5, rng=0)
    >>> gd = fa.train(Y, r=2, rule="gd", steps=10, eta=0.1, start=start)
    >>> bool((gd.start.Z0 == start.Z0).all())
    True
    """

    seeds: tuple[int, ...]
    layers: tuple[np.ndarray, ...]
    feedback: tuple[np.ndarray, ...]
    direct: bool = False

    @property
    def Z0(self) -> np.ndarray:
        return self.layers[0]

    @property
    def W0(self) -> np.ndarray:
        return self.layers[-1]

    @property
    def B(self) -> np.ndarray:
        """The feedback that reaches the first layer, shape (S, r, m); see :func:`first_feedback`."""
        return first_feedback(self.feedback, self.direct)


def first_feedback(feedback: tuple, direct: bool = False) -> np.ndarray:
    """The matrix G that carries the output error back to the first layer, shape (S, r, m).

    B for two layers, B₂⋯B_L for layer-wise FA, D₁ for DFA. From a zero start
    the first layer's range stays in col(Y Gᵀ). GD reads no feedback; its start
    carries the one FA draws for the same seed, at every depth, as a control.
    """
    if not feedback:
        raise ValueError("feedback must hold at least one matrix; got none")
    if direct:
        return feedback[0]
    return reduce(np.matmul, feedback)


def _batch(x, name: str, shape: tuple[int, int], S: int) -> np.ndarray:
    """Validate a user-given (r, m)/(S, r, m) matrix and broadcast to (S, ...)."""
    a = as_finite_array(x, name, ndim=(2, 3))
    check_shape(a, name, shape)
    if a.ndim == 3 and a.shape[0] != S:
        raise ValueError(f"{name} has {a.shape[0]} stacked matrices but there are {S} seeds")
    return np.array(np.broadcast_to(a, (S, *shape)))


def per_seed(x, name: str, S: int) -> tuple[float, ...]:
    """One number >= 0 for each of S seeds: ``x`` itself S times, or a sequence of S of them."""
    if np.ndim(x) == 0:
        return (positive_float(x, name, allow_zero=True),) * S
    values = [positive_float(v, name, allow_zero=True) for v in np.asarray(x, dtype=object).ravel()]
    if np.ndim(x) != 1 or len(values) != S:
        raise ValueError(
            f"{name} must be one number or one per seed ({S} of them); got {np.shape(x)} values"
        )
    return tuple(values)


def starting_point(
    n: int,
    m: int,
    r: int,
    seeds=1,
    *,
    init_scale: float | Sequence[float] = 1e-2,
    feedback_scale: float = 1.0,
    B=None,
    Z0=None,
    W0=None,
    depth: int = 2,
    rule: str = "fa",
) -> Start:
    """Z₀, W₀ and the feedback for every seed, each drawn from the seed's own streams.

    Parameters
    ----------
    n, m, r : int
        Y is n×m; r hidden units, ``1 <= r <= min(n, m)``.
    seeds : int or iterable of int, default=1
        An int S means ``range(S)``; any other iterable is read once.
    init_scale : float or sequence of float, default=1e-2
        Row norm of the drawn layers (0 starts at zero); or one per seed, to
        train several start sizes as one batch (split the run with
        :meth:`fa_core.Run.split`).
    feedback_scale : float, default=1.0
        Row norm of the drawn feedback.
    B, Z0, W0 : ndarray, default=None
        Two layers only: explicit matrices (one, or one per seed) replace the draws.
    depth : int, default=2
        Number of factors L >= 2. For L > 2 the middle layers are r×r.
    rule : {"fa", "dfa", "gd"}, default="fa"
        Deep only: which feedback to draw (B₂ … B_L for "fa" and "gd",
        D₁ … D_{L−1} for "dfa"). GD never reads its feedback.

    Returns
    -------
    Start

    Notes
    -----
    Stream ``"init"`` draws Z₁, then Z_L, then Z₂ … Z_{L−1}; stream
    ``"feedback"`` draws B_L first. So depth 2 draws exactly the two-layer start.

    Examples
    --------
    >>> import fa_core as fa
    >>> two = fa.starting_point(n=6, m=5, r=2, seeds=[4])
    >>> deep = fa.starting_point(n=6, m=5, r=2, seeds=[4], depth=3, rule="fa")
    >>> [Z.shape for Z in deep.layers], [B.shape for B in deep.feedback]
    ([(1, 6, 2), (1, 2, 2), (1, 2, 5)], [(1, 2, 2), (1, 2, 5)])
    >>> bool((deep.Z0 == two.Z0).all() and (deep.W0 == two.W0).all())  # same first and last
    True
    """
    seeds = as_seeds(seeds)
    r = positive_int(r, "r", high=min(positive_int(n, "n"), positive_int(m, "m")))
    scales = per_seed(init_scale, "init_scale", len(seeds))
    feedback_scale = positive_float(feedback_scale, "feedback_scale")
    depth = positive_int(depth, "depth", low=2)
    if depth > 2:
        one_of(rule, "rule (of a deep start)", ("gd", "fa", "dfa"))
        if any(x is not None for x in (B, Z0, W0)):
            raise ValueError("B, Z0 and W0 apply to two layers (depth=2) only")
        return _deep_start(seeds, n, m, r, depth, rule, scales, feedback_scale)
    Zs, Ws, Bs = [], [], []
    for seed, scale in zip(seeds, scales):
        g = streams(seed)
        Z, W = initial_factors(g["init"], n, m, r, scale)
        Zs.append(Z)
        Ws.append(W)
        Bs.append(feedback_matrix(g["feedback"], r, m, feedback_scale))
    S = len(seeds)
    Z = np.stack(Zs) if Z0 is None else _batch(Z0, "Z0", (n, r), S)
    W = np.stack(Ws) if W0 is None else _batch(W0, "W0", (r, m), S)
    B = np.stack(Bs) if B is None else _batch(B, "B", (r, m), S)
    return Start(seeds, (Z, W), (B,))


def _deep_start(seeds, n, m, r, depth, rule, scales, feedback_scale) -> Start:
    shapes = [(n, r)] + [(r, r)] * (depth - 2) + [(r, m)]
    fans = [n] + [r] * (depth - 2) + [m]
    order = [0, depth - 1] + list(range(1, depth - 1))
    layers, feedback = [], []
    for seed, scale in zip(seeds, scales):
        g = streams(seed)
        Zs = [None] * depth
        for l in order:
            Zs[l] = _gaussian(g["init"], shapes[l], scale, fans[l])
        Fs = []
        if rule == "dfa":
            Fs = [_gaussian(g["feedback"], (r, m), feedback_scale, m) for _ in range(depth - 1)]
        else:  # "fa", and "gd", which never reads it: B_L first, as at depth 2
            for l in range(depth - 1, 0, -1):
                Fs.insert(0, _gaussian(g["feedback"], shapes[l], feedback_scale, fans[l]))
        layers.append(Zs)
        feedback.append(Fs)
    return Start(
        seeds,
        tuple(np.stack(ls) for ls in zip(*layers)),
        tuple(np.stack(fs) for fs in zip(*feedback)),
        direct=rule == "dfa",
    )


def feedback_shapes(n: int, m: int, r: int, depth: int, rule: str) -> list[tuple[int, int]]:
    """The shapes of the feedback matrices a start for ``rule`` at ``depth`` holds (see :class:`Start`)."""
    if depth == 2:
        return [(r, m)]
    if rule == "dfa":
        return [(r, m)] * (depth - 1)
    return [(r, r)] * (depth - 2) + [(r, m)]


class ScaleWarning(UserWarning):
    """The random start is larger than the target, so the run measures the start, not the target."""


def check_target_scale(scale: float, name: str = "Y") -> None:
    """Refuse a target whose size ``scale`` (‖Y‖₂) is outside :data:`TARGET_SCALE_RANGE`.

    Relative errors are scale-free, so such a target loses nothing by being
    divided by its norm first; trained as it is, its squared errors would
    underflow to 0 or overflow to inf.
    """
    low, high = TARGET_SCALE_RANGE
    if not low <= scale <= high:
        raise ValueError(
            f"{name} has norm {scale:.3g}, outside [{low:g}, {high:g}], where its squared errors "
            f"would underflow or overflow float64. Relative errors do not depend on the scale: "
            f"train on {name} divided by its norm (make_target does this with normalize=True)."
        )


def check_start_scale(init_scale: float, scale: float) -> None:
    """Warn when the drawn start's product ZW (about init_scale²) exceeds ‖Y‖₂ = ``scale``.

    Then the first steps fit the start away rather than the target; under FA
    the start also leaves a conserved offset C₀ that can make the error grow.
    """
    product = init_scale * init_scale  # inf, not OverflowError, for a huge init_scale
    if product > scale:
        warnings.warn(
            f"init_scale={init_scale:g} is large for this target (‖Y‖₂ = {scale:.3g}): the start's "
            f"product ZW is about init_scale² = {product:.3g}. Use init_scale <= "
            f"{0.1 * np.sqrt(scale):.3g} (0.1·√‖Y‖₂), or scale Y up.",
            ScaleWarning,
            stacklevel=4,
        )


def resolve_start(
    start: Start | None,
    n: int,
    m: int,
    r: int,
    seeds,
    init_scale,
    feedback_scale,
    *,
    scale: float,
    depth: int = 2,
    rule: str = "fa",
    B=None,
    Z0=None,
    W0=None,
) -> Start:
    """The start a trainer runs from: ``start`` checked against the problem, or a fresh draw.

    Parameters
    ----------
    start : Start or None
        A start from :func:`starting_point`, or None to draw one.
    n, m, r, seeds, init_scale, feedback_scale, depth, rule, B, Z0, W0
        As in :func:`starting_point`; with a given ``start``, ``B``, ``Z0``
        and ``W0`` must be None.
    scale : float
        The target's size ‖Y‖₂ (√(‖T‖²_F / N) for a network), checked by
        :func:`check_target_scale`; a drawn start larger than it raises a
        :class:`ScaleWarning`.

    Returns
    -------
    Start
    """
    check_target_scale(scale)
    if start is None:
        seeds = as_seeds(seeds)  # once: a generator of seeds can be read only once
        if Z0 is None and W0 is None:
            check_start_scale(max(per_seed(init_scale, "init_scale", len(seeds))), scale)
        return starting_point(
            n,
            m,
            r,
            seeds,
            init_scale=init_scale,
            feedback_scale=feedback_scale,
            B=B,
            Z0=Z0,
            W0=W0,
            depth=depth,
            rule=rule,
        )
    if not isinstance(start, Start):
        raise TypeError(
            f"start must be a fa_core.Start (see fa_core.starting_point); got {type(start).__name__}"
        )
    given = [name for name, x in (("B", B), ("Z0", Z0), ("W0", W0)) if x is not None]
    if given:
        raise ValueError(
            f"start already fixes {given}; pass them to fa_core.starting_point instead"
        )
    if start.Z0.shape[1:] != (n, r) or start.W0.shape[-1] != m or len(start.layers) != depth:
        raise ValueError(
            f"start has {len(start.layers)} layers, Z0 of shape {start.Z0.shape[1:]} and W0 with "
            f"{start.W0.shape[-1]} columns; this problem needs {depth} layers, Z0 of shape {(n, r)} "
            f"and {m} columns"
        )
    needed = feedback_shapes(n, m, r, depth, rule)
    has = [F.shape[1:] for F in start.feedback]
    direct = depth > 2 and rule == "dfa"
    if has != needed or start.direct != direct:
        raise ValueError(
            f"start holds feedback of shapes {has} (direct={start.direct}), but rule {rule!r} at "
            f"depth {depth} needs feedback of shapes {needed} (direct={direct}): draw the start "
            f"with fa_core.starting_point(..., depth={depth}, rule={rule!r})"
        )
    return start
