"""Closed forms: Eckart-Young, FA's limit, principal angles, targets."""

import numpy as np
import pytest
from conftest import rel

import fa_core as fa


def test_make_target_factors_and_normalisation():
    t = fa.make_target([3.0, 1.0, 2.0], n=10, m=7, rng=0)
    np.testing.assert_allclose(t.s, [1, 2 / 3, 1 / 3])
    np.testing.assert_allclose(t.U.T @ t.U, np.eye(3), atol=1e-14)
    np.testing.assert_allclose(t.V.T @ t.V, np.eye(3), atol=1e-14)
    assert np.isclose(np.linalg.norm(t.Y, 2), 1.0)
    np.testing.assert_allclose(np.linalg.svd(t.Y, compute_uv=False)[:3], t.s)
    raw = fa.make_target([3.0, 1.0], n=5, m=5, rng=0, normalize=False)
    assert np.isclose(np.linalg.norm(raw.Y, 2), 3.0)


def test_make_target_is_deterministic_and_haar_like():
    a = fa.make_target([1, 1], 6, 6, rng=np.random.default_rng(1))
    b = fa.make_target([1, 1], 6, 6, rng=1)
    assert np.array_equal(a.U, b.U)
    # Haar: E[U_ij²] = 1/n; check the mean over many draws
    U2 = np.mean([fa.make_target([1], 4, 4, rng=s).U[:, 0] ** 2 for s in range(4000)], axis=0)
    np.testing.assert_allclose(U2, 0.25, atol=0.02)


def test_target_from_matrix_recovers_rank():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((9, 3)) @ rng.standard_normal((3, 8))
    t = fa.Target.from_matrix(Y)
    assert t.k == 3 and rel(t.Y, Y) == 0 and rel((t.U * t.s) @ t.V.T, Y) < 1e-14


def test_spectra_helpers():
    assert np.allclose(fa.low_rank_spectrum(3, kappa=4), [1, 0.5, 0.25])
    assert list(fa.head_tail_spectrum(2, 3, 0.1)) == [1, 1, 0.1, 0.1, 0.1]
    assert list(fa.bump_spectrum(4, 1, 0.5)) == [1.5, 1, 1, 1]
    assert np.allclose(fa.power_spectrum(3), [1, 0.5, 1 / 3])
    with pytest.raises(ValueError, match="kappa"):
        fa.low_rank_spectrum(3, kappa=0.5)


def test_optimal_error_is_eckart_young():
    t = fa.make_target([1, 0.5, 0.25, 0.1], 8, 6, rng=0)
    assert np.isclose(fa.optimal_error(t, 2), 0.25**2 + 0.1**2)
    assert fa.optimal_error(t, 4) == 0.0
    U, s, Vt = np.linalg.svd(t.Y)
    best = (U[:, :2] * s[:2]) @ Vt[:2]
    assert np.isclose(np.sum((t.Y - best) ** 2), fa.optimal_error(t.Y, 2))
    with pytest.raises(ValueError, match=r"r must be in \[1, 6\]"):
        fa.optimal_error(t, 7)


def test_optimal_fit_attains_optimal_error_with_and_without_sigma():
    t = fa.make_target(fa.power_spectrum(5), 8, 6, rng=2)
    M = fa.theory.optimal_fit(t, 2)
    assert np.linalg.matrix_rank(M) == 2 and np.isclose(
        np.sum((t.Y - M) ** 2), fa.optimal_error(t, 2)
    )
    A = np.random.default_rng(1).standard_normal((8, 8))
    Sigma = A @ A.T + 0.1 * np.eye(8)
    Ms = fa.theory.optimal_fit(t, 2, Sigma=Sigma)
    L = fa.theory.sqrt_spd(Sigma, 8)
    assert np.linalg.matrix_rank(Ms) == 2
    assert np.isclose(np.sum((L @ (t.Y - Ms)) ** 2), fa.optimal_error(t, 2, Sigma=Sigma))
    assert np.sum((L @ (t.Y - M)) ** 2) > fa.optimal_error(
        t, 2, Sigma=Sigma
    )  # the unweighted fit is worse
    with pytest.raises(ValueError, match="positive definite"):
        fa.optimal_error(t, 2, Sigma=-np.eye(8))


def test_fa_limit_is_projection_onto_sketch():
    t = fa.make_target(fa.power_spectrum(6), 12, 10, rng=4)
    B = np.random.default_rng(5).standard_normal((3, 10))
    L = fa.theory.fa_limit(t, B)
    Q = np.linalg.qr(t.Y @ B.T)[0]
    np.testing.assert_allclose(L, Q @ Q.T @ t.Y, atol=1e-14)
    assert np.isclose(fa.fa_limit_error(t, B), np.sum((t.Y - L) ** 2))
    assert fa.fa_limit_error(t, B) >= fa.optimal_error(t, 3)
    # invariant under B -> R B for invertible R (derivations R5)
    R = np.random.default_rng(6).standard_normal((3, 3))
    assert np.isclose(fa.fa_limit_error(t, R @ B), fa.fa_limit_error(t, B))
    # batched over draws, and zero when r >= k
    Bs = np.random.default_rng(7).standard_normal((5, 3, 10))
    np.testing.assert_allclose(fa.fa_limit_error(t, Bs), [fa.fa_limit_error(t, b) for b in Bs])
    assert fa.fa_limit_error(t, np.random.default_rng(8).standard_normal((6, 10))) < 1e-28


def test_principal_angles_known_cases():
    e = np.eye(4)
    np.testing.assert_allclose(fa.principal_angles(e[:, :2], e[:, :2]), [0, 0], atol=1e-15)
    np.testing.assert_allclose(fa.principal_angles(e[:, :2], e[:, 2:]), [np.pi / 2] * 2)
    th = 1e-9  # a tiny angle must be resolved, not rounded to 0 or 1e-8
    a = np.array([[1.0], [0], [0], [0]])
    c = np.array([[np.cos(th)], [np.sin(th)], [0], [0]])
    assert abs(fa.principal_angles(a, c)[0] - th) < 1e-20
    ang = fa.principal_angles(e[:, :2], np.array([[1.0, 0], [0, 1], [0, 1], [0, 0]]))
    np.testing.assert_allclose(ang, [0, np.pi / 4])
    np.testing.assert_allclose(
        fa.principal_angles(e[:, :3], np.array([[1.0, 0], [0, 1], [0, 1], [0, 0]])),
        [0, 0],
        atol=1e-15,
    )
    assert np.all(np.diff(ang) >= 0)
    assert np.isclose(fa.subspace_overlap(e[:, :2], e[:, 1:3]), 0.5)


def test_sketch_error_matches_fa_limit_error_in_coordinates():
    t = fa.make_target(fa.power_spectrum(7), 9, 8, rng=1)
    B = np.random.default_rng(2).standard_normal((4, 3, 8))
    np.testing.assert_allclose(fa.theory.sketch_error(t.s, B @ t.V), fa.fa_limit_error(t, B))


def test_top_singular_subspace_includes_ties():
    t = fa.make_target([1.0, 1.0, 1.0, 0.5], 8, 6, rng=0)
    assert fa.theory.top_singular_subspace(t, 2).shape == (8, 3)
    assert fa.theory.top_singular_subspace(t, 4).shape == (8, 4)
    u = fa.make_target([1.0, 0.7, 0.5], 8, 6, rng=0)
    np.testing.assert_array_equal(fa.theory.top_singular_subspace(u, 2), u.U[:, :2])


def test_head_tail_ratio_is_exact():
    """derivations R8: FA/OPT = 1 + (1 − s²)/q · tr((I + s²HᵀH)⁻¹HᵀH), draw by draw."""
    r, q, s = 3, 7, 0.2
    spectrum = np.concatenate([np.ones(r), np.full(q, s)])
    D = np.random.default_rng(4).standard_normal((200, r, r + q))
    direct = fa.theory.sketch_error(spectrum, D) / (q * s**2)
    assert np.max(np.abs(fa.theory.head_tail_ratio(D, s) - direct) / direct) < 1e-9
    sv = np.linalg.svd(np.random.default_rng(5).standard_normal((20000, r, r)), compute_uv=False)
    estimate = np.median(fa.theory.head_tail_estimate(sv, q, s))
    assert (
        0.8 < np.median(direct) / estimate < 1.25
    )  # the leading-order estimate, within its stated band


def test_bump_excess_is_exact():
    """derivations R10: any r-subspace of col(Y) has FA/GD − 1 = ((1+δ)²−1) r (1 − ov)/(k − r)."""
    k, r, delta = 30, 3, 0.4
    t = fa.make_target(fa.bump_spectrum(k, r, delta), 40, 35, rng=3, normalize=False)
    Q = (
        t.U @ np.linalg.qr(np.random.default_rng(6).standard_normal((k, r)))[0]
    )  # a random r-subspace of col(Y)
    error = np.sum((t.Y - Q @ (Q.T @ t.Y)) ** 2)
    ov = fa.subspace_overlap(Q, t.U[:, :r])
    assert abs(error / fa.optimal_error(t, r) - 1 - fa.theory.bump_excess(k, r, delta, ov)) < 1e-12
    assert fa.theory.bump_excess(k, r, delta, ov) <= fa.theory.bump_excess_bound(k, r, delta)


def test_alignment_bound_holds_for_fa_from_zero():
    """derivations R6: V = ‖EBᵀ‖² never decays slower than η Σ 2λ_min(sym WBᵀ) guarantees."""
    t = fa.make_target(fa.low_rank_spectrum(3), 20, 15, rng=1)
    run = fa.train(
        t,
        3,
        "fa",
        steps=400,
        eta=0.05,
        seeds=4,
        init_scale=0.0,
        record=["EBt_sq", "lam_min_WBt"],
        record_at=np.arange(401),
    )
    V = run["EBt_sq"]
    bound = fa.theory.alignment_bound(V[:, 0], run["lam_min_WBt"], 0.05)
    live = run.rel_error > 1e-16
    assert np.all(np.where(live, np.log(V) - np.log(bound), -np.inf) <= 1e-9)
    assert np.all(bound[:, -1] < bound[:, 0])  # the alignment is positive: the bound itself decays


@pytest.mark.parametrize(
    "n, m, spectrum",
    [
        (400, 300, np.geomspace(1, 1e-3, 300)),  # full rank: the full SVD fallback
        (400, 300, np.geomspace(1, 1e-2, 12)),  # rank-deficient
        (
            600,
            300,
            np.concatenate([np.ones(20), np.full(8, 1e-12)]),
        ),  # a tail at 1e-12 above the rank tolerance
        (900, 280, fa.power_spectrum(40)),  # tall
        (280, 900, fa.power_spectrum(40)),  # wide
    ],
)
def test_dense_targets_are_factored_exactly_at_their_rank(n, m, spectrum):
    """Target.from_matrix: sketched when large and low-rank, always exact to 1e-13 and of the right rank."""
    t = fa.make_target(spectrum, n, m, rng=3, normalize=False)
    Y = t.Y.copy()
    f = fa.Target.from_matrix(Y)
    U, s, _ = np.linalg.svd(Y, full_matrices=False)
    assert f.k == int(np.sum(s > max(n, m) * np.finfo(float).eps * s[0]))
    assert np.linalg.norm(Y - (f.U * f.s) @ f.V.T) <= 1e-13 * np.linalg.norm(Y)
    assert np.allclose(f.s, s[: f.k], rtol=1e-10, atol=1e-15)
    assert np.array_equal(f.Y, Y)  # the caller's exact matrix is kept as the dense form


def _sketch_error_entrywise(s, D):
    """The residual diag(s) − Q Qᵀ diag(s) formed entry by entry: the reference, at O(k²) per draw."""
    Q = fa.linalg.range_basis(s[:, None] * D.swapaxes(-1, -2))
    R = np.diag(s) - Q @ (Q.swapaxes(-1, -2) * s)
    return np.einsum("...ij,...ij->...", R, R)


@pytest.mark.parametrize("k, r", [(30, 4), (5, 5), (4, 7), (60, 1)])
def test_sketch_error_equals_the_residual_formed_entrywise(k, r):
    rng = np.random.default_rng(k * r)
    s = np.sort(rng.uniform(0.1, 1, k))[::-1]
    D = rng.standard_normal((6, r, k))
    D[0, -1] = D[0, 0]  # a rank-deficient draw
    np.testing.assert_allclose(
        fa.theory.sketch_error(s, D), _sketch_error_entrywise(s, D), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        fa.theory.sketch_error(s[::-1], D[..., ::-1]),
        _sketch_error_entrywise(s, D),
        rtol=1e-12,
        atol=1e-15,
    )  # unsorted s: the same problem with its coordinates reversed


def test_sketch_error_keeps_its_digits_where_the_difference_of_norms_cancels():
    """A sketch that nearly captures the head: the error is 1e-20 of ‖S‖², and ‖S‖² − ‖QᵀS‖² keeps no digit of it."""
    k, r = 200, 3
    s = np.r_[np.ones(r), np.full(k - r, 1e-9)]
    D = np.random.default_rng(0).standard_normal((4, r, k)) * 1e-3
    D[:, :, :r] += np.eye(r)
    exact = _sketch_error_entrywise(s, D)
    Q = fa.linalg.range_basis(s[:, None] * D.swapaxes(-1, -2))
    naive = np.sum(s**2) - np.sum((Q.swapaxes(-1, -2) * s) ** 2, axis=(-2, -1))
    assert rel(fa.theory.sketch_error(s, D), exact) < 1e-10
    assert rel(naive, exact) > 1e-2
