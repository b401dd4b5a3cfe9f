"""The two-layer linear network trained on samples, against the factorization."""

import numpy as np
import pytest
from conftest import rel

import fa_core as fa


@pytest.fixture(scope="module")
def teacher():
    t = fa.make_target(fa.low_rank_spectrum(4, 3), 12, 9, rng=1)
    X = fa.whitened_inputs(60, 12, np.random.default_rng(0))
    return t, X, X @ t.Y


def test_whitened_inputs_are_exactly_white():
    X = fa.whitened_inputs(40, 7, np.random.default_rng(3))
    np.testing.assert_allclose(X.T @ X / 40, np.eye(7), atol=1e-13)


@pytest.mark.parametrize("rule", ["gd", "fa", "fa_star"])
def test_whitened_full_batch_training_is_the_factorization(teacher, rule):
    t, X, T = teacher
    kw = dict(
        steps=400,
        eta=0.1,
        seeds=3,
        init_scale=0.1,
        record=["cos_WB", "grad_angle", "EBt_sq", "invariant_drift"],
    )
    net = fa.train_network(X, T, 3, rule, **kw)
    fac = fa.train(t, 3, rule, engine="dense", **kw)
    assert net.engine == "data"
    assert rel(net.error, fac.error) < 1e-12 and np.isclose(net.sq_norm_Y, fac.sq_norm_Y)
    for name in kw["record"]:  # relative to each metric's scale (grad_angle is in degrees)
        assert np.abs(net[name] - fac[name]).max() < 1e-10 * max(1.0, np.abs(fac[name]).max()), name
    assert rel(net.Z, fac.Z) < 1e-12 and rel(net.W, fac.W) < 1e-12


def test_one_network_step_is_the_backprop_formula(teacher):
    t, X, T = teacher
    rng = np.random.default_rng(9)
    Z, W, B = rng.standard_normal((12, 3)), rng.standard_normal((3, 9)), rng.standard_normal((3, 9))
    N = X.shape[0]
    h = X @ Z
    e = T - h @ W
    for rule, dZ in (("gd", X.T @ (e @ W.T) / N), ("fa", X.T @ (e @ B.T) / N)):
        run = fa.train_network(X, T, 3, rule, steps=1, eta=0.05, Z0=Z, W0=W, B=B)
        assert rel(run.Z[0], Z + 0.05 * dZ) < 1e-13
        assert rel(run.W[0], W + 0.05 * h.T @ e / N) < 1e-13


def test_moment_gradients_equal_sample_gradients(teacher):
    t, X, T = teacher
    rng = np.random.default_rng(2)
    Z, W, F = (
        rng.standard_normal((2, 12, 3)),
        rng.standard_normal((2, 3, 9)),
        rng.standard_normal((2, 3, 9)),
    )
    a, b = fa.network.DataY(X, T), fa.network.DataY(X, T, moments=True)
    assert rel(a.E_Ft(Z, W, F), b.E_Ft(Z, W, F)) < 1e-13
    assert rel(a.Gt_E(Z, W, Z), b.Gt_E(Z, W, Z)) < 1e-13
    assert np.array_equal(a.sq_error(Z, W), b.sq_error(Z, W))


@pytest.mark.parametrize("limit", [0, 10**9])  # the seven-product form; Xᵀe/N formed
def test_moment_gradients_equal_sample_gradients_in_either_form(teacher, monkeypatch, limit):
    t, X, T = teacher
    monkeypatch.setattr(fa.network, "RESIDUAL_UP_TO", limit)
    rng = np.random.default_rng(4)
    Z, W = rng.standard_normal((2, 12, 3)), rng.standard_normal((2, 3, 9))
    B, G = rng.standard_normal((2, 3, 9)), rng.standard_normal((2, 12, 3))
    a, b = fa.network.DataY(X, T), fa.network.DataY(X, T, moments=True)
    for F in (W, B):  # GD's and FA's products, whichever comes first
        assert rel(a.E_Ft(Z, W, F), b.E_Ft(Z, W, F)) < 1e-13
        assert rel(a.Gt_E(Z, W, Z), b.Gt_E(Z, W, Z)) < 1e-13
    assert rel(a.Gt_E(Z, W, G), b.Gt_E(Z, W, G)) < 1e-13  # FA*'s midpoint
    Z1 = Z + 0.1  # a new state: neither form may reuse the last one's products
    assert rel(a.Gt_E(Z1, W, Z1), b.Gt_E(Z1, W, Z1)) < 1e-13
    assert rel(a.E_Ft(Z1, W, B), b.E_Ft(Z1, W, B)) < 1e-13


def test_minibatches_are_deterministic_per_seed_and_reach_the_limit(teacher):
    t, X, T = teacher
    kw = dict(steps=4000, eta=0.1, batch_size=12, eta_decay=400.0)
    a = fa.train_network(X, T, 3, "fa", seeds=[0, 1], **kw)
    b = fa.train_network(X, T, 3, "fa", seeds=[1], **kw)
    assert np.array_equal(a.error[1], b.error[0])  # batches come from each seed's own stream
    full = fa.train_network(X, T, 3, "fa", seeds=[0, 1], steps=4000, eta=0.1)
    assert np.max(np.abs(a.error[:, -1] - full.error[:, -1]) / full.error[:, -1]) < 0.05
    other = fa.train_network(X, T, 3, "fa", seeds=[0, 1], **{**kw, "batch_size": 13})
    assert not np.array_equal(other.error, a.error)


def test_anisotropic_population_limits_match_closed_forms():
    """With XᵀX/N = Σ, GD reaches the Σ-metric optimum and FA the Σ-weighted projection."""
    rng = np.random.default_rng(4)
    n, m, r = 10, 8, 2
    t = fa.make_target(fa.power_spectrum(5), n, m, rng=5)
    Ls = fa.theory.sqrt_spd(np.diag(np.geomspace(1, 0.2, n)), n)
    X = fa.whitened_inputs(40, n, rng) @ Ls  # XᵀX/N = Σ exactly
    Sigma = X.T @ X / 40
    T = X @ t.Y
    gd = fa.train_network(X, T, r, "gd", steps=20000, eta=0.2, seeds=2, tol=None)
    f = fa.train_network(X, T, r, "fa", steps=20000, eta=0.2, seeds=2, init_scale=0.0)
    assert rel(gd.error[:, -1], fa.optimal_error(t, r, Sigma=Sigma)) < 1e-8
    assert rel(f.error[:, -1], fa.fa_limit_error(t, f.B, Sigma=Sigma)) < 1e-8
    ang = fa.principal_angles(f.Z, t.Y @ f.B.mT)
    assert ang.max() < 1e-6  # the limit subspace is still col(Y Bᵀ)
    assert fa.fa_limit_error(t, f.B, Sigma=Sigma).min() > fa.optimal_error(t, r, Sigma=Sigma)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(T=np.ones((5, 3))), "same number of samples"),
        (dict(batch_size=0), r"batch_size must be in \[1, 20\]"),
        (dict(batch_size=21), r"batch_size must be in \[1, 20\]"),
        (dict(eta_decay=-1.0), "eta_decay must be > 0"),
        (dict(r=5), r"r must be in \[1, 3\]"),
    ],
)
def test_network_bad_input(kwargs, match):
    X, T = np.ones((20, 4)), np.ones((20, 3))
    args = dict(X=X, T=T, r=2, steps=1, eta=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fa.train_network(args.pop("X"), args.pop("T"), args.pop("r"), **args)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_nonlinear_step_is_backprop_and_fa_formula(activation):
    rng = np.random.default_rng(7)
    N, n, m, r = 50, 6, 4, 3
    X, T = rng.standard_normal((N, n)), rng.standard_normal((N, m))
    Z, W, B = rng.standard_normal((n, r)), rng.standard_normal((r, m)), rng.standard_normal((r, m))
    sigma, dsigma = fa.network.ACTIVATIONS[activation]
    U = X @ Z
    H = sigma(U)
    e = T - H @ W
    for rule, F in (("gd", W), ("fa", B)):
        run = fa.train_network(
            X, T, r, rule, steps=1, eta=0.05, Z0=Z, W0=W, B=B, activation=activation
        )
        assert rel(run.Z[0], Z + 0.05 * X.T @ ((e @ F.T) * dsigma(U)) / N) < 1e-13
        assert rel(run.W[0], W + 0.05 * H.T @ e / N) < 1e-13
        assert np.isclose(run.error[0, 0], np.sum(e**2) / N)


def test_nonlinear_gd_decreases_the_loss():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((200, 8))
    T = np.tanh(X @ rng.standard_normal((8, 5))) @ rng.standard_normal((5, 3)) / 3
    run = fa.train_network(
        X,
        T,
        3,
        "gd",
        steps=2000,
        eta=0.05,
        seeds=3,
        init_scale=0.5,
        activation="tanh",
        record_at=np.arange(0, 2001, 10),
    )
    assert (
        np.all(np.diff(run.error, axis=1) <= 1e-15)
        and run.error[:, -1].max() < 0.5 * run.error[:, 0].min()
    )


def test_activation_is_validated():
    with pytest.raises(ValueError, match="activation must be one of"):
        fa.train_network(
            np.ones((5, 3)), np.ones((5, 2)), 1, steps=1, eta=0.1, activation="sigmoid"
        )


@pytest.mark.parametrize("activation", ["linear", "tanh", "relu"])
def test_forward_pass_reuse_never_returns_stale_results(activation):
    """E Fᵀ and Gᵀ E share one forward pass per (Z, W); interleaved calls must still be exact."""
    rng = np.random.default_rng(11)
    X, T = rng.standard_normal((40, 6)), rng.standard_normal((40, 4))
    Z1, Z2 = rng.standard_normal((2, 1, 6, 3))
    W1, W2 = rng.standard_normal((2, 1, 3, 4))
    F, G = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 6, 3))
    op = fa.network.DataY(X, T, activation=activation)

    def fresh(method, *args):  # a new operator has nothing to reuse
        return getattr(fa.network.DataY(X, T, activation=activation), method)(*args)

    for method, args in [
        ("E_Ft", (Z1, W1, F)),
        ("Gt_E", (Z1, W1, Z1)),
        ("Gt_E", (Z1, W1, G)),
        ("E_Ft", (Z2, W1, F)),
        ("Gt_E", (Z2, W2, Z1)),
        ("E_Ft", (Z1, W2, F)),
        ("Gt_E", (Z1, W2, Z2)),
    ]:
        assert np.array_equal(getattr(op, method)(*args), fresh(method, *args)), (
            method,
            activation,
        )
    assert np.array_equal(op.sq_error(Z1, W1), fresh("sq_error", Z1, W1))


def test_whiten_makes_the_second_moment_the_identity():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((50, 6)) @ rng.standard_normal((6, 6))
    Xw = fa.inputs.whiten(X)
    np.testing.assert_allclose(Xw.T @ Xw / 50, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(
        Xw @ np.linalg.lstsq(Xw, X, rcond=None)[0], X, atol=1e-10
    )  # same column space
    with pytest.raises(ValueError, match="XᵀX/N must be positive definite"):
        fa.inputs.whiten(np.c_[X, np.zeros(50)])


def test_linear_teacher_splits_the_network_loss_exactly():
    """‖T − XZW‖²/N = floor + ‖Σ̂^{1/2}(Y − ZW)‖² for any Z, W; the floor is the least-squares residual."""
    rng = np.random.default_rng(8)
    N, n, m, r = 40, 7, 5, 2
    X = rng.standard_normal((N, n)) * np.geomspace(1, 0.3, n)
    T = rng.standard_normal((N, m)) / 3
    Y, Sigma, floor = fa.inputs.linear_teacher(X, T)
    np.testing.assert_allclose(Y, np.linalg.lstsq(X, T, rcond=None)[0], rtol=1e-9)
    L = fa.linalg.sqrt_spd(Sigma, n)
    for _ in range(3):
        Z, W = rng.standard_normal((n, r)), rng.standard_normal((r, m))
        loss = np.sum((T - X @ Z @ W) ** 2) / N
        assert abs(loss - (floor + np.sum((L @ (Y - Z @ W)) ** 2))) < 1e-10 * loss
    gd = fa.train_network(X, T, r, "gd", steps=3000, eta=0.5, seeds=2)
    assert rel(gd.error[:, -1], floor + fa.optimal_error(Y, r, Sigma=Sigma)) < 1e-8
    with pytest.raises(ValueError, match="same number of rows"):
        fa.inputs.linear_teacher(X, T[:-1])


def test_whitening_leaves_both_limits_of_a_regression_unchanged():
    """An invertible map of the inputs moves neither GD's optimum nor FA's limit (the features are T̂ Bᵀ either way)."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((60, 8)) * np.geomspace(1, 0.05, 8)
    T = rng.standard_normal((60, 6))
    B = fa.starting_point(8, 6, 2, 5).B
    limits = []
    for Xi in (X, fa.inputs.whiten(X)):
        Y, Sigma, floor = fa.inputs.linear_teacher(Xi, T)
        limits.append(
            (
                floor + fa.optimal_error(Y, 2, Sigma=Sigma),
                floor + fa.fa_limit_error(Y, B, Sigma=Sigma),
            )
        )
    assert abs(limits[0][0] - limits[1][0]) < 1e-12 * limits[0][0]
    assert rel(limits[0][1], limits[1][1]) < 1e-12
    assert np.all(
        limits[0][1] > limits[0][0] * (1 + 1e-6)
    )  # and FA's limit is genuinely above the optimum


def test_minibatches_go_through_every_sample_once_per_epoch():
    from fa_core.network import _minibatches

    N, b = 20, 6
    X = np.c_[np.arange(N.__float__()), np.ones(N)]  # column 0 names the sample
    batch = _minibatches(X, X, seeds=[0, 1], b=b, activation="linear")
    epochs = [
        np.concatenate([batch(step).X[:, :, 0] for step in range(e * 3, e * 3 + 3)], axis=1)
        for e in range(2)
    ]
    for seen in epochs:  # ⌊20/6⌋ = 3 batches an epoch: 18 distinct samples per seed
        assert seen.shape == (2, 18) and all(np.unique(row).size == 18 for row in seen)
    assert not np.array_equal(epochs[0], epochs[1])  # a fresh order each epoch
    assert not np.array_equal(epochs[0][0], epochs[0][1])  # each seed its own stream


@pytest.mark.parametrize("batch_size", [None, 7])
def test_one_data_set_per_seed_equals_one_run_per_seed(batch_size):
    t = fa.make_target([1.0, 0.5, 0.2], 8, 6, rng=0)
    Xs = np.stack([fa.gaussian_inputs(30, 8, rng=i) for i in range(3)])
    kw = dict(steps=300, eta=0.1, init_scale=0.1, batch_size=batch_size, record=["cos_WB"])
    batched = fa.train_network(Xs, Xs @ t.Y, 2, "fa", seeds=[4, 5, 6], **kw)
    for i, X in enumerate(Xs):
        alone = fa.train_network(X, X @ t.Y, 2, "fa", seeds=[4 + i], **kw)
        assert (
            rel(batched.error[i], alone.error[0]) < 1e-12 and rel(batched.Z[i], alone.Z[0]) < 1e-12
        )
        assert (
            rel(batched.rel_error[i], alone.rel_error[0]) < 1e-12
        )  # each seed relative to its own ‖T‖²/N
    assert batched.sq_norm_Y.shape == (3,)
    with pytest.raises(ValueError, match="one data set per seed need 2 of them"):
        fa.train_network(Xs, Xs @ t.Y, 2, "fa", seeds=2, steps=5, eta=0.1)
    with pytest.raises(ValueError, match="same number of samples"):
        fa.train_network(Xs, Xs[:2] @ t.Y, 2, "fa", seeds=3, steps=5, eta=0.1)
