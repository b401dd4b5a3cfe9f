"""One trainer shape: train, train_network and train_deep share keywords, defaults, rules and Run."""

import inspect

import numpy as np
import pytest

import fa_core as fa

SHARED = (
    "steps",
    "eta",
    "seeds",
    "init_scale",
    "feedback_scale",
    "start",
    "record",
    "record_at",
    "tol",
    "progress",
)


@pytest.fixture(scope="module")
def problem():
    t = fa.make_target(fa.low_rank_spectrum(3), 12, 9, rng=1)
    X = fa.whitened_inputs(40, 12, 2)
    return t, X


def trainers(problem):
    t, X = problem
    return {
        "train": lambda **kw: fa.train(t, 3, **kw),
        "train_network": lambda **kw: fa.train_network(X, X @ t.Y, 3, **kw),
        "train_deep": lambda **kw: fa.train_deep(t, 3, depth=2, **kw),
    }


def test_shared_keywords_have_the_same_defaults():
    sigs = [inspect.signature(f).parameters for f in (fa.train, fa.train_network, fa.train_deep)]
    for name in SHARED:
        defaults = {p[name].default for p in sigs}
        kinds = {p[name].kind for p in sigs}
        assert len(defaults) == 1 and kinds == {inspect.Parameter.KEYWORD_ONLY}, name
    assert {p["rule"].default for p in sigs} == {"fa"}


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
@pytest.mark.parametrize("rule", ["gd", "fa", fa.RULES["gd"], fa.with_weight_decay("fa", 0.01)])
def test_every_trainer_takes_the_rule_vocabulary_and_returns_a_run(problem, which, rule):
    run = trainers(problem)[which](
        rule=rule,
        steps=40,
        eta=0.1,
        seeds=[3, 4],
        init_scale=0.1,
        feedback_scale=2.0,
        record_at=[0, 10, 40],
        tol=None,
        progress=False,
    )
    assert isinstance(run, fa.Run)
    assert run.rule == (rule if isinstance(rule, str) else rule.name)
    assert run.eta == 0.1 and run.seeds == (3, 4) and run.steps.tolist() == [0, 10, 40]
    assert (
        run.engine in ("reduced", "dense", "data")
        and run.error.shape == (2, 3)
        and "error" in run.metrics
    )
    assert np.array_equal(run["error"], run.error) and np.all(np.isfinite(run.rel_error))
    assert run.Z.shape == (2, 12, 3) and run.W.shape == (2, 3, 9) and run.B.shape == (2, 3, 9)
    assert isinstance(run.start, fa.Start) and run.start.seeds == (3, 4)


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_every_trainer_starts_where_starting_point_says(problem, which):
    """Seed i draws the same Z₀, W₀, B everywhere; an explicit start reproduces the run bit for bit."""
    t, _ = problem
    start = fa.starting_point(t.n, t.m, 3, [5, 6], init_scale=0.2, feedback_scale=0.5)
    drawn = trainers(problem)[which](
        rule="fa", steps=30, eta=0.1, seeds=[5, 6], init_scale=0.2, feedback_scale=0.5
    )
    given = trainers(problem)[which](rule="fa", steps=30, eta=0.1, start=start)
    for a, b in ((drawn.start.Z0, start.Z0), (drawn.start.W0, start.W0), (drawn.start.B, start.B)):
        assert np.array_equal(a, b)
    assert np.array_equal(drawn.error, given.error)


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_one_init_scale_per_seed_trains_several_start_sizes_as_one_batch(problem, which):
    """Each part of the batch is the run with that init_scale alone, bit for bit; zero is a zero start."""
    scales = [0.0, 0.05, 0.3]
    batch = trainers(problem)[which](
        rule="fa", steps=30, eta=0.1, seeds=[5, 6] * 3, init_scale=np.repeat(scales, 2)
    )
    for scale, part in zip(scales, batch.split(3)):
        alone = trainers(problem)[which](
            rule="fa", steps=30, eta=0.1, seeds=[5, 6], init_scale=scale
        )
        assert np.array_equal(part.error, alone.error) and np.array_equal(part.Z, alone.Z)
    assert not batch.start.Z0[:2].any() and batch.start.Z0[2:].all()
    fit = trainers(problem)[which]
    with pytest.raises(
        ValueError, match=r"init_scale must be one number or one per seed \(2 of them\)"
    ):
        fit(steps=1, eta=0.1, seeds=2, init_scale=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="init_scale must be >= 0"):
        fit(steps=1, eta=0.1, seeds=2, init_scale=[0.1, -0.1])


def test_a_deep_start_takes_one_init_scale_per_seed():
    one = fa.starting_point(12, 9, 3, [1, 2], init_scale=[0.0, 0.2], depth=3, rule="fa")
    alone = fa.starting_point(12, 9, 3, [2], init_scale=0.2, depth=3, rule="fa")
    for layer, other in zip(one.layers, alone.layers):
        assert not layer[0].any() and np.array_equal(layer[1], other[0])


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_every_trainer_rejects_bad_shared_keywords_alike(problem, which):
    fit = trainers(problem)[which]
    with pytest.raises(ValueError, match="rule must be one of"):
        fit(rule="bp", steps=1, eta=0.1)
    with pytest.raises(ValueError, match="eta must be > 0"):
        fit(steps=1, eta=0.0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        fit(steps=1, eta=0.1, tol=-1.0)
    with pytest.raises(ValueError, match="record_at"):
        fit(steps=5, eta=0.1, record_at=[9])
    with pytest.raises(TypeError, match="start must be"):
        fit(steps=1, eta=0.1, start="zero")
    t, _ = problem
    with pytest.raises(ValueError, match="start has"):
        fit(steps=1, eta=0.1, start=fa.starting_point(t.n, t.m, 2))


def test_a_rule_that_conserves_nothing_refuses_invariant_drift(problem):
    t, _ = problem
    assert fa.RULES["drtp"].invariant is None and fa.kolen_pollack(0.1).invariant is None
    with pytest.raises(ValueError, match="conserves nothing"):
        fa.train(t, 3, fa.kolen_pollack(0.1), steps=1, eta=0.1, record=["invariant_drift"])
    fa.train(t, 3, "fa", steps=1, eta=0.1, record=["invariant_drift"])  # FA conserves C: accepted


def test_run_engine_takes_only_documented_values(problem):
    t, _ = problem
    run = fa.train(t, 3, steps=1, eta=0.1)
    with pytest.raises(ValueError, match="engine must be one of"):
        fa.Run(
            run.rule,
            run.eta,
            run.seeds,
            run.steps,
            run.metrics,
            run.sq_norm_Y,
            "network",
            run.start,
            (),
            (),
        )


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_a_batch_of_seeds_equals_a_loop_over_them_bit_for_bit(which):
    """The promise of Run's Notes: states and recorded error, at sizes where sums take many terms."""
    t = fa.make_target(fa.low_rank_spectrum(6), 300, 200, rng=0)
    X = fa.whitened_inputs(400, 300, 1)
    fit = {
        "train": lambda **kw: fa.train(t, 6, engine="dense", **kw),
        "train_network": lambda **kw: fa.train_network(X, X @ t.Y, 6, **kw),
        "train_deep": lambda **kw: fa.train_deep(t, 6, depth=3, **kw),
    }[which]
    batch = fit(steps=3, eta=0.1, seeds=[0, 1, 2], init_scale=0.1)
    for i in range(3):
        one = fit(steps=3, eta=0.1, seeds=[i], init_scale=0.1)
        assert np.array_equal(batch.error[i], one.error[0])
        for a, b in zip(batch.layers, one.layers):
            assert np.array_equal(a[i], b[0])


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_seeds_may_be_any_iterable_read_once(problem, which):
    fit = trainers(problem)[which]
    listed = fit(steps=5, eta=0.1, seeds=[3, 4])
    generated = fit(steps=5, eta=0.1, seeds=(s for s in [3, 4]))
    assert generated.seeds == (3, 4) and np.array_equal(generated.error, listed.error)


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
@pytest.mark.parametrize("factor", [1e-160, 1e200])
def test_a_target_at_the_edges_of_floating_point_is_refused_not_inf(problem, which, factor):
    t, X = problem
    fit = {
        "train": lambda **kw: fa.train(factor * t.Y, 3, **kw),
        "train_network": lambda **kw: fa.train_network(X, factor * (X @ t.Y), 3, **kw),
        "train_deep": lambda **kw: fa.train_deep(factor * t.Y, 3, depth=3, **kw),
    }[which]
    # refused by the trainer's scale check, or earlier where ‖Y‖² itself overflows
    refused = r"outside \[1e-100, 1e\+100\].*divided by its norm|overflows float64"
    with pytest.raises(ValueError, match=refused):
        fit(rule="gd", steps=10, eta=0.1)


def test_scaled_targets_inside_the_range_train_to_the_same_relative_errors():
    """Scaling Y by a power of 4 scales a run exactly (Z, W by its square root, eta inversely)."""
    t = fa.make_target(fa.low_rank_spectrum(3), 12, 9, rng=1)
    c = 4.0**-40  # about 1e-24
    unit = fa.train(t, 3, "fa", steps=200, eta=0.1, seeds=2)
    start = fa.starting_point(12, 9, 3, 2)
    small = fa.train(
        c * t.Y,
        3,
        "fa",
        steps=200,
        eta=0.1 / c,
        seeds=2,
        B=start.B * c**0.5,
        Z0=start.Z0 * c**0.5,
        W0=start.W0 * c**0.5,
    )
    np.testing.assert_allclose(small.rel_error, unit.rel_error, rtol=1e-10)
    assert np.all(np.isfinite(small.rel_error))


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_a_start_too_large_for_floating_point_is_named_not_called_divergence(problem, which):
    with pytest.raises(ValueError, match="error at the start is not finite"):
        with pytest.warns(fa.start.ScaleWarning, match="init_scale=1e\\+160 is large"):
            trainers(problem)[which](rule="fa", steps=5, eta=0.1, init_scale=1e160)


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_divergence_advice_is_a_positive_step_size(problem, which):
    with pytest.raises(fa.DivergenceError) as info:
        trainers(problem)[which](rule="gd", steps=500, eta=50.0, init_scale=0.1)
    assert 0 < info.value.suggested_eta < 50.0
    assert "Try eta <= 0 " not in str(info.value) and "Try eta <= -" not in str(info.value)
