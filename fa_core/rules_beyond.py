"""Feedback rules beyond the paper, each with its source.

They plug into every trainer like the paper's rules; the ones with a name
are registered in :data:`fa_core.rules.RULES`. None of them conserves the
quantity FA conserves, so they declare no invariant.
"""

from __future__ import annotations

import numpy as np

from .rules import RULES, Rule, _step, feedback_direction, get_rule


def with_weight_decay(rule: str | Rule, lam) -> Rule:
    """Any rule plus L2 weight decay λ on both layers.

    Parameters
    ----------
    rule : str or Rule
    lam : float, or sequence of float
        λ >= 0; or one per seed, to train several λ as one batch (split the
        result with :meth:`fa_core.Run.split`).

    Notes
    -----
    Z' = step_Z − η λ Z,  W' = step_W − η λ W  (the decay uses the old Z, W).
    For GD this is gradient descent on ½‖Y − ZW‖² + ½λ(‖Z‖² + ‖W‖²).
    On a deep factorization every layer decays the same way.
    Source: weight decay with FA as in Song et al. 2021.
    """
    base, lam = get_rule(rule), _decay(lam)

    def step(Y, Z, W, B, eta):
        Z1, W1, B1 = base.step(Y, Z, W, B, eta)
        return Z1 - (eta * _per_seed(lam, Z)) * Z, W1 - (eta * lam) * W, B1

    deep = None if base.deep is None or np.ndim(lam) else (base.deep[0], base.deep[1] + lam)
    return Rule(
        f"{base.name}+wd({_label(lam)})",
        step,
        lambda Y, Z, W, B: base.z_direction(Y, Z, W, B) - lam * Z,
        None,
        base.equivariant,
        f"{base.source}; L2 weight decay λ = {_label(lam)}",
        deep=deep,
    )


def kolen_pollack(lam) -> Rule:
    """Kolen-Pollack: the feedback B receives W's own update, and both decay.

    Parameters
    ----------
    lam : float, or sequence of float
        λ >= 0, or one per seed (as in :func:`with_weight_decay`).

    Notes
    -----
    Z' = Z + η (E Bᵀ − λ Z),  W' = W + η (Zᵀ E − λ W),  B' = B + η (Zᵀ E − λ B).
    B − W shrinks by (1 − ηλ) each step, so B → W; with B₀ = W₀ it is exactly
    GD with weight decay λ. Source: Akrout et al. 2019.
    """
    lam = _decay(lam)

    def step(Y, Z, W, B, eta):
        dW = Y.Gt_E(Z, Z, W)
        Z1 = Z + eta * (Y.E_Ft(Z, W, B) - _per_seed(lam, Z) * Z)
        return Z1, W + eta * (dW - lam * W), B + eta * (dW - lam * B)

    return Rule(
        f"kolen_pollack({_label(lam)})",
        step,
        lambda Y, Z, W, B: Y.E_Ft(Z, W, B) - lam * Z,
        None,
        True,
        "Akrout et al. 2019 (Kolen-Pollack)",
    )


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
    return _step(Z, eta, target_direction(Y, Z, W, B)), _step(W, eta, Y.Gt_E(Z, Z, W)), B


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
    return _step(Z, eta, Y.E_Ft(Z, W, Bt)), _step(W, eta, Y.Gt_E(Z, Z, W)), Bt


def correlated_feedback(W0: np.ndarray, G: np.ndarray, rho: float) -> np.ndarray:
    """ρ-correlated feedback B = ρ W₀ + √(1 − ρ²) G (Bordelon & Pehlevan 2022).

    ``W0`` and ``G`` should have the same scale (e.g. init_scale = feedback_scale);
    ρ = 0 is plain FA with feedback G, ρ = 1 feeds back the initial forward weights.
    """
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating)) or not 0 <= rho <= 1:
        raise ValueError(f"rho must be a number in [0, 1]; got {rho!r}")
    W0, G = np.asarray(W0, dtype=float), np.asarray(G, dtype=float)
    if W0.shape != G.shape:
        raise ValueError(f"W0 and G must have the same shape; got {W0.shape} and {G.shape}")
    return rho * W0 + np.sqrt(1.0 - rho**2) * G


def _decay(lam) -> float | np.ndarray:
    """λ as a float, or one per seed as an array of shape (S, 1, 1)."""
    try:
        a = (
            None
            if isinstance(lam, (bool, str)) or np.iscomplexobj(lam)
            else np.asarray(lam, dtype=float)
        )
    except (TypeError, ValueError):
        a = None
    if a is None or a.ndim > 1 or a.size == 0 or not np.all(np.isfinite(a) & (a >= 0)):
        raise ValueError(
            f"lam (the weight decay) must be a finite number >= 0, or a list of them (one per seed); "
            f"got {lam!r}"
        )
    return float(a) if a.ndim == 0 else a[:, None, None]


def _per_seed(lam, Z: np.ndarray):
    """``lam``, checked to have one value per seed of the batch ``Z`` when it is not one number."""
    if np.ndim(lam) and lam.shape[0] != Z.shape[0]:
        raise ValueError(
            f"lam has {lam.shape[0]} values, one per seed, but the run has {Z.shape[0]} seeds"
        )
    return lam


def _label(lam) -> str:
    return f"{lam:g}" if np.ndim(lam) == 0 else "per seed"


RULES.update(
    {
        "drtp": Rule("drtp", drtp_step, target_direction, None, True, "Frenkel et al. 2019 (DRTP)"),
        "sign_symmetry": Rule(
            "sign_symmetry",
            sign_symmetry_step,
            lambda Y, Z, W, B: feedback_direction(Y, Z, W, sign_feedback(W)),
            None,
            False,
            "Liao, Leibo & Poggio 2016 (sign symmetry, magnitude-matched)",
        ),
    }
)
