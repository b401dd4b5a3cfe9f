"""Convergence, limits, batching, determinism and errors of fa_core.train."""

import numpy as np
import pytest
from conftest import rel

import fa_core as fa


@pytest.fixture(scope="module")
def rank4():
    return fa.make_target(fa.low_rank_spectrum(4, kappa=2.0), n=25, m=18, rng=7)


@pytest.mark.parametrize("rule", ["gd", "fa", "fa_star"])
def test_r_equals_k_converges_from_small_random_start(rank4, rule):
    run = fa.train(rank4, 4, rule, steps=6000, eta=0.1, seeds=6, init_scale=1e-2)
    assert run.rel_error[:, -1].max() < 1e-10


@pytest.mark.parametrize("rule", ["fa", "fa_star"])
def test_r_above_k_fa_from_zero_converges(rank4, rule):
    run = fa.train(rank4, 8, rule, steps=6000, eta=0.1, seeds=6, init_scale=0.0)
    assert run.rel_error[:, -1].max() < 1e-10


def test_r_above_k_gd_from_random_start_is_slow_but_converging(rank4):
    run = fa.train(rank4, 8, "gd", steps=6000, eta=0.1, seeds=6, init_scale=1e-2)
    assert run.rel_error[:, -1].max() < 1e-4
    assert np.all(np.diff(np.log(run.rel_error[:, 10:]), axis=1) < 1e-9)  # monotone decrease


def test_gd_reaches_eckart_young_optimum_when_r_below_k():
    t = fa.make_target(fa.head_tail_spectrum(3, 5, 0.3), n=20, m=16, rng=3)
    run = fa.train(t, 3, "gd", steps=4000, eta=0.1, seeds=5)
    assert rel(run.error[:, -1], fa.optimal_error(t, 3)) < 1e-8


@pytest.mark.parametrize("rule", ["fa", "fa_star"])
def test_fa_plateau_equals_closed_form_limit(rule):
    t = fa.make_target(fa.head_tail_spectrum(3, 5, 0.3), n=20, m=16, rng=3)
    run = fa.train(t, 3, rule, steps=20000, eta=0.1, seeds=5, init_scale=0.0)
    limit = fa.fa_limit_error(t, run.B)
    assert np.max(np.abs(run.error[:, -1] - limit) / limit) < 1e-6
    assert np.min(limit / fa.optimal_error(t, 3)) > 1.0  # it is a real separation


def test_fa_representation_stays_in_sketch_subspace():
    """From zero init, col(Z_t) ⊂ col(Y Bᵀ) at every step (derivations R4)."""
    t = fa.make_target(fa.power_spectrum(8), n=22, m=17, rng=5)
    for steps in (1, 10, 300):
        run = fa.train(t, 3, "fa", steps=steps, eta=0.1, seeds=3, init_scale=0.0, engine="dense")
        sketch = t.Y @ run.B.mT
        angles = fa.principal_angles(run.Z, sketch)
        assert angles.max() < 1e-9


def test_batched_equals_looped_bit_for_bit(rank4):
    kw = dict(steps=300, eta=0.1, init_scale=0.1, record=["cos_WB", "grad_angle", "EBt_sq"])
    for engine in ("dense", "reduced"):
        batch = fa.train(rank4, 5, "fa", seeds=[3, 9, 11], engine=engine, **kw)
        for i, s in enumerate([3, 9, 11]):
            one = fa.train(rank4, 5, "fa", seeds=[s], engine=engine, **kw)
            for name in batch.metrics:
                assert np.array_equal(batch[name][i], one[name][0]), (engine, name)
            assert np.array_equal(batch.Z[i], one.Z[0]) and np.array_equal(batch.W[i], one.W[0])


def test_same_seed_same_numbers_and_shared_start_across_rules(rank4):
    a = fa.train(rank4, 4, "fa", steps=100, eta=0.1, seeds=3, record=["cos_WB"])
    b = fa.train(rank4, 4, "fa", steps=100, eta=0.1, seeds=3, record=["cos_WB"])
    assert np.array_equal(a.error, b.error) and np.array_equal(a.Z, b.Z)
    g = fa.train(rank4, 4, "gd", steps=1, eta=0.1, seeds=3)
    f = fa.train(rank4, 4, "fa", steps=1, eta=0.1, seeds=3)
    assert np.array_equal(g.start.Z0, f.start.Z0) and np.array_equal(g.start.W0, f.start.W0)
    assert np.array_equal(g.start.B, f.start.B)
    other = fa.train(rank4, 4, "fa", steps=1, eta=0.1, seeds=[5, 6, 7])
    assert not np.array_equal(other.start.Z0, f.start.Z0)


def test_streams_are_independent_and_stable():
    s = fa.streams(4)
    s2 = fa.streams(4, names=("target", "init", "feedback", "extra"))
    for name in ("target", "init", "feedback"):
        assert np.array_equal(s[name].standard_normal(3), s2[name].standard_normal(3))
    assert not np.array_equal(
        fa.streams(4)["init"].standard_normal(3), fa.streams(4)["feedback"].standard_normal(3)
    )


def test_tol_stops_early_and_says_where(rank4):
    full = fa.train(rank4, 4, "gd", steps=5000, eta=0.1, seeds=3)
    early = fa.train(rank4, 4, "gd", steps=5000, eta=0.1, seeds=3, tol=1e-12)
    stop = early.steps[-1]
    assert stop < 5000 and early.rel_error[:, -1].max() < 1e-12
    assert early.rel_error[:, -2].max() >= 1e-12  # it did not stop late
    n = early.steps.size
    assert np.array_equal(early.steps, full.steps[:n]) and np.array_equal(
        early.error, full.error[:, :n]
    )
    with pytest.raises(ValueError, match="tol must be > 0"):
        fa.train(rank4, 4, "gd", steps=10, eta=0.1, tol=0.0)


def test_recorded_steps_default_to_log_spacing():
    steps = fa.settings.log_steps(10000)
    assert steps[0] == 0 and steps[-1] == 10000 and np.all(np.diff(steps) > 0)
    assert np.sum(steps <= 100) > np.sum(steps > 5000)  # dense early, sparse late


def test_metrics_identities_from_zero_init(rank4):
    """λ_min(sym W Bᵀ) = ½ λ_min(ZᵀZ) from zero init when FA* conserves C = 0 (derivations R3)."""
    run = fa.train(
        rank4,
        5,
        "fa_star",
        steps=2000,
        eta=0.1,
        seeds=4,
        init_scale=0.0,
        record=["lam_min_WBt", "lam_min_ZtZ", "cos_WB"],
    )
    np.testing.assert_allclose(run["lam_min_WBt"], 0.5 * run["lam_min_ZtZ"], atol=1e-12)
    z_sq = np.sum(run.Z**2, axis=1)  # ‖z_i‖², per unit
    wb = np.sum(run.W * run.B, axis=2)  # ⟨w_i, b_i⟩
    np.testing.assert_allclose(z_sq, 2 * wb, atol=1e-12)
    assert run["cos_WB"][:, -1].min() > 0


def test_gd_update_angle_is_zero_and_fa_is_a_descent_direction(rank4):
    g = fa.train(rank4, 4, "gd", steps=50, eta=0.1, seeds=2, record=["grad_angle"])
    f = fa.train(
        rank4, 4, "fa", steps=3000, eta=0.1, seeds=4, init_scale=0.0, record=["grad_angle"]
    )
    assert np.abs(g["grad_angle"]).max() < 1e-5
    # From zero init W is still 0 after step 1, so E Wᵀ = 0 there; below a
    # relative error of ~1e-20, E is rounding noise and has no direction.
    assert list(f.steps[:3]) == [0, 1, 2]
    live = f.rel_error[:, 2:] > 1e-20
    assert f["grad_angle"][:, 2:][live].max() < 90


# -- errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(r=0), r"r must be in \[1, 18\]"),
        (dict(r=19), r"r must be in \[1, 18\]"),
        (dict(eta=0.0), "eta must be > 0"),
        (dict(eta=-1.0), "eta must be > 0"),
        (dict(eta=float("nan")), "eta must be a finite"),
        (dict(rule="bp"), "rule must be one of"),
        (dict(steps=0), r"steps must be in \[1, inf\]"),
        (dict(seeds=0), "seeds must be in"),
        (dict(seeds=[]), "seeds must not be empty"),
        (dict(seeds=[-1]), "each seed must be in"),
        (dict(init_scale=-1.0), "init_scale must be >= 0"),
        (dict(B=np.ones((3, 18))), r"B must have shape \(4, 18\)"),
        (dict(B=np.full((4, 18), np.nan)), "B must be finite"),
        (dict(record=["colour"]), "unknown metric"),
        (dict(engine="gpu"), "engine must be one of"),
        (dict(record_at=[0, 99999]), "record_at must be"),
    ],
)
def test_bad_input_names_the_parameter(rank4, kwargs, match):
    base = dict(r=4, rule="fa", steps=10, eta=0.1, seeds=2)
    base.update(kwargs)
    r = base.pop("r")
    rule = base.pop("rule")
    with pytest.raises(ValueError, match=match):
        fa.train(rank4, r, rule, **base)


def test_non_finite_or_bad_targets_are_rejected():
    Y = np.ones((5, 4))
    Y[1, 2] = np.inf
    with pytest.raises(ValueError, match="Y must be finite"):
        fa.train(Y, 2, "fa", steps=1, eta=0.1)
    with pytest.raises(ValueError, match="Y must be a 2-D array"):
        fa.train(np.ones(5), 1, "fa", steps=1, eta=0.1)
    with pytest.raises(ValueError, match="Y must be nonzero"):
        fa.train(np.zeros((4, 3)), 1, "fa", steps=1, eta=0.1)
    with pytest.raises(ValueError, match="svals"):
        fa.make_target([1.0, -0.5], 5, 5, rng=0)
    with pytest.raises(ValueError, match=r"rank k\) must be in \[1, 3\]"):
        fa.make_target(np.ones(4), 3, 6, rng=0)


@pytest.mark.parametrize("engine", ["dense", "reduced"])
def test_divergence_raises_with_rule_eta_step_and_suggestion(rank4, engine):
    with pytest.raises(fa.DivergenceError) as info:
        fa.train(rank4, 4, "fa", steps=2000, eta=3.0, seeds=2, engine=engine)
    err = info.value
    assert err.rule == "fa" and err.eta == 3.0 and 0 < err.step <= 2000
    assert 0 < err.suggested_eta < 3.0
    assert "fa" in str(err) and "eta=3" in str(err) and "Try eta <=" in str(err)


def test_dense_y_input_is_accepted(rank4):
    a = fa.train(rank4.Y, 4, "fa", steps=200, eta=0.1, seeds=2)
    b = fa.train(rank4, 4, "fa", steps=200, eta=0.1, seeds=2)
    assert rel(a.error, b.error) < 1e-10
