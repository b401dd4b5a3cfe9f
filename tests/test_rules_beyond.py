"""Rules beyond the paper: exact updates, reductions, and which engine each may use."""

import numpy as np
import pytest
from conftest import rel

import fa_core as fa


def hand(Y, Z, W, B, eta, lam, rule):
    E = Y - Z @ W
    if rule == "kp":
        return (
            Z + eta * (E @ B.T - lam * Z),
            W + eta * (Z.T @ E - lam * W),
            B + eta * (Z.T @ E - lam * B),
        )
    if rule == "fa_wd":
        return Z + eta * (E @ B.T - lam * Z), W + eta * (Z.T @ E - lam * W), B
    if rule == "drtp":
        return Z + eta * Y @ B.T, W + eta * Z.T @ E, B
    Bt = np.mean(np.abs(W)) * np.sign(W)  # sign symmetry
    return Z + eta * E @ Bt.T, W + eta * Z.T @ E, Bt


CASES = [
    ("kp", lambda: fa.kolen_pollack(0.05)),
    ("fa_wd", lambda: fa.with_weight_decay("fa", 0.05)),
    ("drtp", lambda: "drtp"),
    ("sign_symmetry", lambda: "sign_symmetry"),
]


@pytest.mark.parametrize("name, rule", CASES, ids=[c[0] for c in CASES])
def test_one_step_matches_hand_formula(small_problem, name, rule):
    t, Z, W, B = small_problem
    engines = ["dense"] if name == "sign_symmetry" else ["dense", "reduced"]
    for engine in engines:
        run = fa.train(t, 5, rule(), steps=1, eta=0.07, Z0=Z, W0=W, B=B, engine=engine)
        Zh, Wh, Bh = hand(t.Y, Z, W, B, 0.07, 0.05, name)
        assert (
            rel(run.Z[0], Zh) < 1e-13 and rel(run.W[0], Wh) < 1e-13 and rel(run.B[0], Bh) < 1e-13
        ), engine


def test_kolen_pollack_with_B0_equal_W0_is_gd_with_weight_decay(small_problem):
    t, Z, W, _ = small_problem
    kp = fa.train(t, 5, fa.kolen_pollack(0.03), steps=300, eta=0.05, Z0=Z, W0=W, B=W)
    gd = fa.train(t, 5, fa.with_weight_decay("gd", 0.03), steps=300, eta=0.05, Z0=Z, W0=W)
    assert rel(kp.Z, gd.Z) < 1e-12 and rel(kp.W, gd.W) < 1e-12 and rel(kp.B, kp.W) < 1e-12


def test_kolen_pollack_feedback_converges_to_W(small_problem):
    t, Z, W, B = small_problem
    run = fa.train(t, 5, fa.kolen_pollack(0.1), steps=3000, eta=0.1, Z0=Z, W0=W, B=B)
    gap0 = np.linalg.norm(B - W)
    assert np.linalg.norm(run.B[0] - run.W[0]) < 1e-6 * gap0  # shrinks by (1 − ηλ) per step


def test_weight_decay_zero_is_the_base_rule(small_problem):
    t, Z, W, B = small_problem
    a = fa.train(
        t, 5, fa.with_weight_decay("fa", 0.0), steps=50, eta=0.1, Z0=Z, W0=W, B=B, engine="dense"
    )
    b = fa.train(t, 5, "fa", steps=50, eta=0.1, Z0=Z, W0=W, B=B, engine="dense")
    assert np.array_equal(a.Z, b.Z)


def test_drtp_uses_fas_subspace_then_diverges_as_derived():
    t = fa.make_target(fa.head_tail_spectrum(3, 5, 0.3), 20, 16, rng=3)
    d = fa.train(t, 3, "drtp", steps=100, eta=0.05, seeds=3, init_scale=0.0, record=["Z_sq"])
    assert fa.principal_angles(d.Z, t.Y @ d.B.mT).max() < 1e-9
    growth = np.sqrt(d["Z_sq"][:, -1] / d["Z_sq"][:, d.steps.searchsorted(50)])
    np.testing.assert_allclose(growth, 100 / 50, rtol=1e-12)  # Z = t η Y Bᵀ: linear growth
    with pytest.raises(fa.DivergenceError) as info:
        fa.train(t, 3, "drtp", steps=2000, eta=0.05, seeds=3, init_scale=0.0)
    assert info.value.rule == "drtp" and info.value.step < 2000


def test_sign_symmetry_is_dense_only(small_problem):
    t, *_ = small_problem
    with pytest.raises(ValueError, match="not"):
        fa.train(t, 4, "sign_symmetry", steps=1, eta=0.1, engine="reduced")
    assert fa.train(t, 4, "sign_symmetry", steps=1, eta=0.1).engine == "dense"


def test_bad_decay_is_rejected():
    with pytest.raises(ValueError, match="lam"):
        fa.kolen_pollack(-0.1)
    with pytest.raises(ValueError, match="lam"):
        fa.with_weight_decay("fa", float("nan"))


def test_correlated_feedback_interpolates_and_keeps_the_scale():
    st = fa.starting_point(30, 40, 3, list(range(200)), init_scale=1.0, feedback_scale=1.0)
    W0, G = st.W0, st.B
    np.testing.assert_array_equal(fa.rules_beyond.correlated_feedback(W0, G, 0.0), G)
    np.testing.assert_array_equal(fa.rules_beyond.correlated_feedback(W0, G, 1.0), W0)
    B = fa.rules_beyond.correlated_feedback(W0, G, 0.6)
    assert (
        abs(np.mean(fa.metrics.cosine(B, W0)) - 0.6) < 0.02
    )  # cos(B, W₀) ≈ ρ for equal-scale draws
    assert abs(np.mean(np.sum(B**2, axis=(1, 2))) / np.mean(np.sum(G**2, axis=(1, 2))) - 1) < 0.02
    with pytest.raises(ValueError, match="rho must be"):
        fa.rules_beyond.correlated_feedback(W0, G, 1.5)


@pytest.mark.parametrize(
    "make",
    [lambda lam: fa.with_weight_decay("gd", lam), fa.kolen_pollack],
    ids=["gd+wd", "kolen_pollack"],
)
def test_one_decay_per_seed_trains_every_decay_in_one_batch(make):
    t = fa.make_target(
        fa.head_tail_spectrum(2, 10, 0.3), 14, 12, rng=3
    )  # the tail of 10 > 3r is merged
    lams, seeds = [0.0, 0.02, 0.1], [5, 6]
    kw = dict(steps=400, eta=0.1, init_scale=0.1, record=["cos_WB"])
    batch = fa.train(t, 2, make(np.repeat(lams, len(seeds))), seeds=seeds * len(lams), **kw)
    for lam, part in zip(lams, batch.split(len(lams))):
        alone = fa.train(t, 2, make(lam), seeds=seeds, **kw)
        assert part.seeds == alone.seeds and np.array_equal(part.error, alone.error)
        assert np.array_equal(part["cos_WB"], alone["cos_WB"])
        assert np.array_equal(part.Z, alone.Z) and np.array_equal(part.B, alone.B)
        assert np.array_equal(part.start.Z0, alone.start.Z0)
    with pytest.raises(ValueError, match="lam has 6 values, one per seed, but the run has 2 seeds"):
        fa.train(t, 2, make(np.repeat(lams, len(seeds))), seeds=seeds, **kw)
    with pytest.raises(ValueError, match="lam"):
        make([0.1, -0.1])


def test_split_needs_equal_parts():
    t = fa.make_target([1.0, 0.5], 6, 5, rng=0)
    run = fa.train(t, 2, "fa", steps=10, eta=0.1, seeds=6)
    assert [p.seeds for p in run.split(3)] == [(0, 1), (2, 3), (4, 5)]
    with pytest.raises(ValueError, match="parts must divide the number of seeds"):
        run.split(4)
    with pytest.raises(ValueError, match="parts"):
        run.split(0)
