"""Regression tests for bad input and broken builds: each reproduces the real path of a defect."""

import concurrent.futures
import os
import shutil
import subprocess

import numpy as np
import pytest
from conftest import ROOT

import fa_core as fa
from companion import pipeline, report

# -- the build never shows a false ✓ -----------------------------------------------------


@pytest.fixture
def repo_copy(tmp_path, quick_build):
    """The repository's sources in a fresh folder with a finished quick build, sharing .venv."""
    if not (ROOT / ".venv" / ".installed").is_file():
        pytest.skip("needs the .venv that make builds")
    dst = tmp_path / "repo"
    for item in ("fa_core", "companion", "notebooks", "requirements"):
        shutil.copytree(ROOT / item, dst / item, ignore=shutil.ignore_patterns("__pycache__"))
    for item in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / item, dst / item)
    (dst / ".venv").symlink_to(ROOT / ".venv")
    for spec in (dst / "pyproject.toml", *(dst / "requirements").glob("*")):
        os.utime(
            spec, (0, 0)
        )  # older than the shared venv's stamp: no make level reinstalls into it
    build, failures = quick_build
    assert not failures
    shutil.copytree(build, dst / "build" / "quick")  # copied last: newer than every source
    return dst


def make(repo, *targets):
    env = {**os.environ, "MAKEFLAGS": ""}
    return subprocess.run(
        ["make", "--no-print-directory", "QUICK=1", *targets],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_a_notebook_whose_rebuild_fails_is_a_failure_in_the_report(repo_copy):
    ok = make(repo_copy, "report")
    assert ok.returncode == 0 and "✓ all checks hold" in ok.stdout, ok.stdout + ok.stderr
    source = repo_copy / "notebooks" / "orthogonal.py"
    text = source.read_text()  # broken in its first section, before any figure or results JSON
    source.write_text(
        text.replace(
            "# %% [markdown]\n# ## 1.",
            '# %%\nraise RuntimeError("broken on purpose")\n\n# %% [markdown]\n# ## 1.',
            1,
        )
    )
    broken = make(
        repo_copy
    )  # the real `make QUICK=1`: figures (one rebuild, which fails), then the report
    assert broken.returncode != 0
    assert "FAILED orthogonal" in broken.stderr and "✓ all checks hold" not in broken.stdout, (
        broken.stdout
    )
    page = (repo_copy / "build" / "quick" / "report" / "index.html").read_text()
    assert "✗" in page and "Every check holds" not in page and "did not finish" in page
    quick = repo_copy / "build" / "quick"
    stale = [
        quick / "notebooks" / "orthogonal.ipynb",
        quick / "results" / "orthogonal.json",
        *(quick / "figures" / "orthogonal").glob("*"),
    ]
    assert not [p for p in stale if p.exists()]  # the previous run's outputs are gone


def test_a_missing_notebook_makes_the_report_fail(repo_copy):
    (repo_copy / "build" / "quick" / "notebooks" / "orthogonal.ipynb").unlink()
    out = make(repo_copy, "report")
    assert out.returncode != 0 and "orthogonal ✗ did not finish" in out.stdout, out.stdout


def test_the_report_is_replaced_atomically(quick_build, tmp_path, monkeypatch):
    build, _ = quick_build
    index, _ = report.build(build, tmp_path / "report")
    before = index.read_text()

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(report, "_write", broken)
    with pytest.raises(OSError):
        report.build(build, tmp_path / "report")
    assert index.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["report"]
    assert report.main(["--build", str(build), "--out", str(tmp_path / "report")]) == 2


def test_parameter_errors_leave_no_temporary_files(tmp_path):
    out = tmp_path / "notebooks" / "separation.ipynb"
    with pytest.raises(pipeline.ParameterError):
        pipeline.execute(ROOT / "notebooks" / "separation.py", out, {"etta": 1}, tmp_path)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# -- record_at never shortens training or hides divergence ------------------------------


@pytest.fixture(scope="module")
def target():
    return fa.make_target(fa.low_rank_spectrum(3), 12, 9, rng=1)


@pytest.mark.parametrize("which", ["train", "train_network", "train_deep"])
def test_record_at_never_shortens_training(target, which):
    X = fa.whitened_inputs(40, 12, 2)
    fit = {
        "train": lambda **kw: fa.train(target, 3, **kw),
        "train_network": lambda **kw: fa.train_network(X, X @ target.Y, 3, **kw),
        "train_deep": lambda **kw: fa.train_deep(target, 3, **kw),
    }[which]
    short = fit(steps=500, eta=0.1, record_at=[0, 5])
    full = fit(steps=500, eta=0.1, record_at=[0, 500])
    assert short.steps.tolist() == [0, 5, 500]
    assert np.array_equal(short.Z, full.Z) and np.array_equal(short.error[:, -1], full.error[:, -1])
    with pytest.raises(fa.DivergenceError):
        fit(steps=500, eta=50.0, record_at=[0])


def test_record_at_must_be_integer_steps(target):
    for bad in ([0.5], "05", [[0, 1]], [float("nan")]):
        with pytest.raises((ValueError, TypeError), match="record_at"):
            fa.train(target, 3, steps=10, eta=0.1, record_at=bad)
    assert fa.train(target, 3, steps=10, eta=0.1, record_at=[0.0, 4.0]).steps.tolist() == [0, 4, 10]


# -- FA's limit at the actual rank of the sketch ----------------------------------------


def test_fa_limit_error_for_rank_deficient_feedback():
    t = fa.make_target([1.0, 1.0, 1.0], 8, 6, rng=0, normalize=False)  # rank 3, ‖Y‖²_F = 3
    for B, limit in ((np.zeros((2, 6)), 3.0), (np.ones((2, 6)), 2.0)):
        run = fa.train(t, 2, "fa", B=B, steps=3000, eta=0.1, init_scale=0.0)
        assert abs(run.error[0, -1] - limit) < 1e-12  # what FA from zero actually reaches
        assert abs(fa.fa_limit_error(t, B) - limit) < 1e-12
        assert abs(fa.fa_limit_error(t, B, Sigma=np.eye(8)) - limit) < 1e-12
        assert np.allclose(fa.theory.fa_limit(t, B), run.Z[0] @ run.W[0], atol=1e-12)
    batch = np.stack(
        [np.zeros((2, 6)), np.ones((2, 6)), np.random.default_rng(0).standard_normal((2, 6))]
    )
    assert np.allclose(fa.fa_limit_error(t, batch)[:2], [3.0, 2.0])


def test_range_basis_is_qr_bit_for_bit_at_full_rank():
    A = np.random.default_rng(1).standard_normal((5, 7, 3))
    assert np.array_equal(fa.linalg.range_basis(A), np.linalg.qr(A)[0])
    A[1, :, 2] = A[1, :, 0]  # rank 2 in one item
    Q = fa.linalg.range_basis(A)
    P = Q[1] @ Q[1].T
    assert np.allclose(P @ A[1], A[1]) and abs(np.trace(P) - 2) < 1e-12


# -- never inf or NaN ------------------------------------------------------------------------


def test_no_inf_or_nan_comes_back():
    X = fa.whitened_inputs(20, 4, 0)
    with pytest.raises(ValueError, match="T must not be all zero"):
        fa.train_network(X, np.zeros((20, 3)), 2, steps=5, eta=0.1)
    with pytest.raises(ValueError, match="D must be finite"):
        fa.theory.sketch_error(np.ones(3), np.full((2, 3), np.nan))
    with pytest.raises(TypeError, match="must be real"):
        fa.fa_limit_error(fa.make_target([1.0], 4, 3, rng=0), np.ones((1, 3)) * 1j)


def test_a_target_built_by_hand_is_validated():
    U, V = np.linalg.qr(np.ones((5, 2)) + np.eye(5, 2))[0], np.eye(4, 2)
    fa.Target(U, np.array([2.0, 1.0]), V)  # valid
    for args, match in (
        ((U, [1.0, 2.0], V), "descending"),
        ((U, [1.0, -1.0], V), "positive"),
        ((2 * U, [2.0, 1.0], V), "U must have orthonormal"),
        ((U, [2.0, 1.0, 0.5], V), "must agree"),
        ((U, [np.nan, 1.0], V), "s must be finite"),
    ):
        with pytest.raises(ValueError, match=match):
            fa.Target(*args)


# -- rng follows numpy's default_rng convention ----------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: fa.gaussian_inputs(5, 3, rng),
        lambda rng: fa.whitened_inputs(5, 3, rng),
        lambda rng: fa.make_target([1.0, 0.5], 4, 3, rng).U,
        lambda rng: fa.linalg.haar_orthonormal(rng, 4, 2),
    ],
)
def test_rng_is_an_int_a_seedsequence_or_a_generator(draw):
    a = draw(7)
    assert np.array_equal(a, draw(np.random.SeedSequence(7))) and np.array_equal(
        a, draw(np.random.default_rng(7))
    )
    for bad in (-1, 1.5, "abc", None, True):
        with pytest.raises(TypeError, match="rng must be"):
            draw(bad)


# -- a start larger than the target says so ------------------------------------------------------


def test_a_start_larger_than_the_target_warns():
    tiny = fa.make_target([1e-6, 5e-7], 20, 15, rng=0, normalize=False)
    with pytest.warns(
        fa.start.ScaleWarning, match=r"init_scale=0.01 is large .* Use init_scale <= 0.0001"
    ):
        fa.train(tiny, 2, "fa", steps=10, eta=0.1)
    with pytest.warns(fa.start.ScaleWarning):
        fa.train_deep(tiny, 2, "fa", steps=10, eta=0.1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fa.train(tiny, 2, "fa", steps=10, eta=0.1, init_scale=1e-4)  # the suggested scale: silent
        fa.train(tiny, 2, "fa", steps=10, eta=0.1, init_scale=0.0)


# -- silently wrong values of the library: each now right or refused -----------------------


def test_a_target_from_a_matrix_keeps_a_copy():
    Y = np.random.default_rng(0).standard_normal((5, 4))
    t = fa.Target.from_matrix(Y)
    Y *= 2  # the caller's later edit does not reach the target
    assert np.allclose(t.Y, (t.U * t.s) @ t.V.T, atol=1e-14)
    for name in ("Y", "U", "s", "V"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(t, name)[0] = 1.0


def test_a_non_symmetric_covariance_is_refused():
    S = np.array([[2.0, 1.0], [0.0, 2.0]])
    for call in (
        lambda: fa.optimal_error(np.eye(2), 1, Sigma=S),
        lambda: fa.linalg.sqrt_spd(S, 2),
        lambda: fa.gaussian_inputs(3, 2, 0, Sigma=S),
        lambda: fa.fa_limit_error(np.eye(2), np.ones((1, 2)), Sigma=S),
    ):
        with pytest.raises(ValueError, match="Sigma must be symmetric"):
            call()
    A = np.random.default_rng(1).standard_normal((4, 4))
    rounding = A @ A.T + np.eye(4)
    rounding[0, 1] *= 1 + 1e-14  # asymmetric by rounding only: accepted
    L = fa.linalg.sqrt_spd(rounding, 4)
    assert np.allclose(L @ L, (rounding + rounding.T) / 2, atol=1e-12)


def test_rank_correlation_uses_average_ranks_and_refuses_the_undefined():
    assert fa.metrics.rank_correlation([1, 1, 2, 2], [1, 2, 3, 4]) == pytest.approx(
        2 / np.sqrt(5), abs=1e-15
    )  # Spearman with average ranks: 0.894
    a = np.random.default_rng(2).integers(0, 4, 30).astype(float)  # many ties
    b = a + np.random.default_rng(3).standard_normal(30)
    ra = np.array([np.mean(np.flatnonzero(np.sort(a) == x)) + 1 for x in a])  # by definition
    rb = np.argsort(np.argsort(b)) + 1.0
    assert fa.metrics.rank_correlation(a, b) == pytest.approx(np.corrcoef(ra, rb)[0, 1], abs=1e-14)
    for undefined in (  # no spread: NaN, which fails any check built on it
        ([1.0, 1.0, 1.0, 1.0], [1, 2, 3, 4]),
        ([1, 2, 3, 4], [5.0, 5.0, 5.0, 5.0]),
    ):
        assert np.isnan(fa.metrics.rank_correlation(*undefined))
    for bad, match in (
        (([1, 2, 3], [1, 2, 3, 4]), "same length"),
        (([1.0], [2.0]), "at least 2"),
        (([1.0, np.nan, 3.0, 4.0], [1, 2, 3, 4]), "a must not contain NaN"),
    ):
        with pytest.raises(ValueError, match=match):
            fa.metrics.rank_correlation(*bad)


def exact_sketch_error(s, D):
    """‖(I − P) S‖²_F in rational arithmetic, P the projector onto col(S Dᵀ) (full rank r):
    ‖S‖² − tr((MᵀM)⁻¹ Mᵀ S² M) with M = S Dᵀ, every float input taken exactly."""
    from fractions import Fraction

    r = D.shape[0]
    S = [Fraction(x) for x in s]
    M = [[si * Fraction(d) for d in col] for si, col in zip(S, D.T)]
    aug = [
        [sum(row[a] * row[b] for row in M) for b in range(r)]
        + [sum(row[a] * si**2 * row[b] for row, si in zip(M, S)) for b in range(r)]
        for a in range(r)
    ]
    for c in range(r):  # Gauss-Jordan on [MᵀM | Mᵀ S² M]
        aug[c] = [x / aug[c][c] for x in aug[c]]
        for i in range(r):
            if i != c:
                aug[i] = [x - aug[i][c] * y for x, y in zip(aug[i], aug[c])]
    return sum(si**2 for si in S) - sum(aug[a][r + a] for a in range(r))


@pytest.mark.parametrize(
    "s", [[1, 0.5, 0.25, 0.1, 0.05], [1, 1e-3, 1e-6, 1e-9, 1e-12], [1, 1e-6, 1e-12, 1e-13, 1e-14]]
)
@pytest.mark.parametrize("head_cond, bound", [(None, 1e-13), (100.0, 1e-11), (1000.0, 1e-11)])
def test_sketch_error_keeps_its_precision_on_wide_spectra(s, head_cond, bound):
    """It was 3e-7 off for s = [1, 1e-6, 1e-12, 1e-13, 1e-14]; the exact value is rational."""
    from fractions import Fraction

    s = np.array(s, dtype=float)
    worst = 0.0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        D = rng.standard_normal((2, 5))
        if head_cond is not None:  # a head block D_J with this condition number
            U, _, Vt = np.linalg.svd(D[:, :2])
            D[:, :2] = U @ np.diag([1.0, 1.0 / head_cond]) @ Vt
        exact = exact_sketch_error(s, D)
        got = float(fa.theory.sketch_error(s, D))
        worst = max(worst, abs(float((Fraction(got) - exact) / exact)))
    assert worst < bound


def test_a_failing_submit_is_a_sweep_error():
    class Closed:
        def __init__(self):
            self.submitted = []

        def submit(self, fn, **kw):
            if kw["k"] == 2:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future = concurrent.futures.Future()
            self.submitted.append(future)
            return future

    ex = Closed()
    with pytest.raises(fa.SweepError, match=r"sweep point 1 \{'k': 2\} failed: RuntimeError") as e:
        fa.sweep(lambda k: k, [{"k": 1}, {"k": 2}], executor=ex)
    assert isinstance(e.value.__cause__, RuntimeError) and e.value.point == {"k": 2}
    assert all(f.cancelled() for f in ex.submitted)  # the points already submitted are cancelled


def test_head_tail_ratio_holds_for_a_singular_head_and_refuses_deficient_feedback():
    r, q, s = 2, 3, 0.3
    D = np.random.default_rng(4).standard_normal((r, r + q))
    D[:, 1] = 0.0  # a singular head block G₁; D itself has rank r
    spectrum = np.r_[np.ones(r), np.full(q, s)]
    direct = float(fa.theory.sketch_error(spectrum, D)) / (q * s**2)
    assert float(fa.theory.head_tail_ratio(D, s)) == pytest.approx(direct, rel=1e-12)
    with pytest.raises(ValueError, match="D must have full row rank"):
        fa.theory.head_tail_ratio(np.c_[np.zeros((2, 2)), np.ones((2, 3))], 0.1)
    with pytest.raises(ValueError, match="tail_level must be in"):
        fa.theory.head_tail_ratio(D, 1.5)


def test_decay_rate_needs_two_steps():
    with pytest.raises(ValueError, match="at least 2 recorded steps"):
        fa.metrics.decay_rate(np.array([0]), np.array([[1e-3]]))
    steps = np.array([0, 10])  # two points: the rate through them
    rate = fa.metrics.decay_rate(steps, np.exp(-0.5 * steps)[None])
    assert rate == pytest.approx([0.5], rel=1e-12)


def test_bump_overlap_and_alignment_bound_refuse_what_they_cannot_mean():
    with pytest.raises(ValueError, match="k .* must be >= r"):
        fa.theory.bump_overlap(3, 5, 0.1)
    with pytest.raises(ValueError, match="delta must be >= 0"):
        fa.theory.bump_overlap(10, 2, -0.5)
    assert fa.theory.bump_overlap(np.array([4, 8]), 2, 0.0) == pytest.approx([0.5, 0.25])
    for eta in (-1.0, 0.0, np.nan):
        with pytest.raises(ValueError, match="eta must be"):
            fa.theory.alignment_bound(1.0, np.ones((1, 3)), eta)


def test_a_target_checks_the_whole_gram_matrix():
    """UᵀU = I + E with E x = 0 for the probe vector x = cos(1..k) used before: off by 0.24."""
    k = 4
    x = np.cos(np.arange(k) + 1.0)
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    A = np.zeros((k, len(pairs)))
    for j, (a, b) in enumerate(pairs):
        A[a, j], A[b, j] = x[b], x[a]
    E = np.zeros((k, k))
    for j, (a, b) in enumerate(pairs):
        E[a, b] = E[b, a] = np.linalg.svd(A)[2][-1, j]
    E *= 0.24 / np.abs(E).max()
    w, V = np.linalg.eigh(np.eye(k) + E)
    U = np.linalg.qr(np.random.default_rng(0).standard_normal((7, k)))[0] @ (V * np.sqrt(w)) @ V.T
    assert np.linalg.norm(U.T @ (U @ x) - x) < 1e-12  # the old probe saw nothing
    with pytest.raises(
        ValueError, match="U must have orthonormal columns: UᵀU differs from I by 0.24"
    ):
        fa.Target(U, np.array([1.0, 0.5, 0.25, 0.1]), np.eye(5, k))


def test_a_target_whose_norm_overflows_is_refused():
    with pytest.raises(ValueError, match="s is too large"):
        fa.make_target([1e200], 5, 5, 0, normalize=False)
    big = fa.make_target([1e150, 1e149], 5, 5, 0, normalize=False)
    assert big.sq_norm == pytest.approx(1.01e300, rel=1e-14)


def test_grad_angle_is_nan_at_an_fa_fixed_point_on_both_engines():
    """At FA's fixed point E Bᵀ is rounding noise: its angle to E Wᵀ is undefined, not a number."""
    t = fa.make_target(fa.low_rank_spectrum(4), n=20, m=15, rng=0)
    finals = []
    for engine in ("reduced", "dense"):
        run = fa.train(
            t,
            r=2,
            rule="fa",
            steps=6000,
            eta=0.1,
            seeds=2,
            init_scale=0.0,
            record=["grad_angle"],
            engine=engine,
        )
        assert np.isfinite(run["grad_angle"][:, 5]).all()
        finals.append(run["grad_angle"][:, -1])
    assert np.isnan(finals).all(), finals


def test_correlated_feedback_refuses_nan():
    for bad in ("W0", "G"):
        kw = {"W0": np.ones((2, 3)), "G": np.ones((2, 3)), "rho": 0.5}
        kw[bad] = np.full((2, 3), np.nan)
        with pytest.raises(ValueError, match=f"{bad} must be finite"):
            fa.rules_beyond.correlated_feedback(**kw)
