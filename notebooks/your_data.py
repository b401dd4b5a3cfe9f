# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Beyond the paper: will random feedback work on *your* data?
#
# *This notebook goes beyond the paper's claims: it applies them to a matrix or a data set
# you bring.* Run it on your file with
# `make run NB=your_data PARAMS='path="my.npy" r=5'`.
#
# **The question.** With r hidden units, how far above the optimum does feedback
# alignment (FA) stop on this problem, and how many extra units would bring it close?
#
# **The forecast** (`fa.forecast`) answers from the closed forms, in seconds, without
# training:
#
# - GD stops at the Eckart–Young optimum OPT_r = Σ_{i>r} σ_i²;
# - FA from zero (or small) init keeps its representation in the sketch col(Y Bᵀ) and
#   stops at the projection onto it, ‖(I − P) Y‖²_F (claim 3; derivations R4, R5). That
#   depends on the feedback B, so the forecast is a distribution over draws of B, and it
#   depends on Y only through its singular values;
# - for a data set (X, T), the linear network x → Wᵀ Zᵀ x solves the Σ̂-weighted
#   factorization of its least-squares teacher (`fa.inputs.linear_teacher`): the same
#   forecast for Σ̂^{1/2} Y, plus a floor no linear network gets below;
# - for r ≥ rank(Y), FA reaches the optimum for every B (claim 1).
#
# **Scope.** The forecast is exact for FA from zero or small init, for a linear model:
# the matrix factorization Y ≈ ZW, or a two-layer linear network. It says nothing about
# nonlinear networks. How large FA/OPT is on your file is a measurement.
#
# **How this notebook tests it.** It trains GD and FA on a few seeds and checks that
# each FA run ends at its own predicted plateau, that GD ends at OPT_r, and that the runs'
# FA/OPT fall inside the forecast distribution. A brute-force Monte Carlo (the projection
# onto col(Y Bᵀ) for explicit draws of B) must agree with the forecast's median. A data
# set is trained on whitened inputs, which changes neither limit, only the speed.
#
# **Your file.** `.npy` or `.csv`: a matrix Y (rows × columns, comma-separated numbers).
# `.npz`: a data set with arrays `X` (N × n inputs) and `T` (N × m targets). The default,
# `path = ""`, is the shipped example: the 1797 handwritten digits of
# `companion/data/` (UCI, CC BY 4.0) as a 1797 × 61 matrix of centred images, whose
# rank-r factorization is their principal component analysis.

# %% tags=["parameters"]
path = ""  # your file: .npy or .csv (a matrix Y), .npz with X (N×n) and T (N×m); empty: the shipped digits
r = 4  # hidden units, from 1 to min(n, m)
draws = 10000  # draws of the feedback B behind the forecast
oversampling_draws = 1000  # draws of B for each point p ≥ 1 of the oversampling curve
epsilon = 0.1  # oversampling target: the fewest extra units with median FA/OPT_r ≤ 1 + epsilon
n_seeds = 4  # seeds (Z₀, W₀, B) of the confirming GD and FA runs
steps = 3000  # steps of every confirming run
eta = 0.5  # step size in units of 1/σ₁ (σ₁ the top singular value of Y, or of Σ̂^{1/2}Y for data)
init_scale = 1e-3  # GD's initial scale in units of √σ₁; FA starts from zero (its limit known)
n_monte_carlo = 1000  # explicit draws of B for the brute-force check of the forecast
seed = 0  # seed of the forecast's draws; confirming run i and brute-force draw i use seed + i
quick = False  # a smoke test at the tiny sizes of quick/your_data.yaml (make with QUICK set)
build_dir = "../build/interactive"  # figures/ and results/ are written here

# %%
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

import fa_core as fa
from companion import figures as fp
from companion.data import digits_inputs
from companion.notebook import start

nb = start("your_data", globals())
if path:
    problem = fa.load_problem(path)  # one clear line for a bad file
    source = path
else:
    problem = digits_inputs()[0]
    source = "the shipped digits, 1797 centred images × 61 pixels"
is_data = isinstance(problem, tuple)
result = fa.forecast(
    problem,
    r,
    draws=draws,
    rng=seed,
    epsilon=epsilon,
    oversampling_draws=oversampling_draws,
)
shapes = f"X {problem[0].shape}, T {problem[1].shape}" if is_data else f"Y {problem.shape}"
print(f"{source}: {shapes}")
print()
print(result.summary())
print()
print(result.table())

# %% [markdown]
# ## Confirmation by training
#
# GD from a small random start and FA from zero, on `n_seeds` seeds, for `steps` steps
# with step size `eta`/σ₁. A matrix trains as the factorization Y ≈ ZW (`fa.train`); a
# data set as the linear network on whitened inputs (`fa.train_network`). Each FA run's
# own plateau comes from its own B: ‖(I − P) Y‖²_F (`fa.fa_limit_error`), Σ̂-weighted for a
# data set, computed on the raw inputs.

# %%
seeds = list(range(seed, seed + n_seeds))
step = eta / result.s[0]
# Both rules train with the same settings; GD from a small random start, FA from zero.
training = dict(steps=steps, eta=step, seeds=seeds, progress=True)
start_scale = {"gd": init_scale * np.sqrt(result.s[0]), "fa": 0.0}
if is_data:
    X, T = problem
    Y, Sigma, floor = fa.inputs.linear_teacher(X, T)
    Xw = fa.inputs.whiten(X)
    runs = {
        rule: fa.train_network(Xw, T, r, rule, init_scale=scale, **training)
        for rule, scale in start_scale.items()
    }
    plateau = floor + fa.fa_limit_error(Y, runs["fa"].B, Sigma=Sigma)
    optimum = floor + fa.optimal_error(Y, r, Sigma=Sigma)
    # GD's subspace in the runs' (whitened) coordinates: the top singular subspace of Σ̂^{1/2} Y
    gd_space = fa.theory.top_singular_subspace(
        fa.linalg.sqrt_spd(Sigma, Y.shape[0]) @ Y, min(r, result.rank)
    )
else:
    target = fa.Target.from_matrix(problem)
    runs = {
        rule: fa.train(target, r, rule, init_scale=scale, **training)
        for rule, scale in start_scale.items()
    }
    plateau = fa.fa_limit_error(target, runs["fa"].B)
    optimum = fa.optimal_error(target, r)
    gd_space = fa.theory.top_singular_subspace(
        target, min(r, result.rank)
    )  # all of col(Y) if r ≥ rank
limit = {"gd": np.full(n_seeds, optimum), "fa": np.asarray(plateau)}
# Relative to each run's limit; where the limits are 0 (a matrix with r ≥ rank), relative to ‖Y‖²_F.
denominator = {
    rule: np.full(n_seeds, result.scale) if result.opt_error == 0 else lim
    for rule, lim in limit.items()
}
dist = {
    rule: np.abs(run.error - limit[rule][:, None]) / denominator[rule][:, None]
    for rule, run in runs.items()
}
end = {rule: float(d[:, -1].max()) for rule, d in dist.items()}
run_overlap = fa.subspace_overlap(
    np.broadcast_to(gd_space, (n_seeds, *gd_space.shape)), runs["fa"].Z
)
run_ratio = None if result.fa_over_opt is None else limit["fa"] / result.opt_error
print(
    f"distance to the limit at the end: FA {end['fa']:.1e} (its own plateau), GD {end['gd']:.1e} (OPT_r)"
)
if run_ratio is not None:
    print(f"iterated FA/OPT per seed: {np.round(run_ratio, 4)}")
print(f"iterated overlap of FA's subspace with GD's: {np.round(run_overlap, 3)}")

# %% [markdown]
# ## Brute force: the forecast against explicit draws of B
#
# The forecast draws B in Y's singular coordinates. Here `n_monte_carlo` explicit B
# (r × m, Gaussian) are drawn instead, and FA's limit is computed as the projection onto
# col(Y Bᵀ) itself (`fa.fa_limit_error`, Σ̂-weighted for a data set). The forecast's
# median must sit where an independent sample's median can be: the z-score
# (F̂(median) − ½)/√(¼/n_mc + ¼/draws), with F̂ the brute-force sample's empirical CDF,
# must be below 4 in absolute value.

# %%
B_mc = fa.starting_point(
    result.shape[0], result.shape[1], r, list(range(seed, seed + n_monte_carlo))
).B
if is_data:
    mc = floor + fa.fa_limit_error(Y, B_mc, Sigma=Sigma)
else:
    mc = fa.fa_limit_error(target, B_mc)
z_median = result.median_z(mc)
print(
    f"brute-force median FA {np.median(mc):.6g} vs forecast {np.median(result.fa_error):.6g}; z = {z_median:.2f}"
)

# %% [markdown]
# ## The forecast at a glance
#
# - **Left.** FA's limit over OPT_r across draws of B (log scale), with the median and
#   the 10–90% range; crosses are the iterated FA runs, each at its final error.
# - **Middle.** Oversampling: the median and mean of FA(r + p)/OPT_r with p extra units,
#   the range-finder bound on the mean (Halko, Martinsson & Tropp 2011, for p ≥ 2) and
#   the target 1 + ε.
# - **Right.** Overlap of FA's subspace col(Y Bᵀ) with GD's top-r subspace
#   (1 = the same subspace), over draws of B; crosses are the iterated runs.


# %%
fig, axes = plt.subplots(1, 3, figsize=(18, 4.6))
scaled = []  # (axes, axis, ratios): log scale where the ratios span more than a decade
ax = axes[0]
fa_color = fp.RULE_COLORS["fa"]
if result.fa_over_opt is not None:
    ratio = result.fa_over_opt
    st = result.stats(ratio)
    log = ratio.max() > 10 * ratio.min()
    bins = (np.geomspace if log else np.linspace)(ratio.min(), ratio.max() * (1 + 1e-9), 60)
    ax.hist(ratio, bins=bins, color=fa_color, alpha=0.5, label=f"{result.draws} draws of B")
    ax.axvline(st["median"], color="k", lw=1.2, label=f"median {st['median']:.3g}")
    for qn in ("q10", "q90"):
        ax.axvline(st[qn], color="k", lw=0.8, ls=":")
    ax.plot([], [], color="k", lw=0.8, ls=":", label=f"10–90%: {st['q10']:.3g} – {st['q90']:.3g}")
    ax.scatter(
        runs["fa"].error[:, -1] / result.opt_error,
        np.zeros(n_seeds),
        marker="x",
        s=40,
        color="k",
        zorder=3,
        clip_on=False,
        label="iterated FA runs",
    )
    scaled.append((ax, "x", ratio))
    ax.set(xlabel="FA limit / OPT_r", ylabel="draws")
    ax.legend(fontsize="small")
else:
    ax.text(
        0.5,
        0.5,
        f"r = {r} ≥ rank = {result.rank}:\nFA reaches the optimum\nfor every B",
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=12,
    )
    ax.set(xticks=[], yticks=[])
ax.set_title(f"FA's error over the optimum, r = {r}")

ax = axes[1]
curve = result.oversampling
if curve["p"]:
    ps = np.array(curve["p"])
    ax.plot(ps, curve["median"], "o-", color=fa_color, label="median FA(r + p) / OPT_r")
    ax.plot(ps, curve["mean"], "s--", color=fa_color, alpha=0.6, ms=4, label="mean")
    with_bound = [(p, b) for p, b in zip(curve["p"], curve["bound"]) if b is not None]
    if with_bound:
        ax.plot(*zip(*with_bound), "^:", color="0.2", label="range-finder bound on the mean")
    ax.axhline(1 + epsilon, color="0.4", lw=0.8, ls="--", label=f"1 + ε = {1 + epsilon:g}")
    ax.axhline(1, color="k", lw=0.8)
    if curve["p_within"] is not None:
        ax.annotate(
            f"p = {curve['p_within']}",
            (curve["p_within"], curve["median"][-1]),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    scaled.append((ax, "y", [*curve["median"], *(b for _, b in with_bound), 1]))
    ax.set(xlabel="extra units p", ylabel="FA(r + p) / OPT_r")
    ax.legend(fontsize="small")
else:
    ax.text(0.5, 0.5, "no oversampling needed", ha="center", va="center", transform=ax.transAxes)
    ax.set(xticks=[], yticks=[])
ax.set_title("Extra units bring FA to the optimum")

ax = axes[2]
ax.hist(result.overlap, bins=np.linspace(0, 1, 41), color="C0", alpha=0.5, label="draws of B")
ax.axvline(
    np.median(result.overlap), color="k", lw=1.2, label=f"median {np.median(result.overlap):.2f}"
)
ax.scatter(
    run_overlap,
    np.zeros(n_seeds),
    marker="x",
    s=40,
    color="k",
    zorder=3,
    clip_on=False,
    label="iterated runs",
)
ax.set(xlim=(0, 1.02), xlabel="‖Q_GDᵀ Q_FA‖²_F / r", ylabel="draws")
ax.set_title("Overlap of FA's subspace with GD's")
ax.legend(fontsize="small")
for ax, axis, values in scaled:
    if np.max(values) > 10 * np.min(values):
        getattr(ax, f"set_{axis}scale")("log")
        ticks = getattr(ax, f"{axis}axis")
        ticks.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ticks.set_minor_formatter(mpl.ticker.NullFormatter())
fig.suptitle(f"Will FA work here? {source}, r = {r}", y=1.03)
nb.show(fig, "forecast")

# %% [markdown]
# ## Checks
#
# The plateau and optimum checks are mathematics and hold to 1e-8 once the runs have
# converged; if one fails on your file, try more `steps` (the printed distances show how
# far the runs got). The size of FA/OPT is a measurement, recorded below.

# %%
claims = nb.claims
claims.check(
    "each iterated FA run ends at its own forecast plateau (max relative difference)",
    end["fa"],
    "<",
    1e-8,
    kind="law",
)
claims.check(
    "iterated GD ends at OPT_r, the forecast's optimum (max relative difference)",
    end["gd"],
    "<",
    1e-8,
    kind="law",
)
if run_ratio is not None:
    outside = np.sum(
        (run_ratio < result.fa_over_opt.min()) | (run_ratio > result.fa_over_opt.max())
    )
    claims.check(
        "the iterated FA runs' FA/OPT lie inside the forecast's range over its draws of B "
        "(runs outside)",
        outside,
        "<",
        1,
        kind="law",
    )
claims.check(
    "the forecast's OPT_r equals the closed form fa.optimal_error (relative difference)",
    abs(result.opt_error - optimum) / max(optimum, result.scale * np.finfo(float).eps),
    "<",
    1e-10,
    kind="consistency",
)
if result.reaches_optimum:  # every limit is OPT_r up to rounding: no distribution to compare
    claims.check(
        "the brute-force projections onto col(Y Bᵀ) all reach OPT_r (max (FA − OPT) / scale)",
        np.max(mc - result.opt_error) / result.scale,
        "<",
        1e-12,
        kind="consistency",
    )
else:
    claims.check(
        "the forecast's median agrees with brute-force projections onto col(Y Bᵀ) (|z|)",
        abs(z_median),
        "<",
        4,
        kind="consistency",
    )
claims.record(
    forecast=result.as_dict(),
    source=source,
    iterated=dict(
        fa_over_opt=None if run_ratio is None else run_ratio.tolist(),
        overlap=run_overlap.tolist(),
        end_distance=end,
    ),
    monte_carlo=dict(median=float(np.median(mc)), z=z_median),
)
nb.finish()
