"""The exact reduced engine against the dense reference (derivations R11)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import rel

import fa_core as fa

METRICS = ["cos_WB", "lam_min_WBt", "lam_min_ZtZ", "invariant_drift", "EBt_sq", "Z_sq", "W_sq"]


def both(target, r, rule, **kw):
    return [fa.train(target, r, rule, engine=e, **kw) for e in ("dense", "reduced")]


def assert_agree(d, red, tol=1e-10):
    """Dense and reduced runs agree to ``tol`` relative, on the scale each quantity lives on.

    A quantity computed from Gram matrices (λ_min, drift, ‖E‖) is only
    determined to about ε times the norm of the matrices it comes from (Weyl),
    so each is compared relative to that scale: ‖Z‖² + ‖W‖‖B‖ for the Gram
    metrics, and ‖E‖ is compared with a floor of 1e3 ε ‖Y‖_F.
    """
    assert d.engine == "dense" and red.engine == "reduced"
    norm_E = np.sqrt(d.error), np.sqrt(red.error)
    floor = 1e3 * np.finfo(float).eps * np.sqrt(d.sq_norm_Y)
    assert np.all(np.abs(norm_E[0] - norm_E[1]) <= tol * norm_E[0] + floor)
    gram_scale = np.max(np.abs(d["Z_sq"]) + np.sqrt(np.abs(d["W_sq"] * d["Z_sq"])) + d["W_sq"]) + 1.0
    for name in d.metrics:
        if name != "error":
            assert np.abs(d[name] - red[name]).max() < tol * max(gram_scale, np.abs(d[name]).max()), name
    for attr in ("Z", "W", "B"):
        assert rel(getattr(d, attr), getattr(red, attr)) < tol, attr


SHAPES = [  # n, m, k, r: n != m, k < r, k = r, k > r, k + 2r > m
    (30, 20, 3, 5),
    (20, 30, 5, 5),
    (25, 25, 8, 3),
    (12, 9, 6, 4),
    (40, 7, 2, 6),
]


@pytest.mark.parametrize("rule", ["gd", "fa", "fa_star"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("init_scale", [0.0, 0.3])
def test_reduced_matches_dense(rule, shape, init_scale):
    n, m, k, r = shape
    t = fa.make_target(fa.low_rank_spectrum(k, kappa=5), n, m, rng=n * m + k)
    if rule == "gd" and init_scale == 0.0:
        init_scale = 1e-3  # GD cannot leave the saddle at zero
    runs = both(t, r, rule, steps=400, eta=0.08, seeds=3, init_scale=init_scale, record=METRICS)
    assert_agree(*runs)


def test_reduced_matches_dense_with_explicit_B_and_dense_Y():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((14, 3)) @ rng.standard_normal((3, 11))
    Y /= np.linalg.norm(Y, 2)
    B = rng.standard_normal((2, 4, 11))
    assert_agree(*both(Y, 4, "fa", steps=300, eta=0.05, seeds=2, B=B, init_scale=0.1, record=METRICS))


def test_reduced_never_forms_dense_Y():
    t = fa.make_target(fa.low_rank_spectrum(10), n=20000, m=30000, rng=0)
    run = fa.train(t, 5, "fa", steps=50, eta=0.1, seeds=2)
    assert "Y" not in t.__dict__  # cached_property was never evaluated
    assert run.engine == "reduced" and run.metrics["error"].shape == (2, run.steps.size)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 14), m=st.integers(2, 14), k=st.integers(1, 6), r=st.integers(1, 6),
    rule=st.sampled_from(["gd", "fa", "fa_star"]), init=st.sampled_from([0.0, 0.05, 0.5]),
    explicit_B=st.booleans(), seed=st.integers(0, 2**16),
)
def test_property_reduced_equals_dense(n, m, k, r, rule, init, explicit_B, seed):
    k, r = min(k, n, m), min(r, n, m)
    t = fa.make_target(np.linspace(1, 0.3, k), n, m, rng=seed)
    if rule == "gd" and init == 0.0:
        init = 0.05
    B = np.random.default_rng(seed + 1).standard_normal((r, m)) / np.sqrt(m) if explicit_B else None
    runs = both(t, r, rule, steps=60, eta=0.1, seeds=2, init_scale=init, B=B, record=METRICS)
    assert_agree(*runs, tol=1e-9)
