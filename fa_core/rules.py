"""Update rules with a name: one short pure function per rule, and the registry :data:`RULES`.

Each step maps ``(Y, Z, W, B, eta) -> (Z, W, B)`` on batched arrays
(Z: (S, n, r), W and B: (S, r, m)). ``Y`` is a
:class:`fa_core.operators.TargetOperator`, so the same function runs in the
dense coordinates, the reduced ones and on a network's samples. The loss is
L = ½‖Y - ZW‖²_F and E = Y - ZW.

The paper's rules (``"gd"``, ``"fa"``, ``"fa_star"``, ``"dfa"``) and the two
named rules beyond it (``"drtp"``, ``"sign_symmetry"``) are defined here and
registered in :data:`RULES`, written out once below. Rules built from other
rules (weight decay, Kolen-Pollack) are made by :mod:`fa_core.rules_beyond`.

Examples
--------
>>> import fa_core as fa
>>> sorted(fa.RULES)
['dfa', 'drtp', 'fa', 'fa_star', 'gd', 'sign_symmetry']
>>> fa.RULES["fa"].source
'Lillicrap et al. 2016; Garg & Vempala 2022'
>>> [name for name, rule in fa.RULES.items() if not rule.equivariant]  # dense engine only
['sign_symmetry']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def take_step(X: np.ndarray, eta: float, update: np.ndarray) -> np.ndarray:
    """``X + eta * update``, computed in place in ``update`` (a fresh array owned by the rule).

    Same arithmetic as the expression, bit for bit, without two temporaries
    the size of X; at large k the step is memory-bound, so this matters.

    Parameters
    ----------
    X : ndarray
        The current value of a layer.
    eta : float
        Step size.
    update : ndarray, shape of X
        The update direction; overwritten with the result.

    Returns
    -------
    ndarray
        ``update`` itself, now holding X + η · update.
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
    Z1 = take_step(Z, eta, Y.E_Ft(Z, W, W))
    W1 = take_step(W, eta, Y.Gt_E(Z, W, Z))
    return Z1, W1, B


def fa_step(Y, Z, W, B, eta: float):
    """Feedback alignment: the fixed feedback B replaces W in Z's update.

    Notes
    -----
    Z ← Z + η E Bᵀ,  W ← W + η Zᵀ E,  with E = Y - Z W at the old (Z, W).
    """
    Z1 = take_step(Z, eta, Y.E_Ft(Z, W, B))
    W1 = take_step(W, eta, Y.Gt_E(Z, W, Z))
    return Z1, W1, B


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
    Z1 = take_step(Z, eta, Y.E_Ft(Z, W, B))
    midpoint = 0.5 * (Z + Z1)
    W1 = take_step(W, eta, Y.Gt_E(Z, W, midpoint))
    return Z1, W1, B


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
    deep : tuple of (str, float), default=None
        How :func:`fa_core.train_deep` runs the rule on L > 2 factors: the
        matrix that carries the error back (``"gd"``, ``"fa"`` or ``"dfa"``)
        and the weight decay λ. None if it has no deep form.

    Examples
    --------
    A rule is a value that every trainer takes. FA fed back through W itself
    at every step is gradient descent, bit for bit:

    >>> import fa_core as fa
    >>> from fa_core.rules import balance, fa_step, gradient_direction
    >>> def fa_through_W(Y, Z, W, B, eta):
    ...     Z1, W1, _ = fa_step(Y, Z, W, W, eta)
    ...     return Z1, W1, B
    >>> rule = fa.Rule("fa_through_W", fa_through_W, gradient_direction, balance, True, "GD")
    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=6, m=5, rng=0)
    >>> run = fa.train(Y, r=2, rule=rule, steps=50, eta=0.1, init_scale=0.1)
    >>> gd = fa.train(Y, r=2, rule="gd", steps=50, eta=0.1, init_scale=0.1)
    >>> run.rule, bool((run.error == gd.error).all())
    ('fa_through_W', True)
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
    Z1 = take_step(Z, eta, target_direction(Y, Z, W, B))
    W1 = take_step(W, eta, Y.Gt_E(Z, W, Z))
    return Z1, W1, B


def target_direction(Y, Z, W, B):
    """Y Bᵀ in Z's coordinates: the operator's E Bᵀ at Z = 0."""
    return Y.E_Ft(np.zeros_like(Z), W, B)


def sign_feedback(W: np.ndarray) -> np.ndarray:
    """mean|W| · sign(W): sign symmetry's feedback, magnitude-matched to W."""
    return np.mean(np.abs(W), axis=(-2, -1), keepdims=True) * np.sign(W)


def sign_symmetry_step(Y, Z, W, B, eta: float):
    """Sign symmetry: the feedback is sign(W) at each step, magnitude-matched.

    Notes
    -----
    B_t = mean|W_t| · sign(W_t),  Z' = Z + η E B_tᵀ,  W' = W + η Zᵀ E. The scale
    mean|W| makes ‖B_t‖ ≈ ‖W_t‖ (plain sign(W) would multiply Z's step size by
    ~1/|w|). Entrywise sign is not orthogonally equivariant, so this rule runs
    on the dense engine only. Source: Liao, Leibo & Poggio 2016.
    """
    Bt = sign_feedback(W)
    Z1 = take_step(Z, eta, Y.E_Ft(Z, W, Bt))
    W1 = take_step(W, eta, Y.Gt_E(Z, W, Z))
    return Z1, W1, Bt


def sign_symmetry_direction(Y, Z, W, B):
    """E B_tᵀ with sign symmetry's feedback B_t = mean|W| · sign(W)."""
    return Y.E_Ft(Z, W, sign_feedback(W))


# Every rule by name: the paper's four, then the two beyond it.
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
    "drtp": Rule(
        "drtp",
        drtp_step,
        target_direction,
        None,
        True,
        "Frenkel et al. 2019 (DRTP)",
    ),
    "sign_symmetry": Rule(
        "sign_symmetry",
        sign_symmetry_step,
        sign_symmetry_direction,
        None,
        False,
        "Liao, Leibo & Poggio 2016 (sign symmetry, magnitude-matched)",
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
