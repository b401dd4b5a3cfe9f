"""Every public entry point under malformed input: a clear ValueError/TypeError naming the
parameter, or finite results. Never another exception, a NaN or inf, or a warning."""

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fa_core as fa

T = fa.make_target(fa.low_rank_spectrum(2), 6, 5, rng=0)
X = fa.whitened_inputs(12, 6, 1)
NPY = Path(tempfile.mkdtemp()) / "Y.npy"  # a file for load_problem
np.save(NPY, T.Y)
Q6 = np.linalg.qr(np.arange(1.0, 19.0).reshape(6, 3) ** 0.5)[0]

# entry point -> (function, valid keyword arguments); every name of fa.__all__ that can be called with data
VALID = {
    "Target": (fa.Target, dict(U=T.U, s=T.s, V=T.V)),
    "make_target": (fa.make_target, dict(svals=[1.0, 0.5], n=4, m=3, rng=0)),
    "low_rank_spectrum": (fa.low_rank_spectrum, dict(k=3, kappa=2.0)),
    "head_tail_spectrum": (
        fa.head_tail_spectrum,
        dict(head=2, tail=3, tail_level=0.1, head_level=1.0),
    ),
    "bump_spectrum": (fa.bump_spectrum, dict(k=4, r=2, delta=0.1)),
    "power_spectrum": (fa.power_spectrum, dict(k=4, p=1.0)),
    "streams": (fa.streams, dict(seed=3, names=("a", "b"))),
    "starting_point": (
        fa.starting_point,
        dict(n=6, m=5, r=2, seeds=2, init_scale=0.1, feedback_scale=1.0),
    ),
    "with_weight_decay": (fa.with_weight_decay, dict(rule="fa", lam=0.1)),
    "kolen_pollack": (fa.kolen_pollack, dict(lam=0.1)),
    "train": (
        fa.train,
        dict(
            target_or_Y=T,
            r=2,
            rule="fa",
            steps=5,
            eta=0.1,
            seeds=2,
            init_scale=0.01,
            feedback_scale=1.0,
            record=("cos_WB",),
            record_at=[0, 2],
            tol=1e-3,
            engine="auto",
        ),
    ),
    "train_network": (
        fa.train_network,
        dict(
            X=X,
            T=X @ T.Y,
            r=2,
            rule="gd",
            steps=5,
            eta=0.1,
            seeds=1,
            batch_size=4,
            eta_decay=10.0,
            activation="tanh",
        ),
    ),
    "train_deep": (
        fa.train_deep,
        dict(target_or_Y=T, r=2, rule="fa", depth=3, steps=5, eta=0.1, seeds=1),
    ),
    "gaussian_inputs": (fa.gaussian_inputs, dict(N=5, n=3, rng=0, Sigma=np.diag([1.0, 2.0, 3.0]))),
    "whitened_inputs": (fa.whitened_inputs, dict(N=5, n=3, rng=0)),
    "optimal_error": (fa.optimal_error, dict(target_or_Y=T, r=1, Sigma=np.eye(6))),
    "fa_limit_error": (fa.fa_limit_error, dict(target_or_Y=T, B=np.ones((2, 5)), Sigma=np.eye(6))),
    "principal_angles": (fa.principal_angles, dict(A=Q6[:, :2], C=Q6[:, 1:])),
    "subspace_overlap": (fa.subspace_overlap, dict(A=Q6[:, :2], C=Q6[:, 1:])),
    "forecast": (
        fa.forecast,
        dict(
            Y=T,
            r=1,
            draws=20,
            rng=0,
            epsilon=0.1,
            epsilons=(0.1, 0.5),
            oversampling_draws=10,
            max_extra=1,
            rtol=1e-12,
        ),
    ),
    "load_problem": (fa.load_problem, dict(path=str(NPY))),
    "grid": (fa.grid, dict(k=[1, 2], rule=["gd"])),
    "sweep": (fa.sweep, dict(fn=lambda k: k, points=[{"k": 1}])),
}
# Their results are the caller's own values (grid points, fn's results), passed through untouched.
PASSTHROUGH = {"grid", "sweep"}
# A parameter may be reported under the name of what it is made into.
ALIASES = {
    "target_or_Y": ("Y", "target", "r must be in"),
    "svals": ("svals", "len(svals)"),
    "T": ("T",),
    "Y": ("Y", "r must be in"),
    "seeds": ("seed",),
    "record": ("record", "metric"),
    "Sigma": ("Sigma",),
    "fn": ("sweep point",),
    "points": ("sweep point",),
}

BAD = st.one_of(
    st.sampled_from(
        [
            None,
            "x",
            "",
            True,
            -1,
            0,
            -0.5,
            1.5,
            float("nan"),
            float("inf"),
            1j,
            [],
            [[]],
            {},
            ("a",),
            -(10**6),
            2.5e-300,
            object(),
        ]
    ),
    st.builds(
        np.full,
        st.tuples(st.integers(0, 4), st.integers(0, 4)),
        st.sampled_from([np.nan, np.inf, 0.0, 1.0]),
    ),
    st.builds(lambda n: np.ones(n) * 1j, st.integers(1, 3)),
    st.builds(lambda n: np.arange(n, dtype=float) - 1, st.integers(1, 5)),
)


def finite(x) -> bool:
    if isinstance(x, fa.Run):
        return (
            all(np.all(np.isfinite(v)) for v in x.metrics.values()) and finite(x.Z) and finite(x.W)
        )
    if isinstance(x, fa.Target):
        return finite(x.U) and finite(x.s)
    if isinstance(x, fa.Start):
        return all(finite(a) for a in (*x.layers, *x.feedback))
    if isinstance(x, dict):
        return all(finite(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(finite(v) for v in x)
    if isinstance(x, (np.ndarray, float, np.floating)):
        return bool(np.all(np.isfinite(x)))
    return True


def test_every_public_callable_is_covered():
    skipped = {
        "Start",
        "Rule",
        "RULES",
        "Run",
        "DivergenceError",
        "SweepError",
    }  # values and types, not entry points
    assert set(fa.__all__) - skipped == set(VALID)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_arguments_work(name):
    f, kw = VALID[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert finite(f(**kw))


@pytest.mark.parametrize("name", sorted(VALID))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_arguments_are_refused_by_name(name, data):
    f, valid = VALID[name]
    param = data.draw(st.sampled_from(sorted(valid)), label="parameter")
    bad = data.draw(BAD, label="value")
    kw = {**valid, param: bad}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            out = f(**kw)
        except (ValueError, TypeError) as exc:
            names = (param, *ALIASES.get(param, ()))
            if "shape" in str(
                exc
            ):  # a shape that no longer agrees with another parameter: either may be named
                names += tuple(valid)
            assert any(n in str(exc) for n in names), (
                f"{name}({param}={bad!r}): {type(exc).__name__}: {exc}"
            )
            return
        except fa.start.ScaleWarning as w:  # the one deliberate warning: it names what to change
            assert param in str(w)
            return
        except fa.DivergenceError:
            assert param in ("eta", "init_scale", "feedback_scale", "X", "T", "target_or_Y", "B")
            return
    assert name in PASSTHROUGH or finite(out), f"{name}({param}={bad!r}) returned non-finite values"


# -- returned values on degenerate inputs, against plain NumPy ---------------------------------
#
# Each case is built with a known rank, so the reference needs no tolerance of its own: an
# orthonormal basis from the SVD, cut at that rank, and projections formed densely.

SCALES = st.sampled_from([1e-150, 1.0, 1e150])


def spanning_set(rng, n, p, rank, scale, duplicate):
    """n×p of the given rank (duplicated columns if asked), scaled; and its SVD basis."""
    A = (
        rng.standard_normal((n, rank)) @ rng.standard_normal((rank, p))
        if rank
        else np.zeros((n, p))
    )
    if duplicate and rank:
        A[:, -1] = A[:, 0]
    return scale * A, np.linalg.svd(A, full_matrices=False)[0][:, :rank]


def spectrum(rng, k, ties):
    """k singular values in [1e-3, 1], the first ``ties`` of them equal."""
    s = np.sort(rng.uniform(1e-3, 1.0, k))[::-1]
    s[:ties] = s[0]
    return s


# A seed, and a target's rank k with its first ``ties`` singular values tied.
TARGET_DRAW = dict(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 5), ties=st.integers(0, 5))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    ranks=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    scales=st.tuples(SCALES, SCALES),
    duplicate=st.booleans(),
)
def test_principal_angles_and_overlap_values(seed, shape, ranks, scales, duplicate):
    rng = np.random.default_rng(seed)
    n = 7
    (p, q), (ra, rc) = shape, (min(ranks[0], shape[0]), min(ranks[1], shape[1]))
    if duplicate and ra == p and p > 1:
        ra = p - 1  # a duplicated column lowers the rank
    A, Qa = spanning_set(rng, n, p, ra, scales[0], duplicate)
    C, Qc = spanning_set(rng, n, q, rc, scales[1], False)
    if min(ra, rc) == 0:
        with pytest.raises(ValueError, match="is zero"):
            fa.principal_angles(A, C)
        return
    cos = np.linalg.svd(Qa.T @ Qc, compute_uv=False)
    expected = np.sort(np.arccos(np.clip(cos, -1, 1)))
    angles = fa.principal_angles(A, C)
    assert angles.shape == (min(ra, rc),)
    np.testing.assert_allclose(angles, expected, atol=1e-7)
    assert abs(fa.subspace_overlap(A, C) - np.mean(cos**2)) < 1e-12


@settings(max_examples=30, deadline=None)
@given(
    **TARGET_DRAW,
    r=st.integers(1, 6),
    scale=SCALES,
)
def test_optimal_error_values(seed, k, ties, r, scale):
    rng = np.random.default_rng(seed)
    s = scale * spectrum(rng, k, ties)
    t = fa.make_target(s, 7, 6, rng=rng, normalize=False)
    r = min(r, 6)
    expected = np.sum(np.linalg.svd(t.Y, compute_uv=False)[r:] ** 2)
    norm = t.sq_norm
    for target in (t, t.Y):
        assert abs(fa.optimal_error(target, r) - expected) <= 1e-12 * norm
    A = rng.standard_normal((7, 7))
    Sigma = A @ A.T + np.eye(7)
    w, V = np.linalg.eigh(Sigma)
    L = (V * np.sqrt(w)) @ V.T
    weighted = np.sum(np.linalg.svd(L @ t.Y, compute_uv=False)[r:] ** 2)
    assert abs(fa.optimal_error(t, r, Sigma=Sigma) - weighted) <= 1e-10 * np.sum((L @ t.Y) ** 2)


@settings(max_examples=40, deadline=None)
@given(
    **TARGET_DRAW,
    r=st.integers(1, 6),
    inside=st.integers(0, 6),
    scales=st.tuples(SCALES, SCALES),
    duplicate=st.booleans(),
)
def test_fa_limit_values(seed, k, ties, r, inside, scales, duplicate):
    """B has ``inside`` rows in Y's row space (maybe duplicated) and the rest orthogonal to it."""
    rng = np.random.default_rng(seed)
    n, m = 7, 6
    t = fa.make_target(scales[0] * spectrum(rng, k, ties), n, m, rng=rng, normalize=False)
    inside = min(inside, r)
    C = rng.standard_normal((r, k))
    C[inside:] = 0.0
    if duplicate and inside > 1:
        C[inside - 1] = C[0]
    complement = np.linalg.svd(t.V)[0][:, k:]  # orthonormal, orthogonal to Y's rows
    B = scales[1] * (C @ t.V.T + rng.standard_normal((r, m - k)) @ complement.T)
    rank = np.linalg.matrix_rank(C)  # rank(Y Bᵀ) = rank(S Cᵀ) = rank C, by construction
    Q = np.linalg.svd(t.Y @ B.T, full_matrices=False)[0][:, :rank]
    limit = Q @ (Q.T @ t.Y)
    expected = np.sum((t.Y - limit) ** 2)
    norm = t.sq_norm
    np.testing.assert_allclose(fa.theory.fa_limit(t, B), limit, atol=1e-10 * np.sqrt(norm))
    for value in (
        fa.fa_limit_error(t, B),
        fa.fa_limit_error(t.Y, B),
        fa.fa_limit_error(t, B, Sigma=np.eye(n)),
    ):
        assert abs(value - expected) <= 1e-10 * norm
    D = C * scales[1]  # the same feedback in coordinates, exactly of rank ``rank``
    Qs = np.linalg.svd(t.s[:, None] * D.T, full_matrices=False)[0][:, :rank]
    by_coords = np.sum((np.diag(t.s) - Qs @ (Qs.T * t.s)) ** 2)
    assert abs(float(fa.theory.sketch_error(t.s, D)) - by_coords) <= 1e-10 * norm


@settings(max_examples=30, deadline=None)
@given(
    **TARGET_DRAW,
    p=st.integers(1, 5),
    rank=st.integers(0, 5),
    scales=st.tuples(SCALES, SCALES),
    duplicate=st.booleans(),
)
def test_error_by_mode_values(seed, k, ties, p, rank, scales, duplicate):
    rng = np.random.default_rng(seed)
    n = 7
    t = fa.make_target(scales[0] * spectrum(rng, k, ties), n, 6, rng=rng, normalize=False)
    rank = min(rank, p - 1 if duplicate and p > 1 else p)
    Z, Qz = spanning_set(rng, n, p, rank, scales[1], duplicate)
    R = t.Y - Qz @ (Qz.T @ t.Y)
    expected = np.sum((R @ t.V) ** 2, axis=0)
    np.testing.assert_allclose(fa.theory.error_by_mode(t, Z), expected, atol=1e-12 * t.sq_norm)
