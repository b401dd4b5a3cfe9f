"""derivations R6: FA*'s local rate, the bound on ZᵀZ at its limit, and the equal-spectrum solution."""

import numpy as np
import pytest

import fa_core as fa


def scalar_fa_star(s: float, sigma: np.ndarray, eta: float, steps: int) -> np.ndarray:
    """a ← a + η (s σ − a³/2) from a = 0: FA* from zero along each singular direction of B V."""
    a = np.zeros_like(sigma)
    for _ in range(steps):
        a = a + eta * (s * sigma - a**3 / 2)
    return a


@pytest.mark.parametrize("r", [3, 5])
def test_equal_spectrum_fa_star_from_zero_is_the_scalar_solution(r):
    """With s₁ = … = s_k, the eigenvalues of ZᵀZ are a_i² of k independent scalar problems."""
    k, eta = 3, 0.1
    t = fa.make_target(np.ones(k), 12, 9, rng=2)
    for steps in (1, 7, 60, 4000):
        run = fa.train(t, r, "fa_star", steps=steps, eta=eta, seeds=3, init_scale=0.0)
        for Z, B in zip(run.Z, run.B):
            sigma = np.linalg.svd(B @ t.V, compute_uv=False)
            gram = np.linalg.eigvalsh(Z.T @ Z)[::-1][:k]
            a = scalar_fa_star(t.s[0], sigma, eta, steps)
            np.testing.assert_allclose(gram, a**2, rtol=1e-9, atol=1e-14)
    lower, upper = fa.theory.fa_star_gram_bounds(t, run.B)  # the limit: a³ = 2 s σ
    gram = np.linalg.eigvalsh(run.Z.mT @ run.Z)
    np.testing.assert_allclose(gram[:, -k], lower, rtol=1e-9)
    np.testing.assert_allclose(gram[:, -1], upper, rtol=1e-9)


def test_local_rate_predicts_the_iterated_rate():
    """The fitted rate of ln‖E‖² equals −2 ln max ǀ1 − η zǀ over the limit's modes, for FA and FA*."""
    t = fa.make_target(fa.low_rank_spectrum(3, 4.0), 15, 12, rng=3)
    eta = 0.1
    for rule, r, init in (("fa_star", 3, 0.0), ("fa", 5, 0.0), ("fa_star", 3, 0.2)):
        run = fa.train(t, r, rule, steps=40000, eta=eta, seeds=4, init_scale=init, tol=1e-26)
        assert run.rel_error[:, -1].max() < 1e-24
        fitted = fa.metrics.decay_rate(run.steps, run.rel_error, band=(1e-24, 1e-12))
        predicted = fa.theory.local_rate(t, run.Z, run.W, run.B, eta, from_zero=init == 0.0)
        np.testing.assert_allclose(fitted, predicted, rtol=0.02)
        one = fa.theory.local_rate(t, run.Z[0], run.W[0], run.B[0], eta, from_zero=init == 0.0)
        assert one == pytest.approx(predicted[0])


def test_random_start_modes_include_the_alignment_of_W_with_B():
    """From a random start the factors 1 − η μ, μ ∈ eig(W Bᵀ), are modes; from zero they are not."""
    t = fa.make_target(fa.low_rank_spectrum(2), 8, 6, rng=4)
    run = fa.starting_point(8, 6, 2, seeds=2, init_scale=1.0, rule="fa_star")
    inside = fa.theory.limit_modes(t, run.Z0, run.W0, run.B, from_zero=True)
    every = fa.theory.limit_modes(t, run.Z0, run.W0, run.B, from_zero=False)
    assert inside.shape == (2, 4) and every.shape == (2, 8)
    mu = np.linalg.eigvals(run.W0 @ run.B.mT)
    np.testing.assert_allclose(np.sort_complex(every[:, 4:6]), np.sort_complex(mu))


def test_gram_upper_bound_holds_at_fa_star_limit():
    """Any spectrum: every eigenvalue of ZᵀZ at FA*'s limit from zero is at most (2 s₁ σ₁(B V))^{2/3}."""
    t = fa.make_target(fa.low_rank_spectrum(4, 10.0), 16, 12, rng=5)
    for r in (4, 7):
        run = fa.train(t, r, "fa_star", steps=40000, eta=0.1, seeds=6, init_scale=0.0, tol=1e-28)
        lower, upper = fa.theory.fa_star_gram_bounds(t, run.B)
        gram = np.linalg.eigvalsh(run.Z.mT @ run.Z)
        assert np.all(gram[:, -1] <= upper * (1 + 1e-9))
        assert np.all(gram[:, -4] >= lower)  # the conjectured lower bound, on these draws


def test_fa_star_rate_is_the_equal_spectrum_rate_and_rejects_bad_input():
    t = fa.make_target(np.ones(2), 6, 5, rng=6)
    B = np.random.default_rng(0).normal(size=(3, 5))
    sigma_k = np.linalg.svd(B @ t.V, compute_uv=False)[-1]
    expected = -2 * np.log(1 - 1.5 * 0.05 * (2 * sigma_k) ** (2 / 3))
    assert fa.theory.fa_star_rate(t, B, 0.05) == pytest.approx(expected)
    assert fa.theory.fa_star_rate(t, B, 1e3) == np.inf  # the step overshoots: no rate
    with pytest.raises(ValueError, match="r >= k"):
        fa.theory.fa_star_gram_bounds(t, B[:1])
    with pytest.raises(ValueError, match="eta"):
        fa.theory.fa_star_rate(t, B, -0.1)


def test_conjectured_monotonicity_of_lam_min_on_random_problems():
    """Conjecture R6: under FA* from zero with r = k, λ_min(ZᵀZ) never falls unless a mode overshoots."""
    rng = np.random.default_rng(7)
    for _ in range(10):
        k = int(rng.integers(2, 5))
        t = fa.make_target(np.geomspace(1, 1 / rng.uniform(1, 30), k), 3 * k, 2 * k, rng=rng)
        eta = float(rng.uniform(0.02, 0.2))
        run = fa.train(
            t,
            k,
            "fa_star",
            steps=2000,
            eta=eta,
            seeds=6,
            init_scale=0.0,
            feedback_scale=float(rng.uniform(0.5, 4)),
            record=["lam_min_ZtZ"],
            record_at=np.arange(2001),
        )
        lam = run["lam_min_ZtZ"]
        overshoot = eta * np.abs(fa.theory.limit_modes(t, run.Z, run.W, run.B, from_zero=True))
        calm = overshoot.max(axis=1) <= 1
        assert calm.any()
        fall = np.max(-np.diff(lam, axis=1), axis=1) / lam[:, -1]
        assert np.all(lam[calm, -1] > 0) and np.all(fall[calm] <= 1e-9)
