"""Deep linear factorizations Y ≈ Z₁ Z₂ ⋯ Z_L: backprop, FA and DFA.

Layer shapes: Z₁ is n×r, Z₂ … Z_{L−1} are r×r, Z_L is r×m. With prefixes
P_l = Z₁⋯Z_l (P₀ = I), suffixes S_l = Z_{l+1}⋯Z_L (S_L = I) and E = Y − P_L,
gradient descent on ½‖E‖²_F updates Z_l += η P_{l−1}ᵀ E S_lᵀ. The rules differ
only in the matrix that carries the error back to layer l:

* ``"bp"``  (backprop):  S_lᵀ = (Z_{l+1}⋯Z_L)ᵀ;
* ``"fa"``  (feedback alignment, layer-wise): (B_{l+1}⋯B_L)ᵀ, with a fixed
  random B_j of Z_j's shape (Lillicrap et al. 2016);
* ``"dfa"`` (direct feedback alignment): D_lᵀ, a fixed random r×m matrix
  per hidden layer, sending the output error straight to layer l (Nøkland 2016).

For L = 2 all three reduce to :func:`fa_core.train`'s gd / fa rules, and FA and
DFA coincide; seed i draws the same Z₀, W₀, B as there.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from itertools import accumulate
from typing import Sequence

import numpy as np

from ._checks import positive_float, positive_int
from .engine import _record_steps, as_seeds, record_loop, streams
from .theory import as_target

DEEP_RULES = ("bp", "fa", "dfa")


@dataclass(frozen=True, eq=False)
class DeepRun:
    """Result of :func:`train_deep`.

    Attributes
    ----------
    rule : str
    steps : ndarray, shape (T,)
    error : ndarray, shape (S, T)
        ‖Y − Z₁⋯Z_L‖²_F at the recorded steps.
    sq_norm_Y : float
    layers : list of ndarray
        Final Z₁ (S, n, r), Z₂ … (S, r, r), Z_L (S, r, m).
    feedback : list of ndarray
        FA: B₂ … B_L (shapes of Z₂ … Z_L); DFA: D₁ … D_{L−1} (S, r, m); BP: empty.
    """

    rule: str
    steps: np.ndarray
    error: np.ndarray
    sq_norm_Y: float
    layers: list
    feedback: list

    @property
    def rel_error(self) -> np.ndarray:
        return self.error / self.sq_norm_Y


def _shapes(n: int, m: int, r: int, depth: int) -> list[tuple[int, int]]:
    return [(n, r)] + [(r, r)] * (depth - 2) + [(r, m)]


def _draw(seeds, n, m, r, depth, rule, init_scale, feedback_scale):
    """Layers from stream "init" in order Z₁, Z_L, Z₂, … (so L = 2 matches fa_core.train); feedback from "feedback"."""
    shapes = _shapes(n, m, r, depth)
    order = [0, depth - 1] + list(range(1, depth - 1))
    layers = [[None] * depth for _ in seeds]
    feedback = [[] for _ in seeds]
    for i, seed in enumerate(seeds):
        g = streams(seed)
        for l in order:
            a, b = shapes[l]
            fan = n if l == 0 else (m if l == depth - 1 else r)
            layers[i][l] = init_scale / np.sqrt(fan) * g["init"].standard_normal((a, b))
        if rule == "fa":
            for l in range(depth - 1, 0, -1):  # B_L first, so L = 2 draws fa_core's B
                a, b = shapes[l]
                fan = m if l == depth - 1 else r
                feedback[i].insert(0, feedback_scale / np.sqrt(fan) * g["feedback"].standard_normal((a, b)))
        elif rule == "dfa":
            feedback[i] = [feedback_scale / np.sqrt(m) * g["feedback"].standard_normal((r, m)) for _ in range(depth - 1)]
    stack = lambda mats: [np.stack(ms) for ms in zip(*mats)] if mats and mats[0] else []  # noqa: E731
    return stack(layers), stack(feedback)


def _product(mats: Sequence[np.ndarray]):
    return reduce(np.matmul, mats)


def deep_step(Y, Zs, feedback, rule: str, eta: float):
    """One step of bp / fa / dfa on the layers ``Zs`` (lists of stacked arrays).

    Notes
    -----
    Z_l += η P_{l−1}ᵀ E G_lᵀ with E = Y − Z₁⋯Z_L, and G_l = Z_{l+1}⋯Z_L (bp),
    B_{l+1}⋯B_L (fa) or D_l (dfa); G_L = I and P₀ = I.
    """
    L = len(Zs)
    prefix = list(accumulate(Zs, np.matmul))  # P₁, …, P_L
    E = Y - prefix[-1]
    new = []
    for l in range(L):
        back = E if l == L - 1 else E @ _carrier(Zs, feedback, rule, l).mT
        grad = back if l == 0 else prefix[l - 1].mT @ back
        new.append(Zs[l] + eta * grad)
    return new


def _carrier(Zs, feedback, rule, l):
    """The matrix that carries the error from the output back to layer l's output."""
    if rule == "bp":
        return _product(Zs[l + 1:])
    if rule == "fa":
        return _product(feedback[l:])  # feedback[j] is B_{j+2}; layer l (0-based) needs B_{l+2} … B_L
    return feedback[l]  # dfa: D_{l+1}


def train_deep(target_or_Y, r: int, rule: str = "fa", *, depth: int = 3, steps: int, eta: float,
               seeds: int | Sequence[int] = 1, init_scale: float = 1e-2, feedback_scale: float = 1.0,
               record_at=None, tol: float | None = None) -> DeepRun:
    """Train Y ≈ Z₁⋯Z_L with backprop, layer-wise FA or DFA, batched over seeds (dense engine).

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    r : int
        Width of every hidden layer, ``1 <= r <= min(n, m)``.
    rule : {"bp", "fa", "dfa"}
    depth : int
        Number of factors L >= 2.
    steps, eta, seeds, init_scale, feedback_scale, record_at, tol
        As in :func:`fa_core.train`. BP needs init_scale > 0 (zero is a saddle).

    Returns
    -------
    DeepRun
    """
    t = as_target(target_or_Y)
    if rule not in DEEP_RULES:
        raise ValueError(f"rule must be one of {DEEP_RULES}; got {rule!r}")
    r = positive_int(r, "r", high=min(t.n, t.m))
    depth = positive_int(depth, "depth", low=2)
    steps = positive_int(steps, "steps", low=0)
    eta = positive_float(eta, "eta")
    seeds_ = as_seeds(seeds)
    at = _record_steps(record_at, steps)
    Zs, feedback = _draw(seeds_, t.n, t.m, r, depth, rule, positive_float(init_scale, "init_scale", allow_zero=True),
                         positive_float(feedback_scale, "feedback_scale"))
    if tol is not None:
        tol = positive_float(tol, "tol")
    Y = t.Y
    err = np.empty((len(seeds_), at.size))

    def measure(Zs, j):
        E = Y - _product(Zs)
        err[:, j] = np.einsum("sij,sij->s", E, E)
        return err[:, j]

    Zs, j = record_loop(Zs, lambda Zs, step: deep_step(Y, Zs, feedback, rule, eta), measure, steps=steps, at=at,
                        sq_norm=t.sq_norm, scale=float(t.s[0]), rule_name=f"deep {rule}", eta=eta, tol=tol)
    return DeepRun(rule, at[:j], err[:, :j], t.sq_norm, Zs, feedback)
