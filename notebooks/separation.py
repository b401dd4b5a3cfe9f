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
# # Claim 3: the separation, where FA is far from optimal when r < rank(Y)
#
# **Claim.** When there are fewer hidden units than the rank of Y (r < k), GD reaches
# the Eckart–Young optimum OPT_r = Σ_{i>r} σ_i². FA can stop far above it. This is the
# paper's provable separation between FA and GD. "Far" is relative to the optimum:
# on the default spectrum both rules fit Y well in absolute terms, and FA's error is
# many times GD's (section 2 prints both relative errors).
#
# **Scope.**
#
# - *Derived here* (derivations R4, R5, R8, R9): from zero, col(Z_t) ⊆ col(YBᵀ) at every
#   step, so err_t ≥ ‖(I − P)Y‖² with no convergence argument; for r ≤ k every FA
#   stationary point, from any start, has col(Z) = col(YBᵀ) and error ‖(I − P)Y‖², which
#   exceeds OPT_r unless col(YBᵀ) is the top-r subspace, provided s_r > s_{r+1} (with
#   s_r = s_{r+1} that subspace is not unique and FA's error can equal OPT_r); the
#   exact distribution of FA/OPT on a head-plus-tail spectrum; E[FA/OPT] → ∞ as the
#   tail level s → 0 (at a fixed s it is bounded by 1 + r/(q s²)).
# - *Observed, not derived*: that FA's runs converge to that stationary point (checked
#   on every run, at a finite number of steps), and the medians and tails of FA/OPT.
# - *The paper* (abstract): "FA can be far from optimal when r < rank(Y). This is the
#   first provable separation result between gradient descent and FA." We have the
#   abstract only; the theorem's exact statement and constants are not known to us.
# - *Our reconstruction may differ*: B Gaussian with rows of norm about 1, FA from
#   zero (and from a small random start in section 1), discrete steps at η = 0.1, the
#   spectra are ours.
# - *Not reproduced*: the paper's figures and its constants.
#
# **Why (derivations R4, R5, R8).**
#
# - From zero init, FA's first step sets Z = η Y Bᵀ, and col(Z) never leaves
#   col(Y Bᵀ). That is a random sketch of Y with test matrix Bᵀ, the randomized range
#   finder with zero oversampling (Halko, Martinsson & Tropp 2011).
# - FA's fit then converges to the projection P Y onto that subspace, so its error
#   is ‖(I − P) Y‖²_F. This is `fa_core.fa_limit_error`.
# - GD instead finds the top-r singular subspace.
#
# **How this notebook tests it.** The experiments are ours, not reproductions of the
# paper's figures.
#
# 1. Iterate GD, FA and FA\* on a head-plus-tail spectrum. Check that each FA seed
#    stops exactly at its predicted plateau and that GD stops at OPT.
# 2. Compute the distribution of FA/OPT over ≥ 10⁴ draws of B with the closed form,
#    for several spectra. Confirm it with a subset of iterated runs.
# 3. Show where the gap comes from: the subspace FA learns, and the singular values of
#    the learned ZW, mode by mode.
# 4. Show that oversampling (more units than the rank you want to capture) rescues FA,
#    as the range-finder bound predicts.

# %% tags=["parameters"]
n = 1000  # rows of Y
m = 800  # columns of Y
head = 5  # large singular values in the default spectrum (the rank FA should capture)
tail = 20  # small singular values in the default spectrum
tail_level = 0.01  # size of the tail singular values (the head is 1)
r = 5  # hidden units, fewer than rank(Y)
eta = 0.1  # step size
steps = 20000  # training steps
n_seeds = 20  # seeds (draws of B) for the iterated runs
ratio_spectra = [
    [5, 20, 0.1],
    [5, 20, 0.01],
    [1, 4, 0.01],
    [20, 80, 0.01],
]  # [head, tail count, tail level]; r is the head
decay_k = 50  # rank of the power-law spectrum (s_i is 1/i)
decay_r_list = [2, 5, 10]  # units r for the power-law spectrum
n_draws = 10000  # draws of B for each closed-form distribution
n_iterated = 10  # of those spectra, iterated FA runs that confirm the closed form
iterated_steps = 6000  # steps for the confirming runs
oversample_k = 5  # the rank k' we want to capture in the oversampling study
oversample_p = [0, 1, 2, 4, 8, 16]  # extra units p: FA gets k' + p units
oversample_decay = 1.0  # power-law exponent of the oversampling spectrum (rank decay_k)
tight_head = 1  # k' for the near-tight check of the bound: one singular value at 1 ...
tight_tail = 200  # ... and this many flat tail values ...
tight_level = 1e-3  # ... at this level
tight_p = 4  # oversampling for the near-tight check (k' + p > 4 gives the ratio a finite variance)
seed = 0  # master seed
quick = False  # a smoke test at the tiny sizes of quick/separation.yaml (make with QUICK set)
build_dir = "../build/interactive"  # figures/ and results/ are written here

# %%
import matplotlib.pyplot as plt
import numpy as np

import fa_core as fa
from companion import figures as fp
from companion.notebook import start

nb = start("separation", globals())
if tight_head + tight_p <= 4 or tight_p < 2:
    raise ValueError(
        f"tight_p must be >= 2 with tight_head + tight_p > 4 (finite variance); got {tight_p}"
    )
if not 1 <= r < head + tail:
    raise ValueError(
        f"r must be in [1, rank(Y) - 1] = [1, {head + tail - 1}] to see a separation; got {r}"
    )
streams = fa.streams(seed, names=("target", "draws", "oversample"))
target = fa.make_target(fa.head_tail_spectrum(head, tail, tail_level), n, m, rng=streams["target"])
opt = fa.optimal_error(target, r)
print(
    f"Y: {n}×{m}, rank {target.k}: {head} singular values at 1, {tail} at {tail_level}; r = {r}; OPT_r = {opt:.4g}"
)

# %% [markdown]
# ## 1. Error curves for r < k
#
# Every FA and FA\* seed starts from zero. Thin lines are single seeds. Each FA seed's
# predicted plateau ‖(I − P) Y‖² is drawn as a short dotted segment at the right. The
# right panel divides each run by its own prediction, so the plateau is exact when the
# curve goes to 1. GD starts from a small random point and reaches OPT.

# %%
runs = {
    rule: fa.train(
        target,
        r,
        rule,
        steps=steps,
        eta=eta,
        seeds=n_seeds,
        init_scale=0.0 if rule != "gd" else 1e-2,
        progress=True,
    )
    for rule in ("gd", "fa", "fa_star")
}
limits = {rule: fa.fa_limit_error(target, runs[rule].B) for rule in ("fa", "fa_star")}

fig, (ax, ax2) = plt.subplots(1, 2, figsize=(14, 4.6))
norm = target.sq_norm
for rule in ("gd", "fa", "fa_star"):
    st = fp.rule_style(rule)
    run = runs[rule]
    for i in range(len(run.seeds)):
        ax.plot(
            run.steps[1:], run.rel_error[i, 1:], color=st["color"], lw=0.6, alpha=0.35, ls=st["ls"]
        )
    ax.plot([], [], color=st["color"], ls=st["ls"], label=f"{st['label']} ({len(run.seeds)} seeds)")
x_seg = run.steps[-1] * np.array([0.3, 1.0])
for lim in limits["fa"]:
    ax.plot(x_seg, [lim / norm] * 2, color="k", lw=0.8, ls=":")
ax.plot([], [], color="k", lw=0.8, ls=":", label="FA's predicted plateau, per seed")
fp.annotate_floor(ax, opt / norm, f"OPT_r (Eckart–Young) = {opt / norm:.2e}")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="step",
    ylabel="relative error ‖Y−ZW‖² / ‖Y‖²",
    title=f"GD reaches OPT, FA stops at its own plateau (r = {r} < k = {target.k})",
)
ax.legend(loc="lower left", fontsize="small")
for rule in ("fa", "fa_star"):
    ratio = runs[rule].error / limits[rule][:, None]
    fp.rule_band(ax2, runs[rule].steps[1:], ratio[:, 1:], rule, q=(0.0, 1.0))
ax2.axhline(1, color="k", lw=0.8, ls=":")
ax2.set(
    xscale="log",
    yscale="log",
    xlabel="step",
    ylabel="error / predicted plateau",
    title="Each FA run ends exactly at ‖(I − P)Y‖² (band: all seeds)",
)
ax2.legend()
nb.show(fig, "error_curves")
plateau_dev = max(
    float(np.max(np.abs(runs[rule].error[:, -1] - limits[rule]) / limits[rule])) for rule in limits
)
# From zero, col(Z) ⊆ col(YBᵀ) at every step, so err_t ≥ ‖(I − P)Y‖²: no convergence needed.
every_step = min(float(np.min(runs[rule].error / limits[rule][:, None])) for rule in limits)
# From a random start, every FA stationary point (r ≤ k) has col(Z) = col(YBᵀ) (derivations R4).
random_start = fa.train(target, r, "fa", steps=steps, eta=eta, seeds=n_seeds, init_scale=1e-2)
random_angle = float(
    np.max(fa.principal_angles(random_start.Z, fa.theory.sketch(target, random_start.B)))
)
random_dev = float(
    np.max(np.abs(random_start.error[:, -1] / fa.fa_limit_error(target, random_start.B) - 1))
)
gd_dev = float(np.max(np.abs(runs["gd"].error[:, -1] - opt) / opt))
print(f"max |FA − plateau| / plateau = {plateau_dev:.2e};  max |GD − OPT| / OPT = {gd_dev:.2e}")
print(
    f"from zero, min over seeds and recorded steps of err_t / ‖(I − P)Y‖² = {every_step:.9f};  "
    f"from random starts (scale 1e-2): max angle col(Z) vs col(YBᵀ) {random_angle:.1e} rad, "
    f"max |err / ‖(I − P)Y‖² − 1| {random_dev:.1e}"
)

# %%
claims = nb.claims
claims.check(
    "iterated FA/FA* plateaus equal fa_limit_error (max relative difference)",
    plateau_dev,
    "<",
    1e-6,
    kind="consistency",
)
claims.check("GD reaches optimal_error (max relative difference)", gd_dev, "<", 1e-8, kind="law")
claims.check(
    "FA/FA* from zero: the error never goes below ‖(I − P)Y‖² (min over seeds and recorded steps "
    "of err_t / limit)",
    every_step,
    ">",
    1 - 1e-9,
    note="col(Z_t) ⊆ col(YBᵀ) at every step from zero (derivations R4)",
    kind="law",
)
claims.check(
    "FA from random starts: the stationary point has col(Z) = col(YBᵀ) (max principal angle, rad)",
    random_angle,
    "<",
    1e-6,
    note="every FA stationary point with r ≤ k, from any start (derivations R4)",
    kind="law",
)
claims.check(
    "FA from random starts stops at ‖(I − P)Y‖² too (max relative difference)",
    random_dev,
    "<",
    1e-6,
    kind="law",
)
claims.record(
    plateau_max_rel_dev=plateau_dev,
    min_error_over_limit_from_zero=every_step,
    random_start_angle=random_angle,
)

# %% [markdown]
# ## 2. How far from optimal: FA/OPT over draws of the feedback
#
# By rotation invariance, D = B V (the feedback in Y's right singular basis) has
# i.i.d. Gaussian entries when B does. So each draw of FA's limit costs one k×r QR
# (`fa_core.sketch_error`), and we use `n_draws` draws per spectrum. Dots are iterated
# FA runs on a real target with a real B, placed at their final error. The closed form
# must agree with them.
#
# **Threshold for the default spectrum.** In coordinates, Y = diag(I_r, s·I_q) and the
# sketch is [G₁; s G₂]. Here G₁ is the r×r head block of a Gaussian matrix and G₂ the
# q×r tail block.
#
# - **Exactly** (derivations R8), with H = G₂ᵀ G₁⁻ᵀ,
#   FA/OPT = 1 + (1 − s²)/q · tr((I + s² HᵀH)⁻¹ HᵀH) (`fa.theory.head_tail_ratio`). We
#   check it against the sketch computation draw by draw.
# - **To leading order**, replacing G₂G₂ᵀ by its mean q·I gives
#   FA/OPT ≈ 1 + (1 − s²) Σ_i 1/(σ_i(G₁)² + q s²) (`fa.theory.head_tail_estimate`), a
#   function of G₁ alone. For small s it is dominated by 1/σ_min(G₁)².
# - For large r, r·σ_min(G₁)² has the limiting CDF 1 − exp(−x/2 − √x) (Edelman 1988),
#   whose median is about 0.297. That asymptotic constant would give 1 + r/0.297 ≈ 17.8
#   for r = 5, but r = 5 is not large: the sample below gives the finite-r value, and
#   the check uses the estimate computed from that sample, not the constant.
#
# We evaluate the leading-order estimate on an *independent* sample of 50 000 draws of G₁. It
# never touches the sketch computation. The measured median must lie within a factor
# 1.25 of it on either side, so the check fails if the separation is much smaller or
# much larger than derived. Relative errors are shown beside the ratio in the summary.


# %%
def feedback_draws(rng, draws, r_, k_):
    """``draws`` feedback matrices B (r_×k_) from FA's own feedback generator, stacked.

    In Y's right singular basis B V has i.i.d. Gaussian entries, and the sketch
    does not depend on B's scale, so these are draws of D = B V.
    """
    return fa.start.feedback_matrix(rng, draws * r_, k_).reshape(draws, r_, k_)


g = streams["draws"]
default = f"head {head}×1, tail {tail}×{tail_level:g}"
spectra = {
    default: (fa.head_tail_spectrum(head, tail, tail_level), head)
}  # always measured: it carries a check
spectra.update(
    {
        f"head {h}×1, tail {q}×{lvl:g}": (fa.head_tail_spectrum(h, q, lvl), h)
        for h, q, lvl in ratio_spectra
    }
)
spectra.update(
    {f"1/i, k = {decay_k}, r = {rr}": (fa.power_spectrum(decay_k), rr) for rr in decay_r_list}
)
ratios, iterated, rel_error = {}, {}, {}
for name, (s, rr) in spectra.items():
    s = s / s[0]
    D = feedback_draws(g, n_draws, rr, s.size)
    ratios[name] = fa.theory.sketch_error(s, D) / np.sum(s[rr:] ** 2)
    rel_error[name] = dict(
        fa=float(np.median(ratios[name]) * np.sum(s[rr:] ** 2) / np.sum(s**2)),
        gd=float(np.sum(s[rr:] ** 2) / np.sum(s**2)),
    )
    if name == default:
        exact_dev = float(
            np.max(np.abs(fa.theory.head_tail_ratio(D, tail_level) - ratios[name]) / ratios[name])
        )
    t_small = fa.make_target(s, max(2 * s.size, 40), max(2 * s.size, 30), rng=g)
    it = fa.train(
        t_small, rr, "fa", steps=iterated_steps, eta=eta, seeds=n_iterated, init_scale=0.0
    )
    iterated[name] = (
        it.error[:, -1],
        fa.fa_limit_error(t_small, it.B),
        fa.optimal_error(t_small, rr),
    )

fig, ax = plt.subplots(figsize=(2 + 1.9 * len(ratios), 5.2))
names = list(ratios)
parts = ax.violinplot([np.log10(ratios[nm]) for nm in names], showmedians=True, widths=0.8)
for body in parts["bodies"]:
    body.set_facecolor(fp.RULE_COLORS["fa"])
    body.set_alpha(0.35)
for i, nm in enumerate(names):
    err, _, o = iterated[nm]
    ax.scatter(
        np.full(err.size, i + 1) + np.linspace(-0.15, 0.15, err.size),
        np.log10(err / o),
        s=14,
        color="k",
        zorder=3,
        label="iterated FA runs" if i == 0 else None,
    )
summary = {}
for nm in names:
    rt = ratios[nm]
    summary[nm] = dict(
        median=float(np.median(rt)),
        p90=float(np.quantile(rt, 0.9)),
        p_above_2=float(np.mean(rt > 2)),
        mean=float(np.mean(rt)),
    )
ax.axhline(0, color="k", lw=0.8)
ax.axhline(np.log10(2), color="0.5", lw=0.8, ls=":")
# each spectrum's numbers go in its own tick label, under the axis, so they never overlap
ax.set_xticks(
    range(1, len(names) + 1),
    [
        f"{nm}\nmedian {summary[nm]['median']:.1f}, P(>2) {summary[nm]['p_above_2']:.2f}\n"
        f"rel. error FA {rel_error[nm]['fa']:.2%}\nGD {rel_error[nm]['gd']:.2%}"
        for nm in names
    ],
    fontsize="small",
)
top = int(np.ceil(max(np.log10(ratios[nm]).max() for nm in names)))
ax.set_yticks(range(0, top + 1), [f"{10**v:g}" for v in range(0, top + 1)])
ax.set(
    ylabel="FA error / OPT_r  (log scale)",
    title=f"FA's error relative to the optimum, over {n_draws} draws of B per spectrum (line at 2 = twice optimal)",
)
ax.legend(loc="upper left")
nb.show(fig, "ratio_distribution")
for nm, sm in summary.items():
    print(
        f"{nm:>28}: median {sm['median']:7.2f}  90th pct {sm['p90']:9.2f}  P(FA > 2·OPT) {sm['p_above_2']:.3f}"
    )
closed_vs_iterated = max(float(np.max(np.abs(e - l) / l)) for e, l, _ in iterated.values())
sv_G1 = np.linalg.svd(g.standard_normal((50_000, head, head)), compute_uv=False)  # cheap: 5×5 SVDs
edelman = float(np.median(sv_G1[:, -1] ** 2) * head)
tail_estimate = float(np.median(fa.theory.head_tail_estimate(sv_G1, tail, tail_level)))
print(
    f"iterated vs closed form: max relative difference {closed_vs_iterated:.2e};  "
    f"median r·σ_min(G₁)² for r = {head}: {edelman:.3f};  head-tail estimate of the default median: {tail_estimate:.2f}"
)

# %%
claims.check(
    "iterated FA equals the closed form on every spectrum (max relative difference)",
    closed_vs_iterated,
    "<",
    1e-6,
    kind="consistency",
)
claims.check(
    "the exact head-tail formula equals the sketch computation on every draw (max relative difference)",
    exact_dev,
    "<",
    1e-6,
    kind="consistency",
)
claims.check(
    f"median FA/OPT over draws of B, default spectrum ({default}), against the head-tail estimate "
    "(|ln(median / estimate)|, two-sided: within a factor 1.25)",
    abs(np.log(summary[default]["median"] / tail_estimate)),
    "<",
    np.log(1.25),
    note=f"{n_draws} draws; median {summary[default]['median']:.2f}, estimate {tail_estimate:.2f} "
    "from an independent sample of G₁ (section 2)",
    kind="law",
)
claims.record(
    default_spectrum=dict(
        median_ratio=summary[default]["median"],
        fa_relative_error=rel_error[default]["fa"],
        gd_relative_error=rel_error[default]["gd"],
    ),
    ratio_summary=summary,
    median_r_sigma_min_sq=edelman,
    tail_estimate_default_median=tail_estimate,
    median_relative_error=rel_error,
)
print(
    f"On the default spectrum the median FA/OPT is {summary[default]['median']:.1f}: relative "
    f"errors {rel_error[default]['fa']:.2%} for FA (median over B) against {rel_error[default]['gd']:.2%} for GD."
)
print({nm: f"FA {v['fa']:.2%} vs GD {v['gd']:.2%} of ‖Y‖²" for nm, v in rel_error.items()})

# %% [markdown]
# ## 3. Where the gap comes from
#
# **Left.** Principal angles between FA's learned subspace col(Z_FA) and the top-r
# singular subspace U_r, which GD finds, next to the angles between col(Z_FA) and the
# sketch col(Y Bᵀ). The second set is zero to rounding: FA's subspace is fixed at the
# first step.
#
# **Right.** The error mode by mode. Y = Σ σ_i u_i v_iᵀ, so the error of the
# projection onto the learned subspace splits exactly as Σ_i σ_i² (1 − ‖Q_Zᵀ u_i‖²).
# GD misses only the tail modes (i > r), each completely: that is OPT. FA captures part
# of the tail but loses a fraction of every head mode. Because the head is large, that
# leakage is the separation. (Values at 1e-12 are exact zeros drawn at the floor.)

# %%
fa_run, gd_run = runs["fa"], runs["gd"]
ang_top = np.degrees(
    fa.principal_angles(fa_run.Z, np.broadcast_to(target.U[:, :r], (len(fa_run.seeds), n, r)))
)
Y_Bt = fa.theory.sketch(target, fa_run.B)  # from the factors, never forming Y
ang_sketch = np.degrees(fa.principal_angles(fa_run.Z, Y_Bt))
top = fa.theory.top_singular_subspace(target, r)  # U_r, or more columns if σ_r is tied
ang_gd = np.degrees(
    fa.principal_angles(gd_run.Z, np.broadcast_to(top, (len(gd_run.seeds), *top.shape)))
)

fig, (ax, ax2) = plt.subplots(1, 2, figsize=(14, 4.4))
for j, (vals, lab, col) in enumerate(
    [
        (ang_top, "FA vs top-r subspace U_r", fp.RULE_COLORS["fa"]),
        (ang_sketch, "FA vs sketch col(Y Bᵀ)", "k"),
        (ang_gd, "GD vs top-r subspace U_r", fp.RULE_COLORS["gd"]),
    ]
):
    for i in range(r):
        ax.scatter(
            i + (j - 1) * 0.22 + np.linspace(-0.05, 0.05, vals.shape[0]),
            vals[:, i],
            s=10,
            color=col,
            label=lab if i == 0 else None,
        )
ax.set(
    xticks=range(r),
    xticklabels=[f"θ_{i + 1}" for i in range(r)],
    ylabel="principal angle (degrees)",
    title=f"Principal angles ({len(fa_run.seeds)} seeds)",
)
ax.legend(loc="upper left")
idx = np.arange(1, target.k + 1)
modes = {
    "gd": fa.theory.error_by_mode(target, gd_run.Z),
    "fa": fa.theory.error_by_mode(target, fa_run.Z),
}
for j, rule in enumerate(("gd", "fa")):
    st = fp.rule_style(rule)
    lo, med, hi = np.quantile(np.maximum(modes[rule], 1e-12), [0.25, 0.5, 0.75], axis=0)
    ax2.errorbar(
        idx + (j - 0.5) * 0.3,
        med,
        yerr=[med - lo, hi - med],
        fmt="o" if rule == "fa" else "s",
        ms=5,
        color=st["color"],
        label=f"{st['label']}: total {np.median(modes[rule].sum(1)) / opt:.1f} × OPT",
    )
ax2.axvline(r + 0.5, color="0.5", ls=":", lw=0.8)
ax2.set(
    yscale="log",
    xlabel="mode i of Y",
    ylabel="σ_i² (1 − captured fraction)",
    ylim=(1e-12 * 0.5, None),
    title="Error by mode of Y (median and IQR over seeds)",
)
fig.suptitle(
    f"Where the gap comes from: FA learns the sketch col(Y Bᵀ), not the top-{r} subspace, and leaks every head mode",
    y=1.02,
)
ax2.legend()
nb.show(fig, "where_the_gap_comes_from")
print(
    f"max angle FA vs sketch: {ang_sketch.max():.2e}°;  GD vs top-r: {ang_gd.max():.2e}°;  "
    f"FA vs top-r, largest angle median: {np.median(ang_top[:, -1]):.1f}°"
)

# %%
claims.check(
    "FA's subspace stays in col(Y Bᵀ) from zero init (max principal angle, degrees)",
    ang_sketch.max(),
    "<",
    1e-6,
    kind="law",
)
mode_sum_dev = float(np.max(np.abs(modes["fa"].sum(1) - fa_run.error[:, -1]) / fa_run.error[:, -1]))
claims.check(
    "FA's error equals its per-mode decomposition Σ σ_i²(1 − c_i) (max relative difference)",
    mode_sum_dev,
    "<",
    1e-6,
    kind="consistency",
)
claims.check(
    "GD's subspace lies in the top-r singular subspace, ties included (max principal angle, degrees)",
    ang_gd.max(),
    "<",
    1e-6,
    kind="law",
)
claims.record(fa_top_r_largest_angle_median_deg=float(np.median(ang_top[:, -1])))

# %% [markdown]
# ## 4. Oversampling rescues FA
#
# Give FA r = k' + p units when you care about rank k'. The randomized range-finder
# bound (Halko, Martinsson & Tropp 2011, Thm 10.5) says that for p ≥ 2,
#
# E ‖(I − P) Y‖²_F ≤ (1 + k'/(p − 1)) · Σ_{j>k'} σ_j²,
#
# with P the projector onto col(Y Bᵀ) for a Gaussian B with r = k' + p rows. This is
# exactly FA's error from zero init (derivations R5). The theorem is printed for the
# unsquared norm, E‖(I − P)Y‖_F ≤ (1 + k'/(p − 1))^{1/2} (Σ_{j>k'} σ_j²)^{1/2}; its proof
# bounds the squared error's mean as above and then applies Hölder, so the squared form
# is the stronger statement and the one we test (derivations R9).
#
# On the 1/i spectrum below the bound is loose, so there it is shown, not checked. It
# is nearly attained when a head of k' values sits far above a long flat tail of q
# values: the p extra units can then only remove about a fraction p/q of the tail. The
# check on that spectrum is two-sided: the mean over draws lies within 4 standard
# errors of the band [bound·(1 − p/q), bound].

# %%
s_os = fa.power_spectrum(decay_k, oversample_decay)
opt_k = np.sum(s_os[oversample_k:] ** 2)
go = streams["oversample"]
os_ratio = {}
for p in oversample_p:
    rr = oversample_k + p
    os_ratio[p] = fa.theory.sketch_error(s_os, feedback_draws(go, n_draws, rr, decay_k)) / opt_k
t_os = fa.make_target(s_os, max(2 * decay_k, 40), max(2 * decay_k, 30), rng=go)
os_iter = {
    p: fa.train(
        t_os,
        oversample_k + p,
        "fa",
        steps=iterated_steps,
        eta=eta,
        seeds=n_iterated,
        init_scale=0.0,
    ).error[:, -1]
    / fa.optimal_error(t_os, oversample_k)
    for p in oversample_p
}
bound = {p: 1 + oversample_k / (p - 1) for p in oversample_p if p >= 2}

fig, ax = plt.subplots(figsize=(8, 4.4))
ps = np.array(oversample_p)
means = np.array([os_ratio[p].mean() for p in oversample_p])
q1, q3 = np.array([np.quantile(os_ratio[p], [0.25, 0.75]) for p in oversample_p]).T
ax.fill_between(
    ps, q1, q3, color=fp.RULE_COLORS["fa"], alpha=0.2, label="FA, interquartile range (closed form)"
)
ax.plot(ps, means, "o-", color=fp.RULE_COLORS["fa"], label=f"FA, mean over {n_draws} draws")
for p in oversample_p:
    ax.scatter(
        np.full(n_iterated, p) + 0.15,
        os_iter[p],
        s=10,
        color="k",
        label="iterated FA runs" if p == 0 else None,
    )
bp = np.array(sorted(bound))
ax.plot(bp, [bound[p] for p in bp], "--", color="0.2", label="Halko et al. bound 1 + k'/(p − 1)")
ax.axhline(1, color="k", lw=0.8, ls=":")
ax.set(
    yscale="log",
    xlabel="oversampling p (units r = k' + p)",
    ylabel="FA error / best rank-k' error",
    title=f"Oversampling rescues FA (k' = {oversample_k}, s_i = i^-{oversample_decay:g}, rank {decay_k})",
)
ax.legend(fontsize="small")
nb.show(fig, "oversampling")
print(
    {
        p: f"mean {os_ratio[p].mean():.3f}" + (f" ≤ bound {bound[p]:.3f}" if p in bound else "")
        for p in oversample_p
    }
)

# %%
s_tight = np.concatenate([np.ones(tight_head), np.full(tight_tail, tight_level)])
tight = fa.theory.sketch_error(
    s_tight, feedback_draws(go, n_draws, tight_head + tight_p, s_tight.size)
) / np.sum(s_tight[tight_head:] ** 2)
tight_bound = 1 + tight_head / (tight_p - 1)
tight_se = float(tight.std(ddof=1) / np.sqrt(tight.size))
tight_low = tight_bound * (1 - tight_p / tight_tail)
print(
    f"near-tight spectrum (k' = {tight_head}, q = {tight_tail} at {tight_level:g}, p = {tight_p}): "
    f"mean FA/OPT_k' {tight.mean():.4f} ± {tight_se:.4f} against the band "
    f"[{tight_low:.4f}, {tight_bound:.4f}]"
)
claims.check(
    "near-tight spectrum: mean FA/OPT_k' lies in [bound·(1 − p/q), bound], the range-finder bound "
    "nearly attained (distance outside that band, in standard errors; two-sided)",
    max(tight.mean() - tight_bound, tight_low - tight.mean(), 0.0) / tight_se,
    "<",
    4.0,
    note=f"bound 1 + k'/(p − 1) = {tight_bound:.4f}, band from {tight_low:.4f}; "
    f"mean {tight.mean():.4f} ± {tight_se:.4f}",
    kind="law",
)
claims.record(
    oversampling_mean_ratio={str(p): float(os_ratio[p].mean()) for p in oversample_p},
    oversampling_bound={str(p): float(b) for p, b in bound.items()},
    near_tight=dict(
        mean=float(tight.mean()), standard_error=tight_se, bound=tight_bound, low=tight_low
    ),
)

# %% [markdown]
# ## Summary of the checks
#
# Every check above is written with its value and threshold to `results/separation.json`.

# %%
nb.finish()
