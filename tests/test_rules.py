"""Each rule's step against the hand-written update, reductions and invariants."""

import numpy as np
import pytest
from conftest import rel

import fa_core as fa
from fa_core.operators import DenseY


def hand_step(rule, Y, Z, W, B, eta):
    """The textbook updates, written out with the explicit residual E."""
    E = Y - Z @ W
    if rule == "gd":
        return Z + eta * E @ W.T, W + eta * Z.T @ E
    Z1 = Z + eta * E @ B.T
    if rule == "fa":
        return Z1, W + eta * Z.T @ E
    return Z1, W + eta * ((Z + Z1) / 2).T @ E  # fa_star


@pytest.mark.parametrize("rule", ["gd", "fa", "fa_star"])
@pytest.mark.parametrize("engine", ["dense", "reduced"])
def test_one_step_matches_hand_formula(small_problem, rule, engine):
    t, Z, W, B = small_problem
    run = fa.train(t, r=5, rule=rule, steps=1, eta=0.07, Z0=Z, W0=W, B=B, engine=engine)
    Zh, Wh = hand_step(rule, t.Y, Z, W, B, 0.07)
    assert rel(run.Z[0], Zh) < 1e-13
    assert rel(run.W[0], Wh) < 1e-13
    assert rel(run.B[0], B) < 1e-13


@pytest.mark.parametrize("rule", ["gd", "fa", "fa_star"])
def test_steps_are_not_interchangeable(small_problem, rule):
    """Guard against the test above passing for the wrong rule."""
    t, Z, W, B = small_problem
    Zs, Ws, _ = fa.RULES[rule].step(DenseY(t.Y), Z[None], W[None], B[None], 0.07)
    others = [o for o in ("gd", "fa", "fa_star") if o != rule]
    for o in others:
        Zo, Wo = hand_step(o, t.Y, Z, W, B, 0.07)
        assert rel(Zs[0], Zo) > 1e-6 or rel(Ws[0], Wo) > 1e-6


def test_fa_with_feedback_equal_to_W_is_gd(small_problem):
    """FA whose B is set to the current W at every step is GD, bit for bit."""
    t, Z, W, _ = small_problem
    Y = DenseY(t.Y)
    Zg, Wg, Zf, Wf = Z[None], W[None], Z[None], W[None]
    for _ in range(200):
        Zg, Wg, _ = fa.RULES["gd"].step(Y, Zg, Wg, None, 0.05)
        Zf, Wf, _ = fa.RULES["fa"].step(Y, Zf, Wf, Wf, 0.05)
        assert np.array_equal(Zg, Zf) and np.array_equal(Wg, Wf)


def test_fa_star_with_feedback_equal_to_W_differs_from_gd_only_at_second_order(small_problem):
    t, Z, W, _ = small_problem
    Y = DenseY(t.Y)
    for eta in (1e-2, 1e-3):
        Zg, Wg, _ = fa.RULES["gd"].step(Y, Z[None], W[None], None, eta)
        Zs, Ws, _ = fa.RULES["fa_star"].step(Y, Z[None], W[None], W[None], eta)
        assert np.array_equal(Zg, Zs)
        dW = np.abs(Ws - Wg).max()
        assert 0 < dW < 10 * eta**2  # midpoint correction is O(eta²)


def test_fa_discrete_conservation_identity(small_problem):
    """C_{t+1} - C_t = η² B EᵀE Bᵀ exactly for FA (derivations R2)."""
    t, Z, W, B = small_problem
    Y, eta = DenseY(t.Y), 0.08
    Z, W, B = Z[None], W[None], B[None]
    for _ in range(50):
        E = t.Y - Z @ W
        expected = eta**2 * B @ E.mT @ E @ B.mT
        C0 = fa.rules.fa_invariant(Z, W, B)
        Z, W, B = fa.RULES["fa"].step(Y, Z, W, B, eta)
        dC = fa.rules.fa_invariant(Z, W, B) - C0
        assert np.abs(dC - expected).max() < 1e-13 * max(1.0, np.abs(C0).max())
        assert np.abs(expected).max() > 1e-8  # the drift is real, not zero


@pytest.mark.parametrize("engine", ["dense", "reduced"])
def test_fa_star_conserves_invariant_exactly(engine):
    t = fa.make_target(fa.low_rank_spectrum(5, kappa=4), n=30, m=25, rng=1)
    run_star = fa.train(
        t,
        6,
        "fa_star",
        steps=3000,
        eta=0.1,
        seeds=4,
        init_scale=0.5,
        record=["invariant_drift"],
        engine=engine,
    )
    run_fa = fa.train(
        t,
        6,
        "fa",
        steps=3000,
        eta=0.1,
        seeds=4,
        init_scale=0.5,
        record=["invariant_drift"],
        engine=engine,
    )
    assert run_star["invariant_drift"].max() < 1e-12
    assert run_fa["invariant_drift"][:, -1].min() > 1e-4  # FA drifts by O(eta)


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError, match="rule must be one of"):
        fa.rules.get_rule("backprop")
