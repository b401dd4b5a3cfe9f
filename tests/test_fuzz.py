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
