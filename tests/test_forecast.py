"""The forecast for a user's matrix or data set: against brute force, training, files and the CLI."""

import doctest
import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, run_pipeline

import fa_core as fa


def projection_error(Y, B, Sigma=None):
    """Brute force: ‖Σ^{1/2}(Y − fit)‖²_F, fit the (Σ-weighted) projection of Y onto col(Y Bᵀ), per draw."""
    L = np.eye(Y.shape[0]) if Sigma is None else np.linalg.cholesky(Sigma).T  # LᵀL = Σ
    out = []
    for b in B:
        Q = np.linalg.qr(Y @ b.T)[0]
        fit = Q @ np.linalg.lstsq(L @ Q, L @ Y, rcond=None)[0]  # min over C of ‖L(Y − Q C)‖_F
        out.append(np.sum((L @ (Y - fit)) ** 2))
    return np.array(out)


def median_agrees(forecast_sample, brute, z=4.0):
    """The forecast's median sits where an independent sample's median can: |F̂(median) − ½| small."""
    F = np.mean(brute <= np.median(forecast_sample))
    se = np.sqrt(0.25 / brute.size + 0.25 / forecast_sample.size)
    return abs(F - 0.5) / se < z, (F - 0.5) / se


@pytest.mark.parametrize(
    "svals, r",
    [(fa.power_spectrum(30, 1.0), 4), (fa.head_tail_spectrum(3, 20, 0.1), 3)],
    ids=["power", "head_tail"],
)
def test_the_median_agrees_with_brute_force_monte_carlo(svals, r):
    target = fa.make_target(svals, 70, 50, rng=1)
    Y = target.Y.copy()
    f = fa.forecast(Y, r, draws=10_000, rng=0)
    B = np.random.default_rng(7).standard_normal((1000, r, Y.shape[1]))
    brute = projection_error(Y, B)
    ok, zscore = median_agrees(f.fa_error, brute)
    assert ok, zscore
    assert f.opt_error == pytest.approx(np.sum(svals[r:] ** 2 / svals[0] ** 2), rel=1e-12)
    # the overlap of col(Y Bᵀ) with the top-r left singular subspace, brute force
    U = np.linalg.svd(Y)[0][:, :r]
    overlap = np.array([np.sum((U.T @ np.linalg.qr(Y @ b.T)[0]) ** 2) / r for b in B])
    assert median_agrees(f.overlap, overlap)[0]


def test_each_draw_is_the_projection_for_the_same_b_in_ys_row_space():
    """Paired with the forecast's own draws D (the rng's stream, made in chunks): B = D Vᵀ, draw by draw."""
    target = fa.make_target(fa.power_spectrum(200, 1.0), 250, 220, rng=2)
    Y, r = target.Y.copy(), 5
    draws = 1 + fa.linalg.MAX_BLOCK // (4 * target.k * r)  # the forecast draws in two chunks
    f = fa.forecast(Y, r, draws=draws, rng=4)
    D = np.random.default_rng(4).standard_normal((draws, r, target.k))
    _, s, Vt = np.linalg.svd(Y, full_matrices=False)
    for part in (slice(0, 200), slice(draws - 200, draws)):
        brute = projection_error(Y, D[part] @ Vt[: target.k])
        assert np.max(np.abs(f.fa_error[part] - brute) / brute) < 1e-9
    assert np.allclose(f.s, s[: target.k], rtol=1e-12)


def test_a_data_set_is_forecast_in_the_sigma_weighted_metric():
    g = np.random.default_rng(3)
    n, m, N = 12, 6, 400
    X = g.standard_normal((N, n)) * np.geomspace(1, 0.05, n)  # anisotropic inputs
    T = X @ fa.make_target(fa.power_spectrum(6), n, m, rng=2).Y + 0.1 * g.standard_normal((N, m))
    f = fa.forecast((X, T), 2, draws=10_000, rng=0)
    Y, Sigma, floor = fa.inputs.linear_teacher(X, T)
    assert f.kind == "data" and f.floor == pytest.approx(floor, rel=1e-12)
    assert f.opt_error == pytest.approx(floor + fa.optimal_error(Y, 2, Sigma=Sigma), rel=1e-10)
    B = g.standard_normal((1000, 2, m))
    brute = floor + projection_error(Y, B, Sigma)
    assert np.allclose(brute, floor + fa.fa_limit_error(Y, B, Sigma=Sigma), rtol=1e-9)
    assert median_agrees(f.fa_error, brute)[0]
    # the unweighted forecast of the same teacher is another distribution: the weighting matters
    assert not median_agrees(fa.forecast(Y, 2, draws=10_000, rng=0).fa_error + floor, brute)[0]


def test_iterated_runs_end_at_their_forecast_plateaus():
    target = fa.make_target(fa.power_spectrum(12, 1.0), 40, 30, rng=0)
    r = 3
    f = fa.forecast(target, r, draws=10_000, rng=0)
    gd = fa.train(target, r, "gd", steps=6000, eta=0.5, seeds=4, init_scale=1e-3)
    run = fa.train(target, r, "fa", steps=6000, eta=0.5, seeds=4, init_scale=0.0)
    plateau = fa.fa_limit_error(target, run.B)
    assert np.max(np.abs(run.error[:, -1] - plateau) / plateau) < 1e-8
    assert np.max(np.abs(gd.error[:, -1] - f.opt_error) / f.opt_error) < 1e-8
    ratio = run.error[:, -1] / f.opt_error
    assert np.all((ratio >= f.fa_over_opt.min()) & (ratio <= f.fa_over_opt.max()))


def test_r_at_least_the_rank_reaches_the_optimum_and_says_so():
    Y = fa.make_target(fa.low_rank_spectrum(5, kappa=10.0), 30, 20, rng=0).Y
    f = fa.forecast(Y, 6, draws=100, rng=0)
    assert f.reaches_optimum and f.rank == 5 and f.fa_over_opt is None
    assert f.opt_error == 0 and np.max(f.fa_error) < 1e-25 and np.allclose(f.overlap, 1)
    assert f.rank_tol == pytest.approx(30 * np.finfo(float).eps, rel=1e-6)  # σ₁ = 1
    assert "FA reaches the optimum" in f.summary() and "rank(Y) = 5" in f.summary()
    assert f.oversampling["p"] == [] and f.as_dict()["fa_over_opt"] is None
    # a looser tolerance finds a lower rank
    assert fa.forecast(Y, 2, draws=100, rtol=0.5).rank == 2


def test_the_oversampling_curve_stops_at_the_first_p_within_one_plus_epsilon():
    Y = fa.make_target(fa.power_spectrum(40, 1.0), 80, 60, rng=0).Y
    f = fa.forecast(Y, 4, draws=2000, rng=0, epsilon=0.1, oversampling_draws=1000)
    c = f.oversampling
    assert c["p"][: len(c["p"]) - 1] == [0, 1, 2, 4, 8][: len(c["p"]) - 1]
    assert c["median"][-1] <= 1.1 < min(c["median"][:-1]) and c["p_within"] == c["p"][-1]
    for p, mean, bound in zip(c["p"], c["mean"], c["bound"]):
        assert (bound is None) == (p < 2)
        if bound is not None:  # Halko, Martinsson & Tropp: a bound on the mean squared error
            assert mean <= bound == pytest.approx(1 + 4 / (p - 1))
    assert f"with {c['p_within']} extra units" in f.summary()
    capped = fa.forecast(Y, 4, draws=200, rng=0, max_extra=2)
    assert capped.oversampling["p"] == [0, 1, 2] and capped.oversampling["p_within"] is None


def test_the_summary_and_the_json_carry_computed_numbers():
    Y = fa.make_target(fa.power_spectrum(20), 40, 30, rng=0).Y
    f = fa.forecast(Y, 3, draws=1000, rng=0)
    d = json.loads(json.dumps(f.as_dict()))
    assert {"median", "q10", "q90"} <= set(d["fa_over_opt"]) and d["opt_error"] == f.opt_error
    assert f"{d['fa_over_opt']['median']:.3g}×" in f.summary()
    assert f"{d['fa_over_opt']['q10']:.3g}× and {d['fa_over_opt']['q90']:.3g}×" in f.summary()
    assert d["p_above"]["0.1"] == pytest.approx(np.mean(f.fa_over_opt > 1.1))
    assert "FA/OPT median" in f.table() and "extra units p" in f.table()


def test_the_same_rng_gives_the_same_forecast():
    Y = fa.make_target(fa.power_spectrum(20), 40, 30, rng=0).Y
    a, b = (fa.forecast(Y, 3, draws=500, rng=np.random.default_rng(5)) for _ in range(2))
    assert np.array_equal(a.fa_error, b.fa_error) and np.array_equal(a.overlap, b.overlap)
    assert a.summary() == b.summary()
    assert not np.array_equal(a.fa_error, fa.forecast(Y, 3, draws=500, rng=6).fa_error)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(r=0), "r must be in"),
        (dict(r=31), r"r must be in \[1, 30\]"),
        (dict(r=2.5), "r must be an integer"),
        (dict(draws=5), r"draws must be in \[10"),
        (dict(epsilon=0.0), "epsilon must be > 0"),
        (dict(epsilons=[]), "epsilons must be a non-empty"),
        (dict(epsilons=[0.1, -1.0]), "epsilons must be > 0"),
        (dict(oversampling_draws=3), "oversampling_draws must be in"),
        (dict(max_extra=0), "max_extra must be in"),
        (dict(rtol=-1.0), "rtol must be > 0"),
        (dict(rng="a"), "rng must be"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, message):
    Y = fa.make_target(fa.power_spectrum(20), 40, 30, rng=0).Y
    args = dict(r=3, draws=20) | kwargs
    with pytest.raises((TypeError, ValueError), match=message):
        fa.forecast(Y, **args)


@pytest.mark.parametrize(
    "Y, message",
    [
        (np.ones(5), "Y must be a 2-D array"),
        (np.zeros((4, 3)), "Y must be nonzero"),
        (np.full((4, 3), np.nan), "Y must be finite"),
        (np.ones((4, 3)) * 1j, "Y must be real"),
        (np.ones((0, 3)), "Y must not be empty"),
        ((np.ones((5, 2)),), "tuple \\(X, T\\)"),
        ((np.ones((5, 2)), np.ones((4, 2))), "same number of rows"),
    ],
)
def test_bad_problems_are_refused_by_name(Y, message):
    with pytest.raises((TypeError, ValueError), match=message):
        fa.forecast(Y, 1, draws=20)


def test_the_docstring_examples_run():
    module = sys.modules["fa_core.forecasting"]
    assert doctest.testmod(module, raise_on_error=False).failed == 0


# -- files, the CLI and the notebook ---------------------------------------------------------


def files(folder):
    """A matrix as .npy and .csv, and a data set as .npz, each small."""
    Y = fa.make_target(fa.power_spectrum(15), 40, 25, rng=0).Y
    g = np.random.default_rng(0)
    X = g.standard_normal((200, 8)) * np.geomspace(1, 0.2, 8)
    T = X @ g.standard_normal((8, 5)) + 0.05 * g.standard_normal((200, 5))
    np.save(folder / "y.npy", Y)
    np.savetxt(folder / "y.csv", Y, delimiter=",")
    np.savez(folder / "d.npz", X=X, T=T)
    return {"y.npy": Y, "y.csv": Y, "d.npz": (X, T)}


BAD_FILES = {
    "missing.npy": (None, "no such file"),
    "y.txt": (lambda p: p.write_text("1,2\n3,4\n"), "must end in .npy or .csv"),
    "vector.npy": (lambda p: np.save(p, np.ones(4)), "Y must be a 2-D array"),
    "nan.csv": (lambda p: p.write_text("1,2\nnan,4\n"), "Y must be finite"),
    "complex.npy": (lambda p: np.save(p, np.ones((3, 2)) * 1j), "Y must be real"),
    "complex.csv": (lambda p: p.write_text("1+2j,2\n3,4\n"), "cannot read it as numbers"),
    "empty.csv": (lambda p: p.write_text(""), "Y must not be empty"),
    "empty.npy": (lambda p: np.save(p, np.ones((0, 3))), "Y must not be empty"),
    "words.csv": (lambda p: p.write_text("a,b\n1,2\n"), "cannot read it as numbers"),
    "no_t.npz": (lambda p: np.savez(p, X=np.ones((4, 2))), "missing T"),
    "broken.npy": (lambda p: p.write_bytes(b"not an npy file"), "cannot read it"),
}


def make_bad(folder, name):
    write, message = BAD_FILES[name]
    if write:
        write(folder / name)
    return folder / name, message


def test_files_load_as_a_matrix_or_a_data_set(tmp_path):
    for name, want in files(tmp_path).items():
        got = fa.load_problem(tmp_path / name)
        if isinstance(want, tuple):
            assert all(np.array_equal(a, b) for a, b in zip(got, want))
        else:
            assert np.allclose(got, want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_gets_one_clear_line(tmp_path, name):
    path, message = make_bad(tmp_path, name)
    with pytest.raises(ValueError, match=message) as err:
        fa.load_problem(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fa_core", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_prints_the_summary_and_a_table(tmp_path):
    for name, problem in files(tmp_path).items():
        out = cli(tmp_path / name, "--r", 2, "--draws", 2000)
        assert out.returncode == 0 and out.stderr == "", out.stderr
        assert fa.forecast(problem, 2, draws=2000, rng=0).summary() in out.stdout
        assert "FA/OPT median" in out.stdout and "extra units p" in out.stdout


@pytest.mark.parametrize("name", ["missing.npy", "nan.csv", "no_t.npz", "complex.npy"])
def test_the_cli_refuses_a_bad_file_in_one_line_with_exit_2(tmp_path, name):
    path, message = make_bad(tmp_path, name)
    out = cli(path, "--r", 2)
    assert out.returncode == 2 and out.stdout == ""
    assert (
        out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and message in out.stderr
    )


def test_the_cli_refuses_r_above_the_shape(tmp_path):
    files(tmp_path)
    out = cli(tmp_path / "y.npy", "--r", 26)
    assert out.returncode == 2 and "r must be in [1, 25]" in out.stderr


def readme_section():
    """The README's "Will FA work on my data?": its Python block and its shell lines."""
    text = (
        (ROOT / "README.md").read_text().split("## Will FA work on my data?")[1].split("\n## ")[0]
    )
    python = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    shell = re.search(r"```bash\n(.*?)```", text, re.S).group(1).splitlines()
    return python, shell


def test_the_readmes_three_entry_points_run(tmp_path, monkeypatch):
    python, (cli_line, make_line) = readme_section()
    problem = files(tmp_path)["y.csv"]
    np.save(tmp_path / "my.npy", problem)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(python, "README.md", "exec"), scope)
    assert scope["f"].summary() == fa.forecast(problem, 5).summary()
    # the command line, as written (the venv's python is this one)
    command = shlex.split(cli_line.split("#")[0])
    assert command[0] == ".venv/bin/python"
    out = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0 and scope["f"].summary() in out.stdout, out.stderr
    # make run passes PARAMS to the pipeline as --params
    make = shlex.split(make_line.split("#")[0])
    assert make[:3] == ["make", "run", "NB=your_data"] and make[3].startswith("PARAMS=")
    params = make[3].removeprefix("PARAMS=").replace("my.npy", str(tmp_path / "my.npy"))
    check_notebook_run(tmp_path, "my.npy", problem, 5, "--params", params)


@pytest.mark.parametrize("name", ["y.csv", "d.npz"])
def test_the_notebook_runs_on_a_users_file(tmp_path, name):
    problems = files(tmp_path)
    check_notebook_run(
        tmp_path, name, problems[name], 2, "-p", f"path={str(tmp_path / name)!r}", "-p", "r=2"
    )


def check_notebook_run(tmp_path, name, problem, r, *params):
    """The notebook at quick size on a file: all checks hold, and its JSON holds the forecast."""
    build = tmp_path / "build"
    out = run_pipeline("notebooks/your_data.py", "--build-dir", build, "--quick", *params)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((build / "results" / "your_data.json").read_text())
    assert result["all_hold"] and result["params"]["path"] == str(tmp_path / name)
    got = result["measured"]["forecast"]
    want = fa.forecast(problem, r, draws=result["params"]["draws"], rng=0)
    assert got["opt_error"] == pytest.approx(want.opt_error, rel=1e-12)
    assert got["fa_over_opt"]["median"] == pytest.approx(np.median(want.fa_over_opt), rel=1e-12)
    assert got["kind"] == ("data" if name.endswith(".npz") else "matrix")
    kinds = {c["kind"] for c in result["claims"]}
    assert kinds == {"law", "consistency"}


def test_the_notebook_names_a_bad_file_in_one_line(tmp_path):
    path, message = make_bad(tmp_path, "nan.csv")
    out = run_pipeline(
        "notebooks/your_data.py",
        "--build-dir",
        tmp_path / "b",
        "--quick",
        "-p",
        f"path={str(path)!r}",
    )
    assert out.returncode == 1
    line = f"ValueError: path {str(path)!r}: Y must be finite; it contains NaN or inf"
    assert line in out.stderr, out.stderr[-2000:]


def test_the_notebook_at_r_above_the_rank_states_that_fa_reaches_the_optimum(tmp_path):
    Y = fa.make_target(fa.low_rank_spectrum(5, kappa=10.0), 30, 20, rng=0).Y
    np.save(tmp_path / "low.npy", Y)
    build = tmp_path / "build"
    out = run_pipeline(
        "notebooks/your_data.py", "--build-dir", build, "--quick", "-p",
        f"path={str(tmp_path / 'low.npy')!r}", "-p", "r=6",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((build / "results" / "your_data.json").read_text())
    got = result["measured"]["forecast"]
    assert result["all_hold"] and got["reaches_optimum"] and got["rank"] == 5
    assert got["fa_over_opt"] is None and "FA reaches the optimum" in got["summary"]
