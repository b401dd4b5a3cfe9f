"""Feedback rules beyond the paper, each with its source.

They plug into every trainer like the paper's rules. The two with a fixed
name, DRTP (``"drtp"``) and sign symmetry (``"sign_symmetry"``), are defined
in :mod:`fa_core.rules` next to the paper's and registered there in
:data:`fa_core.RULES`; their functions are importable from here too. This
module builds rules from other rules (:func:`with_weight_decay`,
:func:`kolen_pollack`) and draws correlated feedback. None of them conserves
the quantity FA conserves, so they declare no invariant.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_finite_array
from .rules import (
    Rule,
    drtp_step,
    get_rule,
    sign_feedback,
    sign_symmetry_step,
    target_direction,
)

__all__ = [
    "with_weight_decay",
    "kolen_pollack",
    "correlated_feedback",
    "drtp_step",
    "target_direction",
    "sign_feedback",
    "sign_symmetry_step",
]


def with_weight_decay(rule: str | Rule, lam) -> Rule:
    """Any rule plus L2 weight decay λ on both layers.

    Parameters
    ----------
    rule : str or Rule
        A name in :data:`fa_core.RULES` or a rule.
    lam : float, or sequence of float
        λ >= 0; or one per seed, to train several λ as one batch (split the
        result with :meth:`fa_core.Run.split`).

    Returns
    -------
    Rule
        Named ``"<rule>+wd(<λ>)"``; it conserves nothing.

    Notes
    -----
    Z' = step_Z − η λ Z,  W' = step_W − η λ W  (the decay uses the old Z, W).
    For GD this is gradient descent on ½‖Y − ZW‖² + ½λ(‖Z‖² + ‖W‖²).
    On a deep factorization every layer decays the same way.
    Source: weight decay with FA as in Song et al. 2021.

    Examples
    --------
    Three decays trained as one batch of three seeds, then split:

    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=6, m=5, rng=0)
    >>> rule = fa.with_weight_decay("fa", [0.0, 0.01, 0.1])
    >>> run = fa.train(Y, r=2, rule=rule, steps=3000, eta=0.1, seeds=[0, 0, 0])
    >>> rule.name, [round(float(part.rel_error[0, -1]), 4) for part in run.split(3)]
    ('fa+wd(per seed)', [0.0, 0.002, 0.1344])
    """
    base, lam = get_rule(rule), _decay(lam)

    def step(Y, Z, W, B, eta):
        Z1, W1, B1 = base.step(Y, Z, W, B, eta)
        Z1 = Z1 - (eta * _per_seed(lam, Z)) * Z
        W1 = W1 - (eta * lam) * W
        return Z1, W1, B1

    if base.deep is None or np.ndim(lam):
        deep = None  # train_deep takes one λ for the whole batch
    else:
        carrier, base_lam = base.deep
        deep = (carrier, base_lam + lam)
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

    Returns
    -------
    Rule
        Named ``"kolen_pollack(<λ>)"``; B is part of the state and changes.

    Notes
    -----
    Z' = Z + η (E Bᵀ − λ Z),  W' = W + η (Zᵀ E − λ W),  B' = B + η (Zᵀ E − λ B).
    B − W shrinks by (1 − ηλ) each step, so B → W; with B₀ = W₀ it is exactly
    GD with weight decay λ. Source: Akrout et al. 2019.

    Examples
    --------
    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=6, m=5, rng=0)
    >>> run = fa.train(Y, r=2, rule=fa.kolen_pollack(0.1), steps=400, eta=0.1, init_scale=0.1)
    >>> start_gap = fa.metrics.frobenius(run.start.B - run.start.W0)
    >>> bool(fa.metrics.frobenius(run.B - run.W)[0] < 0.05 * start_gap[0])  # B → W
    True
    """
    lam = _decay(lam)

    def step(Y, Z, W, B, eta):
        dW = Y.Gt_E(Z, W, Z)
        Z1 = Z + eta * (Y.E_Ft(Z, W, B) - _per_seed(lam, Z) * Z)
        W1 = W + eta * (dW - lam * W)
        B1 = B + eta * (dW - lam * B)
        return Z1, W1, B1

    return Rule(
        f"kolen_pollack({_label(lam)})",
        step,
        lambda Y, Z, W, B: Y.E_Ft(Z, W, B) - lam * Z,
        None,
        True,
        "Akrout et al. 2019 (Kolen-Pollack)",
    )


def correlated_feedback(W0: np.ndarray, G: np.ndarray, rho: float) -> np.ndarray:
    """ρ-correlated feedback B = ρ W₀ + √(1 − ρ²) G (Bordelon & Pehlevan 2022).

    ``W0`` and ``G`` should have the same scale (e.g. init_scale = feedback_scale);
    ρ = 0 is plain FA with feedback G, ρ = 1 feeds back the initial forward weights.
    """
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating)) or not 0 <= rho <= 1:
        raise ValueError(f"rho must be a number in [0, 1]; got {rho!r}")
    W0 = as_finite_array(W0, "W0", ndim=(2, 3))
    G = as_finite_array(G, "G", ndim=(2, 3))
    if W0.shape != G.shape:
        raise ValueError(f"W0 and G must have the same shape; got {W0.shape} and {G.shape}")
    return rho * W0 + np.sqrt(1.0 - rho**2) * G


def _decay(lam) -> float | np.ndarray:
    """λ as a float, or one per seed as an array of shape (S, 1, 1)."""
    try:
        refused = isinstance(lam, (bool, str)) or np.iscomplexobj(lam)
        a = None if refused else np.asarray(lam, dtype=float)
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
