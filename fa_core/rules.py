"""Update rules: one short pure function per rule.

Each step maps ``(Y, Z, W, B, eta) -> (Z, W, B)`` on batched arrays
(Z: (S, n, r), W and B: (S, r, m)). ``Y`` is a target operator from
:mod:`fa_core.operators`, so the same function runs in the dense and in the
reduced coordinates. The loss is L = ½‖Y - ZW‖²_F and E = Y - ZW.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _step(X: np.ndarray, eta: float, update: np.ndarray) -> np.ndarray:
    """X + eta * update, computed in place in ``update`` (a fresh array owned by the rule).

    Same arithmetic as the expression, bit for bit, without two temporaries
    the size of X; at large k the step is memory-bound, so this matters.
    """
    update *= eta
    update += X
    return update


def gd_step(Y, Z, W, B, eta: float):
    """Gradient descent.

    Notes
    -----
    Z ← Z + η E Wᵀ,  W ← W + η Zᵀ E,  both with E = Y - Z W at the old (Z, W).
    """
    return _step(Z, eta, Y.E_Ft(Z, W, W)), _step(W, eta, Y.Gt_E(Z, Z, W)), B


def fa_step(Y, Z, W, B, eta: float):
    """Feedback alignment: the fixed feedback B replaces W in Z's update.

    Notes
    -----
    Z ← Z + η E Bᵀ,  W ← W + η Zᵀ E,  with E = Y - Z W at the old (Z, W).
    """
    return _step(Z, eta, Y.E_Ft(Z, W, B)), _step(W, eta, Y.Gt_E(Z, Z, W)), B


def fa_star_step(Y, Z, W, B, eta: float):
    """FA*, this companion's alignment-exact variant of FA (our definition).

    Notes
    -----
    Z' = Z + η E Bᵀ,  W' = W + η ((Z + Z')/2)ᵀ E,  with E = Y - Z W.

    The midpoint in W's update makes C = ZᵀZ - (W Bᵀ + B Wᵀ) exactly
    conserved by the discrete map (FA conserves it only up to η² B EᵀE Bᵀ per
    step), so the continuous-time alignment argument holds step by step.
    The paper's FA* is "a closely related variant of FA"; its exact form is
    not available to us, and this is our reconstruction.
    """
    Z1 = _step(Z, eta, Y.E_Ft(Z, W, B))
    return Z1, _step(W, eta, Y.Gt_E(0.5 * (Z + Z1), Z, W)), B


def balance(Z, W, B):
    """GD's conserved quantity under gradient flow: ZᵀZ - W Wᵀ, shape (S, r, r)."""
    return Z.mT @ Z - W @ W.mT


def fa_invariant(Z, W, B):
    """FA's conserved quantity: C = ZᵀZ - (W Bᵀ + B Wᵀ), shape (S, r, r)."""
    WBt = W @ B.mT
    return Z.mT @ Z - (WBt + WBt.mT)


@dataclass(frozen=True)
class Rule:
    """An update rule and what the engine needs to know about it.

    Attributes
    ----------
    name : str
    step : callable
        ``step(Y, Z, W, B, eta) -> (Z, W, B)``.
    z_direction : callable
        ``z_direction(Y, Z, W, B)``: the direction of Z's update (before η),
        compared with the true negative gradient E Wᵀ by the angle metric.
    invariant : callable or None
        ``invariant(Z, W, B)``: the quantity the rule conserves (exactly, or
        under the gradient flow), shape (S, r, r); None if it conserves
        nothing, and then ``invariant_drift`` refuses to record it.
    equivariant : bool
        True if ``step`` commutes with orthogonal changes of basis of the row
        and column spaces, so the exact reduced engine applies.
    source : str
        Where the rule comes from.
    deep : tuple of (str, float), optional
        How :func:`fa_core.train_deep` runs the rule on L > 2 factors: the
        matrix that carries the error back (``"gd"``, ``"fa"`` or ``"dfa"``)
        and the weight decay λ. None if it has no deep form.
    """

    name: str
    step: Callable
    z_direction: Callable
    invariant: Callable | None
    equivariant: bool
    source: str
    deep: tuple[str, float] | None = None


def gradient_direction(Y, Z, W, B):
    """E Wᵀ: the true negative gradient of ½‖E‖²_F in Z."""
    return Y.E_Ft(Z, W, W)


def feedback_direction(Y, Z, W, B):
    """E Bᵀ: the error sent back through the fixed feedback."""
    return Y.E_Ft(Z, W, B)


# Every rule by name; :mod:`fa_core.rules_beyond` adds the rules beyond the paper.
RULES: dict[str, Rule] = {
    "gd": Rule(
        "gd",
        gd_step,
        gradient_direction,
        balance,
        True,
        "gradient descent on ½‖Y - ZW‖²_F",
        deep=("gd", 0.0),
    ),
    "fa": Rule(
        "fa",
        fa_step,
        feedback_direction,
        fa_invariant,
        True,
        "Lillicrap et al. 2016; Garg & Vempala 2022",
        deep=("fa", 0.0),
    ),
    "fa_star": Rule(
        "fa_star",
        fa_star_step,
        feedback_direction,
        fa_invariant,
        True,
        "this companion's alignment-exact FA* (our reconstruction)",
    ),
    # Direct feedback alignment: with two layers it is FA; deeper, each hidden layer gets its own D_l.
    "dfa": Rule(
        "dfa",
        fa_step,
        feedback_direction,
        fa_invariant,
        True,
        "Nøkland 2016 (DFA)",
        deep=("dfa", 0.0),
    ),
}


def get_rule(rule: str | Rule) -> Rule:
    """Look a rule up by name, with an error that lists the valid names."""
    if isinstance(rule, Rule):
        return rule
    try:
        return RULES[rule]
    except (KeyError, TypeError):
        raise ValueError(f"rule must be one of {sorted(RULES)}; got {rule!r}") from None
