"""The exact reduced engine against the dense reference (derivations R11)."""

import numpy as np
import pytest
from conftest import rel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    gram_scale = (
        np.max(np.abs(d["Z_sq"]) + np.sqrt(np.abs(d["W_sq"] * d["Z_sq"])) + d["W_sq"]) + 1.0
    )
    for name in d.metrics:
        if name != "error":
            assert np.abs(d[name] - red[name]).max() < tol * max(
                gram_scale, np.abs(d[name]).max()
            ), name
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
    assert_agree(
        *both(Y, 4, "fa", steps=300, eta=0.05, seeds=2, B=B, init_scale=0.1, record=METRICS)
    )


def test_reduced_never_forms_dense_Y():
    t = fa.make_target(fa.low_rank_spectrum(10), n=20000, m=30000, rng=0)
    run = fa.train(t, 5, "fa", steps=50, eta=0.1, seeds=2)
    assert "Y" not in t.__dict__  # cached_property was never evaluated
    assert run.engine == "reduced" and run.metrics["error"].shape == (2, run.steps.size)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 14),
    m=st.integers(2, 14),
    k=st.integers(1, 6),
    r=st.integers(1, 6),
    rule=st.sampled_from(["gd", "fa", "fa_star"]),
    init=st.sampled_from([0.0, 0.05, 0.5]),
    explicit_B=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_reduced_equals_dense(n, m, k, r, rule, init, explicit_B, seed):
    k, r = min(k, n, m), min(r, n, m)
    t = fa.make_target(np.linspace(1, 0.3, k), n, m, rng=seed)
    if rule == "gd" and init == 0.0:
        init = 0.05
    B = np.random.default_rng(seed + 1).standard_normal((r, m)) / np.sqrt(m) if explicit_B else None
    runs = both(t, r, rule, steps=60, eta=0.1, seeds=2, init_scale=init, B=B, record=METRICS)
    assert_agree(*runs, tol=1e-9)


# -- the O(k r²) error for k ≫ r ------------------------------------------------


def _reduced_state(k, r, S, rng, near=None):
    """Random reduced (Z̃, W̃) with p = r and q = 2r; ``near`` puts ZW within that distance of the rank-r optimum."""
    Zt = rng.standard_normal((S, k + r, r))
    Wt = rng.standard_normal((S, r, k + 2 * r))
    if near is not None:
        Zt[:, :r] = np.eye(r)
        Zt[:, r:] = 0
        Wt[:] = 0
        Wt[:, :, :r] = np.diag(np.geomspace(1, 0.5, k)[:r])
        Zt += near * rng.standard_normal(Zt.shape)
        Wt += near * rng.standard_normal(Wt.shape)
    return Zt, Wt


@pytest.mark.parametrize(
    "k, r, near",
    [
        (40, 2, None),
        (200, 5, None),
        (7, 3, None),
        (3, 5, None),
        (300, 4, 1e-3),
        (300, 4, 1e-9),
        (50, 50, None),
    ],
)
def test_split_error_equals_the_residual_block(k, r, near):
    from fa_core.reduced import ReducedY

    rng = np.random.default_rng(k + r)
    s = np.geomspace(1, 0.5, k)
    if near is not None:
        s[r:] *= 1e-6  # a tail far below the head, so the error is tiny against ‖Y‖²
    Zt, Wt = _reduced_state(k, r, 3, rng, near)
    Y = ReducedY(s)
    block = np.einsum("sij,sij->s", Y.E(Zt, Wt), Y.E(Zt, Wt))
    assert rel(Y.split_sq_error(Zt, Wt), block) < 1e-12


def test_split_error_keeps_its_digits_where_the_expansion_cancels():
    """Near the optimum the error is 1e-22 of ‖Y‖²: the split form keeps ~all digits, ‖Y‖² − 2⟨⟩ + ‖ZW‖² keeps none."""
    from fa_core.reduced import ReducedY

    k, r = 400, 3
    s = np.concatenate([np.ones(r), np.full(k - r, 1e-12)])
    Zt, Wt = _reduced_state(k, r, 2, np.random.default_rng(0), near=1e-11)
    Wt[:, :, :r] = np.eye(r)
    Y = ReducedY(s)
    E = Y.E(Zt, Wt)
    exact = np.einsum("sij,sij->s", E, E)
    naive = (
        np.sum(s**2)
        - 2 * np.einsum("i,sri,sir->s", s, Wt[:, :, :k], Zt[:, :k])
        + np.einsum("sab,sab->s", Zt.mT @ Zt, Wt @ Wt.mT)
    )
    assert rel(Y.split_sq_error(Zt, Wt), exact) < 1e-10
    assert rel(naive, exact) > 1e-2  # the cancellation the split form avoids


@pytest.mark.parametrize("rule", ["gd", "fa"])
def test_reduced_error_for_k_much_larger_than_r_matches_dense(rule):
    t = fa.make_target(fa.power_spectrum(120, 0.5), 150, 130, rng=3)
    kw = dict(steps=300, eta=0.1, seeds=3, init_scale=0.01 if rule == "gd" else 0.0)
    red = fa.train(t, 3, rule, engine="reduced", **kw)
    den = fa.train(t, 3, rule, engine="dense", **kw)
    assert red.steps.size == den.steps.size and rel(red.error, den.error) < 1e-10


def test_split_error_memory_is_linear_in_k():
    """At k = 20000 the residual block would be 3.2 GB per seed; the split form needs O(k r)."""
    import tracemalloc

    from fa_core.reduced import ReducedY

    k, r = 20000, 4
    Zt, Wt = _reduced_state(k, r, 1, np.random.default_rng(1))
    tracemalloc.start()
    err = ReducedY(np.ones(k)).sq_error(Zt, Wt)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.isfinite(err).all() and peak < 50 * k * r * 8


# -- long runs of equal singular values ----------------------------------------

TIED = [  # spectrum, n, m, r: a bump, a head and tail, two long runs and a short one, a run at the end
    (fa.bump_spectrum(40, 2, 0.2), 45, 42, 2),
    (fa.head_tail_spectrum(3, 30, 0.1), 36, 40, 3),
    (np.r_[np.full(12, 1.0), [0.8], np.full(14, 0.5), np.full(3, 0.2)], 33, 31, 3),
]


@pytest.mark.parametrize("rule", ["gd", "fa", "fa_star"])
@pytest.mark.parametrize("case", range(len(TIED)))
@pytest.mark.parametrize("init_scale", [0.0, 0.3])
def test_merged_ties_match_dense(rule, case, init_scale):
    s, n, m, r = TIED[case]
    t = fa.make_target(s, n, m, rng=case)
    if rule == "gd" and init_scale == 0.0:
        init_scale = 1e-3
    d, red = both(t, r, rule, steps=300, eta=0.08, seeds=3, init_scale=init_scale, record=METRICS)
    assert_agree(d, red)


def test_merge_ties_keeps_3r_directions_per_long_run():
    from fa_core.reduced import merge_ties, tied_runs

    s = np.r_[np.full(10, 2.0), [1.5], np.full(4, 1.0), np.full(20, 0.5)]
    assert tied_runs(s, 6) == [(0, 10), (15, 35)]
    rng = np.random.default_rng(0)
    S, r = 2, 2
    A, C, D = (
        rng.standard_normal((S, s.size, r)),
        rng.standard_normal((S, r, s.size)),
        rng.standard_normal((S, r, s.size)),
    )
    T, s_red, dropped = merge_ties(s, A, C, D)
    np.testing.assert_array_equal(
        s_red, np.r_[np.full(6, 2.0), [1.5], np.full(4, 1.0), np.full(6, 0.5)]
    )
    assert dropped == 4 * 4.0 + 14 * 0.25
    np.testing.assert_allclose(
        T.mT @ T, np.broadcast_to(np.eye(s_red.size), (S, 17, 17)), atol=1e-14
    )
    for X in (A, C.mT, D.mT):  # every coordinate lies in col(T): nothing is lost
        np.testing.assert_allclose(T @ (T.mT @ X), X, atol=1e-13)
    assert merge_ties(np.arange(8.0)[::-1] + 1, A[:, :8], C[:, :, :8], D[:, :, :8])[0] is None


def test_diagonal_target_equals_identity_factors_and_scales_to_large_k():
    s = fa.bump_spectrum(300, 3, 0.2) / 1.2
    kw = dict(steps=200, eta=0.1, seeds=2, record=["cos_WB"])
    a = fa.train(fa.Target.diagonal(s), 3, "fa", **kw)
    b = fa.train(fa.Target(np.eye(300), s, np.eye(300)), 3, "fa", **kw)
    np.testing.assert_array_equal(a.error, b.error)
    np.testing.assert_array_equal(a.Z, b.Z)
    big = fa.Target.diagonal(fa.bump_spectrum(200_000, 3, 0.2) / 1.2)  # np.eye would be 320 GB
    run = fa.train(big, 3, "fa", steps=20, eta=0.1, seeds=1, init_scale=0.0)
    assert run.Z.shape == (1, 200_000, 3)
    # zero start: the error is ‖Y‖², the part outside the merged directions included
    assert rel(run.error[:, 0], big.sq_norm) < 1e-15


def test_identity_operator_acts_as_the_identity_without_forming_it():
    from fa_core.linalg import Identity

    eye, X = Identity(4), np.random.default_rng(0).standard_normal((2, 4, 3))
    assert eye @ X is X
    np.testing.assert_array_equal(X.mT @ eye, X.mT)
    np.testing.assert_array_equal(eye[:, 1:3], np.eye(4)[:, 1:3])
    np.testing.assert_array_equal(np.asarray(eye), np.eye(4))
    np.testing.assert_array_equal(eye * np.arange(4.0), np.diag(np.arange(4.0)))
    with pytest.raises(ValueError, match=r"Identity\(4\) times an operand of shape \(3, 3\)"):
        eye @ np.ones((3, 3))
    with pytest.raises(TypeError, match="only I"):
        eye[0]


def test_the_three_operators_are_one_interface_with_one_answer():
    """DenseY, ReducedY and DataY take (Z, W) first and the extra matrix last, and agree.

    Y = diag(s) padded is the reduced target itself; whitened inputs with T = X Y make the
    network's data the same target.
    """
    from fa_core.network import DataY
    from fa_core.operators import DenseY
    from fa_core.reduced import ReducedY

    n, m, r, S = 7, 6, 2, 3
    s = np.array([1.0, 0.6, 0.3])
    Y = np.zeros((n, m))
    Y[np.arange(3), np.arange(3)] = s
    X = fa.whitened_inputs(30, n, 0)
    rng = np.random.default_rng(5)
    Z, G = rng.standard_normal((2, S, n, r))
    W, F = rng.standard_normal((2, S, r, m))
    dense, reduced = DenseY(Y), ReducedY(s)
    for data in (DataY(X, X @ Y), DataY(X, X @ Y, moments=True)):
        for op in (reduced, data):
            assert rel(op.E_Ft(Z, W, F), dense.E_Ft(Z, W, F)) < 1e-13
            assert rel(op.Gt_E(Z, W, G), dense.Gt_E(Z, W, G)) < 1e-13
            assert rel(op.sq_error(Z, W), dense.sq_error(Z, W)) < 1e-13
    assert rel(reduced.E(Z, W), dense.E(Z, W)) < 1e-15
    np.testing.assert_allclose(dense.Gt_E(Z, W, G), G.mT @ (Y - Z @ W), rtol=1e-13)
    np.testing.assert_allclose(dense.E_Ft(Z, W, F), (Y - Z @ W) @ F.mT, rtol=1e-13)
