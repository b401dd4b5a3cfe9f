"""Update rules: one short pure function per rule.

Each step maps ``(Y, Z, W, B, eta) -> (Z, W, B)`` on batched arrays
(Z: (S, n, r), W and B: (S, r, m)). ``Y`` is a target operator from
:mod:`fa_core.operators`, so the same function runs in the dense and in the
reduced coordinates. The loss is L = ½‖Y - ZW‖²_F and E = Y - ZW.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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
    invariant : callable
        The quantity the rule conserves (exactly or under the flow).
    equivariant : bool
        True if ``step`` commutes with orthogonal changes of basis of the row
        and column spaces, so the exact reduced engine applies.
    source : str
        Where the rule comes from.
    """

    name: str
    step: Callable
    z_direction: Callable
    invariant: Callable
    equivariant: bool
    source: str


RULES: dict[str, Rule] = {
    "gd": Rule("gd", gd_step, lambda Y, Z, W, B: Y.E_Ft(Z, W, W), balance, True,
               "gradient descent on ½‖Y - ZW‖²_F"),
    "fa": Rule("fa", fa_step, lambda Y, Z, W, B: Y.E_Ft(Z, W, B), fa_invariant, True,
               "Lillicrap et al. 2016; Garg & Vempala 2022"),
    "fa_star": Rule("fa_star", fa_star_step, lambda Y, Z, W, B: Y.E_Ft(Z, W, B), fa_invariant, True,
                    "this companion's alignment-exact FA* (paper-notes §1)"),
}


# -- rules beyond the paper (issue: other feedback rules) ----------------------

def with_weight_decay(rule: str | Rule, lam: float) -> Rule:
    """Any rule plus L2 weight decay λ on both layers.

    Notes
    -----
    Z' = step_Z − η λ Z,  W' = step_W − η λ W  (the decay uses the old Z, W).
    For GD this is gradient descent on ½‖Y − ZW‖² + ½λ(‖Z‖² + ‖W‖²).
    Source: weight decay with FA as in Song et al. 2021.
    """
    base, lam = get_rule(rule), _decay(lam)

    def step(Y, Z, W, B, eta):
        Z1, W1, B1 = base.step(Y, Z, W, B, eta)
        return Z1 - (eta * lam) * Z, W1 - (eta * lam) * W, B1

    return Rule(f"{base.name}+wd({lam:g})", step, lambda Y, Z, W, B: base.z_direction(Y, Z, W, B) - lam * Z,
                base.invariant, base.equivariant, f"{base.source}; L2 weight decay λ = {lam:g}")


def kolen_pollack(lam: float) -> Rule:
    """Kolen-Pollack: the feedback B receives W's own update, and both decay.

    Notes
    -----
    Z' = Z + η (E Bᵀ − λ Z),  W' = W + η (Zᵀ E − λ W),  B' = B + η (Zᵀ E − λ B).
    B − W shrinks by (1 − ηλ) each step, so B → W; with B₀ = W₀ it is exactly
    GD with weight decay λ. Source: Akrout et al. 2019.
    """
    lam = _decay(lam)

    def step(Y, Z, W, B, eta):
        dW = Y.Gt_E(Z, Z, W)
        Z1 = Z + eta * (Y.E_Ft(Z, W, B) - lam * Z)
        return Z1, W + eta * (dW - lam * W), B + eta * (dW - lam * B)

    return Rule(f"kolen_pollack({lam:g})", step, lambda Y, Z, W, B: Y.E_Ft(Z, W, B) - lam * Z, fa_invariant, True,
                "Akrout et al. 2019 (Kolen-Pollack)")


def drtp_step(Y, Z, W, B, eta: float):
    """Direct random target projection: Z follows the target, not the error.

    Notes
    -----
    Z' = Z + η Y Bᵀ,  W' = W + η Zᵀ E. From zero init col(Z) = col(Y Bᵀ), FA's
    subspace, at every step. In this linear setting Z = t η Y Bᵀ grows without
    bound, so W's effective step η λ_max(ZᵀZ) eventually exceeds 2 and training
    diverges (fa_core raises DivergenceError); the rule is meant for bounded,
    sign-based targets in nonlinear networks. Source: Frenkel et al. 2019.
    """
    return _step(Z, eta, _Y_Bt(Y, Z, W, B)), _step(W, eta, Y.Gt_E(Z, Z, W)), B


def _Y_Bt(Y, Z, W, B):
    """Y Bᵀ in Z's coordinates: the operator's E Bᵀ at Z = 0."""
    return Y.E_Ft(np.zeros_like(Z), W, B)


def sign_symmetry_step(Y, Z, W, B, eta: float):
    """Sign symmetry: the feedback is sign(W) at each step, magnitude-matched.

    Notes
    -----
    B_t = mean|W_t| · sign(W_t),  Z' = Z + η E B_tᵀ,  W' = W + η Zᵀ E. The scale
    mean|W| makes ‖B_t‖ ≈ ‖W_t‖ (plain sign(W) would multiply Z's step size by
    ~1/|w|). Entrywise sign is not orthogonally equivariant, so this rule runs
    on the dense engine only. Source: Liao, Leibo & Poggio 2016.
    """
    Bt = np.mean(np.abs(W), axis=(-2, -1), keepdims=True) * np.sign(W)
    return _step(Z, eta, Y.E_Ft(Z, W, Bt)), _step(W, eta, Y.Gt_E(Z, Z, W)), Bt


def _decay(lam) -> float:
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating)) or not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam (the weight decay) must be a finite number >= 0; got {lam!r}")
    return float(lam)


RULES.update({
    "drtp": Rule("drtp", drtp_step, _Y_Bt, fa_invariant, True, "Frenkel et al. 2019 (DRTP)"),
    "sign_symmetry": Rule("sign_symmetry", sign_symmetry_step,
                          lambda Y, Z, W, B: Y.E_Ft(Z, W, np.mean(np.abs(W), axis=(-2, -1), keepdims=True) * np.sign(W)),
                          fa_invariant, False, "Liao, Leibo & Poggio 2016 (sign symmetry, magnitude-matched)"),
})


def get_rule(rule: str | Rule) -> Rule:
    """Look a rule up by name, with an error that lists the valid names."""
    if isinstance(rule, Rule):
        return rule
    try:
        return RULES[rule]
    except (KeyError, TypeError):
        raise ValueError(f"rule must be one of {sorted(RULES)}; got {rule!r}") from None
