"""Spanning sets are reduced to the subspace they span, and FA's limit is right at every rank of Y Bᵀ.

Every value is compared with an independent computation: bases from the SVD at NumPy's
``matrix_rank`` tolerance, projections formed densely, or FA trained from zero.
"""

import numpy as np
import pytest

import fa_core as fa

EPS = np.finfo(float).eps


def svd_basis(A):
    """Orthonormal basis of col(A) from the SVD, at NumPy's matrix_rank tolerance."""
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    return U[:, : np.linalg.matrix_rank(A)]


def reference_angles(A, C):
    """Principal angles from the SVD bases: arccos of the cosines, min(rank A, rank C) of them."""
    Qa, Qc = svd_basis(A), svd_basis(C)
    cos = np.linalg.svd(Qa.T @ Qc, compute_uv=False)[: min(Qa.shape[1], Qc.shape[1])]
    return np.sort(np.arccos(np.clip(cos, -1, 1)))


Q = np.linalg.qr(np.random.default_rng(3).standard_normal((6, 6)))[0]
G = np.random.default_rng(4).standard_normal((6, 6))


@pytest.mark.parametrize(
    "A, C",
    [
        (np.c_[Q[:, 0], Q[:, 0]], Q[:, :2]),  # duplicated column: one direction
        (G[:, :2] @ np.ones((2, 4)) + G[:, 2:3] @ np.arange(4.0)[None], G[:, 1:4]),  # rank 2 of 4
        (np.c_[G[:, :2], G[:, 0] + 1e-20], G[:, 2:5]),  # dependent to rounding: rank 2
        (np.c_[G[:, :2], G[:, 0] + 1e-6 * G[:, 5]], G[:, 2:5]),  # nearly dependent, but rank 3
        (1e-150 * np.c_[Q[:, 0], Q[:, 0], Q[:, 1]], 1e150 * G[:, :3]),  # scale-free
        (G[:, :3], G[:, :3] @ np.triu(np.ones((3, 3)))),  # the same subspace
    ],
)
def test_principal_angles_are_those_of_the_spanned_subspaces(A, C):
    expected = reference_angles(A, C)
    for a, c in ((A, C), (C, A)):
        got = fa.principal_angles(a, c)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-7)
        overlap = np.sum(np.cos(expected) ** 2) / expected.size
        assert abs(fa.subspace_overlap(a, c) - overlap) < 1e-12


def test_the_reported_reproductions():
    dup = np.c_[Q[:, 0], Q[:, 0]]
    np.testing.assert_allclose(fa.principal_angles(dup, Q[:, :2]), [0.0], atol=1e-15)
    assert fa.subspace_overlap(dup, Q[:, :2]) == pytest.approx(1.0, abs=1e-15)
    for zero, other in ((np.zeros((6, 2)), Q[:, :2]), (Q[:, :2], 1e-300 * np.zeros((6, 3)))):
        with pytest.raises(ValueError, match=r"(A|C) is zero"):
            fa.principal_angles(zero, other)
        with pytest.raises(ValueError, match="is zero"):
            fa.subspace_overlap(zero, other)


def test_fa_from_zero_with_r_above_k_shares_gds_subspace():
    """r = 5 on a rank-3 target: FA's Z from zero has rank 3 and lies in col(Y), as GD's does."""
    t = fa.make_target(fa.low_rank_spectrum(3), 12, 10, rng=0)
    gd = fa.train(t, 5, "gd", steps=3000, eta=0.1, seeds=2)
    fa_run = fa.train(t, 5, "fa", steps=3000, eta=0.1, seeds=2, init_scale=0.0)
    assert [np.linalg.matrix_rank(Z) for Z in fa_run.Z] == [3, 3]
    angles = fa.principal_angles(gd.Z, fa_run.Z)
    assert angles.shape == (2, 5) and np.all(np.isnan(angles[:, 3:]))  # 3 angles, then padding
    assert np.all(angles[:, :3] < 1e-6)
    for i in range(2):
        np.testing.assert_allclose(angles[i, :3], reference_angles(gd.Z[i], fa_run.Z[i]), atol=1e-7)


def test_a_stack_of_different_ranks_is_padded_with_nan():
    A = np.stack(
        [
            G[:, :3],
            np.c_[G[:, 0], G[:, 0], G[:, 1]],
            np.c_[G[:, 0], G[:, 0], G[:, 0]],
            np.zeros((6, 3)),  # spans nothing: no angles, and no error for the whole stack
        ]
    )
    C = np.broadcast_to(G[:, 1:4], (4, 6, 3))
    got = fa.principal_angles(A, C)
    assert got.shape == (4, 3)  # min(n, p, q), whatever the ranks
    for item, (a, c) in enumerate(zip(A[:3], C)):
        alone = fa.principal_angles(a, c)
        np.testing.assert_array_equal(got[item, : alone.size], alone)
        assert np.all(np.isnan(got[item, alone.size :]))
    assert [np.sum(~np.isnan(row)) for row in got] == [3, 2, 1, 0]
    overlap = fa.subspace_overlap(A, C)
    np.testing.assert_allclose(overlap[:3], [fa.subspace_overlap(a, c) for a, c in zip(A[:3], C)])
    assert np.isnan(overlap[3])
    full = np.stack([G[:, :3], G[:, 2:5]])
    assert not np.any(np.isnan(fa.principal_angles(full, full[::-1])))  # full rank: no padding


def test_orthonormal_basis_has_the_rank_of_its_input():
    A = np.c_[G[:, 0], 2 * G[:, 0], G[:, 1]]
    Qa = fa.linalg.orthonormal_basis(A)
    assert Qa.shape == (6, 2) and np.allclose(Qa.T @ Qa, np.eye(2), atol=1e-15)
    assert np.allclose(Qa @ (Qa.T @ A), A, atol=1e-14)


def residual_by_mode(t, Z):
    """σ_i² − ‖P_Z Y v_i‖² formed densely, with P_Z from the SVD basis."""
    Qz = svd_basis(Z) if np.any(Z) else np.zeros((Z.shape[0], 0))
    R = t.Y - Qz @ (Qz.T @ t.Y)
    return np.sum((R @ t.V) ** 2, axis=0)


def test_error_by_mode_uses_the_spanned_subspace():
    t = fa.make_target(fa.power_spectrum(8, 1.0), 15, 12, rng=0)
    rng = np.random.default_rng(1)
    z, w = rng.standard_normal(15), rng.standard_normal(15)
    cases = [np.c_[z, z, w], np.zeros((15, 3)), np.c_[z, w, z + w], np.c_[z, w, 1e-9 * z + w]]
    for Z in cases:
        by_mode = fa.theory.error_by_mode(t, Z)
        np.testing.assert_allclose(by_mode, residual_by_mode(t, Z), atol=1e-14)
    assert fa.theory.error_by_mode(t, np.zeros((15, 3))).sum() == pytest.approx(t.sq_norm)
    stack = np.stack(cases)
    np.testing.assert_array_equal(
        fa.theory.error_by_mode(t, stack)[1], fa.theory.error_by_mode(t, cases[1])
    )


# -- FA's limit at every rank of Y Bᵀ ------------------------------------------------------


@pytest.fixture(scope="module")
def power_target():
    return fa.make_target(fa.power_spectrum(8, 1.0), 15, 12, rng=0)


def feedback_with_rank(t, rank, r=3, seed=2):
    """r×m feedback whose rows meet Y's row space in ``rank`` dimensions, the rest orthogonal."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((r, t.m))
    B = G - (G @ t.V) @ t.V.T  # orthogonal to Y's rows, to rounding
    B[:rank] += rng.standard_normal((rank, t.k)) @ t.V.T
    return B


@pytest.mark.parametrize("rank", [0, 1, 2, 3])
def test_fa_limit_at_every_rank_of_the_sketch_agrees_with_training(power_target, rank):
    t = power_target
    B = feedback_with_rank(t, rank)
    run = fa.train(t, 3, "fa", B=B, steps=6000, eta=0.1, init_scale=0.0)
    reached = run.error[0, -1]
    paths = {
        "Target": fa.fa_limit_error(t, B),
        "array": fa.fa_limit_error(t.Y, B),
        "Sigma=I": fa.fa_limit_error(t, B, Sigma=np.eye(t.n)),
    }
    for name, value in paths.items():
        assert value == pytest.approx(reached, rel=1e-9), name
    np.testing.assert_allclose(fa.theory.fa_limit(t, B), run.Z[0] @ run.W[0], atol=1e-9)
    if rank == 0:
        assert paths["Target"] == pytest.approx(t.sq_norm, rel=1e-14)
        assert np.max(np.abs(fa.theory.fa_limit(t, B))) == 0.0
    batch = np.stack([feedback_with_rank(t, q) for q in range(4)])
    np.testing.assert_allclose(
        fa.fa_limit_error(t, batch), [fa.fa_limit_error(t, b) for b in batch], rtol=1e-14
    )


def test_the_sketch_tolerance_is_relative_to_y_and_b_not_to_their_product(power_target):
    """B scaled by 1e±150 or Y by 1e±100: the same limit, so the tolerance moves with both."""
    t = power_target
    B = feedback_with_rank(t, 1)
    base = fa.fa_limit_error(t, B)
    for scale in (1e-150, 1e150):
        assert fa.fa_limit_error(t, scale * B) == pytest.approx(base, rel=1e-12)
    for scale in (1e-100, 1e100):
        scaled = fa.Target(t.U, scale * t.s, t.V)
        assert fa.fa_limit_error(scaled, B) == pytest.approx(scale**2 * base, rel=1e-12)
