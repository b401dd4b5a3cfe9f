"""Deep linear factorizations: reductions to two layers, exact updates, pinned first layer."""

import numpy as np
import pytest
from conftest import rel

import fa_core as fa
from fa_core.deep import deep_step


@pytest.fixture(scope="module")
def target():
    return fa.make_target(fa.head_tail_spectrum(3, 5, 0.3), 18, 14, rng=2)


@pytest.mark.parametrize("deep_rule, rule", [("gd", "gd"), ("fa", "fa"), ("dfa", "fa")])
def test_depth_two_is_the_two_layer_rule(target, deep_rule, rule):
    """Same seeds draw the same Z₀, W₀, B; and two-layer DFA is FA."""
    d = fa.train_deep(target, 3, deep_rule, depth=2, steps=300, eta=0.1, seeds=3, init_scale=0.1)
    f = fa.train(target, 3, rule, steps=300, eta=0.1, seeds=3, init_scale=0.1, engine="dense")
    assert rel(d.error, f.error) < 1e-12
    assert rel(d.layers[0], f.Z) < 1e-12 and rel(d.layers[1], f.W) < 1e-12


def test_depth_three_single_step_matches_hand_formulas(target):
    rng = np.random.default_rng(5)
    n, m, r = target.n, target.m, 3
    Z1, Z2, Z3 = (
        rng.standard_normal((n, r)),
        rng.standard_normal((r, r)),
        rng.standard_normal((r, m)),
    )
    B2, B3 = rng.standard_normal((r, r)), rng.standard_normal((r, m))
    D1, D2 = rng.standard_normal((r, m)), rng.standard_normal((r, m))
    Y, eta = target.Y, 0.01
    E = Y - Z1 @ Z2 @ Z3
    expected = {
        "gd": [Z1 + eta * E @ (Z2 @ Z3).T, Z2 + eta * Z1.T @ E @ Z3.T, Z3 + eta * (Z1 @ Z2).T @ E],
        "fa": [Z1 + eta * E @ (B2 @ B3).T, Z2 + eta * Z1.T @ E @ B3.T, Z3 + eta * (Z1 @ Z2).T @ E],
        "dfa": [Z1 + eta * E @ D1.T, Z2 + eta * Z1.T @ E @ D2.T, Z3 + eta * (Z1 @ Z2).T @ E],
    }
    feedback = {"gd": [], "fa": [B2[None], B3[None]], "dfa": [D1[None], D2[None]]}
    for rule, want in expected.items():
        got = deep_step(Y, [Z1[None], Z2[None], Z3[None]], feedback[rule], rule, eta)
        for g, w in zip(got, want):
            assert rel(g[0], w) < 1e-13, rule


@pytest.mark.parametrize("rule", ["fa", "dfa"])
def test_first_layer_is_pinned_to_a_random_sketch(target, rule):
    run = fa.train_deep(target, 3, rule, depth=3, steps=2000, eta=0.1, seeds=3, init_scale=0.0)
    test = (
        run.feedback[0] @ run.feedback[1] if rule == "fa" else run.feedback[0]
    )  # B₂B₃ or D₁, shape (S, r, m)
    assert np.array_equal(run.B, test) and np.array_equal(run.start.B, test)
    assert fa.principal_angles(run.layers[0], target.Y @ test.mT).max() < 1e-9
    assert fa.fa_limit_error(target, test).min() > fa.optimal_error(
        target, 3
    )  # that sketch is not the optimum


def test_deep_tol_stops_early_like_train():
    exact = fa.make_target(
        fa.low_rank_spectrum(3), 18, 14, rng=2
    )  # rank 3 = r: the error can reach 0
    full = fa.train_deep(exact, 3, "gd", steps=3000, eta=0.1, seeds=2, init_scale=0.3)
    early = fa.train_deep(exact, 3, "gd", steps=3000, eta=0.1, seeds=2, init_scale=0.3, tol=1e-3)
    n = early.steps.size
    assert (
        n < full.steps.size and early.rel_error[:, -1].max() < 1e-3 <= early.rel_error[:, -2].max()
    )
    assert np.array_equal(early.error, full.error[:, :n])


def test_deep_bad_input(target):
    with pytest.raises(ValueError, match="rule must be one of"):
        fa.train_deep(target, 3, "bp", steps=1, eta=0.1)
    with pytest.raises(ValueError, match="'fa_star' has no deep form"):
        fa.train_deep(target, 3, "fa_star", steps=1, eta=0.1)
    with pytest.raises(ValueError, match="records only 'error'"):
        fa.train_deep(target, 3, "fa", steps=1, eta=0.1, record=["cos_WB"])
    with pytest.raises(ValueError, match=r"depth must be in \[2, inf\]"):
        fa.train_deep(target, 3, "fa", depth=1, steps=1, eta=0.1)
    with pytest.raises(ValueError, match="tol must be > 0"):
        fa.train_deep(target, 3, "fa", steps=5, eta=0.1, tol=-1.0)
    with pytest.raises(fa.DivergenceError):
        fa.train_deep(target, 3, "gd", steps=3000, eta=5.0, seeds=2, init_scale=0.5)


def test_weight_decay_runs_deep_and_matches_two_layers(target):
    """with_weight_decay has a deep form: at depth 2 it is the two-layer rule with decay."""
    rule = fa.with_weight_decay("gd", 0.05)
    d = fa.train_deep(target, 3, rule, depth=2, steps=300, eta=0.1, seeds=2, init_scale=0.1)
    f = fa.train(target, 3, rule, steps=300, eta=0.1, seeds=2, init_scale=0.1, engine="dense")
    assert d.rule == f.rule == "gd+wd(0.05)"
    assert rel(d.error, f.error) < 1e-12 and rel(d.W, f.W) < 1e-12
    plain = fa.train_deep(target, 3, "gd", depth=3, steps=300, eta=0.1, seeds=2, init_scale=0.1)
    decayed = fa.train_deep(target, 3, rule, depth=3, steps=300, eta=0.1, seeds=2, init_scale=0.1)
    assert not np.allclose(plain.error, decayed.error)


@pytest.mark.parametrize("drawn_for, rule", [("dfa", "fa"), ("fa", "dfa"), ("dfa", "gd")])
def test_a_start_drawn_for_another_rule_is_refused_up_front(target, drawn_for, rule):
    start = fa.starting_point(target.n, target.m, 3, 2, depth=4, rule=drawn_for)
    with pytest.raises(ValueError, match=f"rule '{rule}' at depth 4 needs"):
        fa.train_deep(target, 3, rule, depth=4, steps=5, eta=0.1, start=start)


def test_a_start_drawn_for_fa_serves_gd_at_every_depth(target):
    """GD and FA share a seed's start, feedback included, at depth 2 as at depth 3."""
    for depth in (2, 3):
        start = fa.starting_point(target.n, target.m, 3, 2, depth=depth, rule="fa", init_scale=0.1)
        gd = fa.train_deep(target, 3, "gd", depth=depth, steps=5, eta=0.1, start=start)
        drawn = fa.train_deep(
            target, 3, "gd", depth=depth, steps=5, eta=0.1, seeds=2, init_scale=0.1
        )
        assert np.array_equal(gd.error, drawn.error)


@pytest.mark.parametrize("depth", [2, 3])
def test_gd_run_B_is_the_feedback_fa_draws_and_never_used(target, depth):
    kw = dict(depth=depth, steps=50, eta=0.1, seeds=2, init_scale=0.1)
    gd = fa.train_deep(target, 3, "gd", **kw)
    fa_run = fa.train_deep(target, 3, "fa", **kw)
    assert np.array_equal(gd.B, fa_run.start.B) and np.array_equal(gd.B, gd.start.B)
    other = fa.starting_point(target.n, target.m, 3, [7, 8], depth=depth, init_scale=0.1)
    moved = fa.Start(gd.start.seeds, gd.start.layers, other.feedback)
    again = fa.train_deep(target, 3, "gd", depth=depth, steps=50, eta=0.1, start=moved)
    assert np.array_equal(again.error, gd.error)  # GD never reads its feedback
