"""Deep linear factorizations Y ≈ Z₁ Z₂ ⋯ Z_L: backprop, layer-wise FA and DFA.

Layer shapes: Z₁ is n×r, Z₂ … Z_{L−1} are r×r, Z_L is r×m. With prefixes
P_l = Z₁⋯Z_l (P₀ = I), suffixes S_l = Z_{l+1}⋯Z_L (S_L = I) and E = Y − P_L,
gradient descent on ½‖E‖²_F updates Z_l += η P_{l−1}ᵀ E S_lᵀ. The rules differ
only in the matrix that carries the error back to layer l:

* ``"gd"``  (backprop):  S_lᵀ = (Z_{l+1}⋯Z_L)ᵀ;
* ``"fa"``  (feedback alignment, layer-wise): (B_{l+1}⋯B_L)ᵀ, with a fixed
  random B_j of Z_j's shape (Lillicrap et al. 2016);
* ``"dfa"`` (direct feedback alignment): D_lᵀ, a fixed random r×m matrix
  per hidden layer, sending the output error straight to layer l (Nøkland 2016).

For L = 2 all three reduce to :func:`fa_core.train`'s rules, and FA and DFA
coincide; seed i draws the same Z₀, W₀, B as there.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from itertools import accumulate

import numpy as np

from .linalg import sq_norms
from .loop import record_loop
from .rules import Rule, get_rule
from .run import Run
from .settings import settings
from .start import Start, resolve_start
from .targets import as_target


def deep_form(rule: str | Rule) -> tuple[str, str, float]:
    """``(name, carrier, weight decay)`` of a rule that has a deep form."""
    rule = get_rule(rule)
    if rule.deep is None:
        raise ValueError(
            f"rule {rule.name!r} has no deep form; use 'gd', 'fa', 'dfa' or with_weight_decay of one"
        )
    return rule.name, *rule.deep


def deep_step(Y, Zs, feedback, rule: str, eta: float, lam: float = 0.0):
    """One step of gd / fa / dfa on the layers ``Zs`` (lists of stacked arrays).

    Notes
    -----
    Z_l += η P_{l−1}ᵀ E G_lᵀ − η λ Z_l with E = Y − Z₁⋯Z_L, and G_l = Z_{l+1}⋯Z_L
    (gd), B_{l+1}⋯B_L (fa) or D_l (dfa); G_L = I and P₀ = I.
    """
    L = len(Zs)
    prefix = list(accumulate(Zs, np.matmul))  # P₁, …, P_L
    E = Y - prefix[-1]
    new = []
    for l in range(L):
        if l == L - 1:
            back = E
        else:
            back = E @ carrier(Zs, feedback, rule, l).mT
        if l == 0:
            grad = back
        else:
            grad = prefix[l - 1].mT @ back
        Zl = Zs[l] + eta * grad
        if lam:
            Zl = Zl - (eta * lam) * Zs[l]
        new.append(Zl)
    return new


def carrier(Zs, feedback, rule: str, l: int) -> np.ndarray:
    """The matrix G_l that carries the error from the output back to layer l's output (0-based l).

    Z_{l+2}⋯Z_L for "gd", B_{l+2}⋯B_L for "fa" (``feedback[j]`` is B_{j+2}),
    and D_{l+1} for "dfa" (``feedback[j]`` is D_{j+1}).
    """
    if rule == "gd":
        return reduce(np.matmul, Zs[l + 1 :])
    if rule == "fa":
        return reduce(np.matmul, feedback[l:])
    return feedback[l]


def train_deep(
    target_or_Y,
    r: int,
    rule: str | Rule = "fa",
    *,
    depth: int = 3,
    steps: int,
    eta: float,
    seeds: int | Sequence[int] = 1,
    init_scale: float | Sequence[float] = 1e-2,
    feedback_scale: float = 1.0,
    start: Start | None = None,
    record: Sequence[str] = ("error",),
    record_at=None,
    tol: float | None = None,
    progress: bool = False,
) -> Run:
    """Train Y ≈ Z₁⋯Z_L with backprop, layer-wise FA or DFA, batched over seeds (dense engine).

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
    r : int
        Width of every hidden layer, ``1 <= r <= min(n, m)``.
    rule : {"gd", "fa", "dfa"} or Rule, default="fa"
        ``"gd"`` is backprop. A Rule with a deep form, such as
        ``with_weight_decay("gd", λ)``, is accepted too.
    depth : int, default=3
        Number of factors L >= 2.
    steps, eta, seeds, init_scale, feedback_scale, start, record_at, tol, progress
        As in :func:`fa_core.train`, with the same defaults. GD needs
        init_scale > 0 (zero is a saddle). A ``start`` comes from
        ``fa_core.starting_point(..., depth=L, rule=...)`` with this rule's
        feedback ("gd" and "fa" share theirs); another is refused.
    record : sequence of str, default=("error",)
        Only ``"error"`` is defined for deep factorizations.

    Returns
    -------
    Run
        ``run.layers`` holds Z₁ (S, n, r), Z₂ … (S, r, r), Z_L (S, r, m), and
        ``run.feedback`` the fixed feedback (see :class:`fa_core.Start`).

    Examples
    --------
    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=8, m=6, rng=0)
    >>> run = fa.train_deep(Y, r=2, rule="dfa", depth=3, steps=3000, eta=0.1, init_scale=0.1)
    >>> [Z.shape for Z in run.layers]
    [(1, 8, 2), (1, 2, 2), (1, 2, 6)]
    >>> bool(run.rel_error[0, -1] < 1e-6)
    True
    """
    t = as_target(target_or_Y)
    cfg = settings(rule, steps, eta, record, record_at, tol)
    if cfg.names != ("error",):
        raise ValueError(f"record: train_deep records only 'error'; got {list(record)}")
    name, carrier_rule, lam = deep_form(cfg.rule)
    start = resolve_start(
        start,
        t.n,
        t.m,
        r,
        seeds,
        init_scale,
        feedback_scale,
        scale=float(t.s[0]),
        depth=depth,
        rule=carrier_rule,
    )
    Y = t.Y
    feedback = list(start.feedback)
    err = np.empty((len(start.seeds), cfg.at.size))

    def measure(Zs, j):
        E = Y - reduce(np.matmul, Zs)
        err[:, j] = sq_norms(E)
        return err[:, j]

    Zs, j = record_loop(
        list(start.layers),
        lambda Zs, step: deep_step(Y, Zs, feedback, carrier_rule, cfg.eta, lam),
        measure,
        steps=cfg.steps,
        at=cfg.at,
        sq_norm=t.sq_norm,
        scale=float(t.s[0]),
        rule_name=f"deep {name}",
        eta=cfg.eta,
        tol=cfg.tol,
        progress=progress,
    )
    return Run(
        name,
        cfg.eta,
        start.seeds,
        cfg.at[:j],
        {"error": err[:, :j]},
        t.sq_norm,
        "dense",
        start,
        tuple(Zs),
        tuple(feedback),
    )
