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
# # Claims 1 and 2: FA converges when r ≥ rank(Y), and alignment drives it
#
# **Claim 1.** Feedback alignment (FA) reaches the optimum ZW = Y whenever the number
# of hidden units r is at least k = rank(Y).
# **Claim 2.** During FA the forward weights W come into alignment with the fixed
# feedback B, and this alignment is what makes the error decrease.
#
# **How this notebook tests them.** These are our own experiments, not reproductions
# of the paper's figures. We train GD, FA and FA\* on random rank-k targets and check
# the following on the numbers computed here:
#
# 1. Every run converges *linearly* (log error on a straight line below 1e-12) to
#    relative error below 1e-10 wherever the theory promises it. That is r = k from a
#    small random start, and FA or FA\* from zero for every r ≥ k.
# 2. W aligns with B: cos(W, B) ends far above its null distribution (W against the
#    feedback of *other* seeds). From zero init under FA\*, the identity
#    λ_min(sym W Bᵀ) = ½ λ_min(ZᵀZ) holds to rounding (derivations R3).
# 3. The conservation law holds (derivations R2). C = ZᵀZ − (W Bᵀ + B Wᵀ) drifts by
#    O(η) under FA. Under FA\* (our alignment-exact variant) it does not drift at all.
# 4. Alignment drives convergence (derivations R6): V = ‖E Bᵀ‖² never decays slower
#    than the alignment λ_min(W Bᵀ + B Wᵀ) guarantees, at any step of any seed, and
#    across seeds the decay of V is ranked by the integrated alignment.
# 5. With r > k, from small random starts both rules crawl and FA from zero does not.
#    These rates are measurements (derivations R7).
# 6. FA's speed depends on the scale of B.
#
# FA\* is this companion's definition (README, "Which definitions are ours"):
# Z' = Z + η E Bᵀ, then W' = W + η ((Z + Z')/2)ᵀ E.

# %% tags=["parameters"]
n = 60  # rows of Y (input dimension of the network)
m = 40  # columns of Y (output dimension)
k = 5  # rank of Y
r_list = [5, 6, 10]  # hidden units r to test, each at least k (k, k+1, 2k)
kappa = 1.0  # condition number of the well-conditioned target
kappa_ill = 10.0  # condition number of the ill-conditioned target
eta = 0.1  # step size (targets have ‖Y‖₂ of 1)
steps = 30000  # training steps for the convergence runs
n_seeds = 20  # seeds per setting (each seed: its own Z₀, W₀, B)
feedback_scale = 1.0  # row norm of B (entries N(0, scale²/m))
init_scale = 0.01  # norm of each unit's initial weights for random starts
eta_list = [0.0125, 0.025, 0.05, 0.1]  # step sizes for the conservation-law and rate runs
time_horizon = 200.0  # eta × steps for the conservation-law runs (same continuous time)
overparam_inits = [0.0, 0.001, 0.01, 0.1]  # init scales for the r > k study
overparam_steps = 20000  # steps for the r > k study
overparam_seeds = 4  # seeds per setting in the r > k study
scale_list = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]  # feedback scales for the speed study
speed_threshold = 1e-8  # relative error that counts as "reached" in the speed study
speed_steps = 20000  # step budget of the speed study
seed = 0  # master seed for the targets
quick = False  # a smoke test at the tiny sizes of quick/convergence.yaml (make with QUICK set)
build_dir = "../build/interactive"  # figures/ and results/ are written here

# %%
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

import fa_core as fa
from companion import figures as fp
from companion.notebook import start

nb = start("convergence", globals())
if min(r_list) < k:
    raise ValueError(f"r_list must contain only r >= k = {k}; got {r_list}")
if 0.0 not in overparam_inits:
    raise ValueError(
        f"overparam_inits must include 0.0 (FA from zero carries claim 1 for r > k); got {overparam_inits}"
    )
streams = fa.streams(seed, names=("target", "target_ill", "target_speed"))
well = fa.make_target(fa.low_rank_spectrum(k, kappa), n, m, rng=streams["target"])
ill = fa.make_target(fa.low_rank_spectrum(k, kappa_ill), n, m, rng=streams["target_ill"])
RULES = ["gd", "fa", "fa_star"]
FLOOR = 1e-30  # about where ‖E‖²/‖Y‖² is rounding: ZW equals Y to ~1e-15 per entry
DONE = 1e-26  # runs stop once every seed is below this relative error (fa.train's tol)
print(
    f"targets: {n}×{m}, rank {k}; singular values (well) {np.round(well.s, 3)}, (ill) {np.round(ill.s, 3)}"
)

# %% [markdown]
# ## 1. Convergence
#
# Relative error ‖Y − ZW‖²_F / ‖Y‖²_F against the step, on log-log axes. Lines are
# medians over seeds and bands are interquartile ranges. The optimum is 0 here. The
# dotted line marks where the error reaches rounding level (about 1e-30), below which
# nothing is measurable. A run stops once all its seeds are below 1e-26, so some curves
# end before the last step.
#
# In panel (b), r > k, FA and FA\* start from zero, the setting in which the theory
# gives linear convergence for any r ≥ k. GD cannot leave Z = W = 0 (a saddle), so it
# starts from a small random point. Section 5 crosses every rule with every start.

# %%
settings = [
    (
        "(a) r = k, well conditioned",
        well,
        k,
        {"gd": init_scale, "fa": init_scale, "fa_star": init_scale},
    ),
    (
        f"(b) r = {max(r_list)} > k",
        well,
        max(r_list),
        {"gd": init_scale, "fa": 0.0, "fa_star": 0.0},
    ),
    (
        f"(c) r = k, ill conditioned (κ = {kappa_ill:g})",
        ill,
        k,
        {"gd": init_scale, "fa": init_scale, "fa_star": init_scale},
    ),
]
conv = {}
for title, target, r, inits in settings:
    for rule in RULES:
        conv[title, rule] = fa.train(
            target,
            r,
            rule,
            steps=steps,
            eta=eta,
            seeds=n_seeds,
            init_scale=inits[rule],
            feedback_scale=feedback_scale,
            tol=DONE,
            progress=True,
        )

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
for ax, (title, _target, _r, inits) in zip(axes, settings):
    for rule in RULES:
        run = conv[title, rule]
        start = "zero" if inits[rule] == 0 else f"{inits[rule]:g}"
        fp.rule_band(
            ax,
            run.steps[1:],
            np.maximum(run.rel_error[:, 1:], FLOOR),
            rule,
            label=f"{fp.RULE_LABELS[rule]} (start {start})",
        )
    fp.annotate_floor(ax, FLOOR, "rounding level (optimum = 0)")
    ax.set(xscale="log", yscale="log", title=title, xlabel="step", ylim=(FLOOR / 10, 10))
axes[0].set_ylabel("relative error ‖Y−ZW‖² / ‖Y‖²")
for ax in axes:
    ax.legend(loc="upper right", fontsize=8)
fig.suptitle(
    f"Claim 1: FA reaches the optimum when r ≥ rank(Y) = {k}  (n={n}, m={m}, η={eta}, {n_seeds} seeds)",
    y=1.03,
)
nb.show(fig, "convergence")

# %% [markdown]
# **Checks.** Every promised case ends below relative error 1e-10 on its worst seed:
# r = k from a small random start for every rule (panels a and c), FA from zero at the
# largest r (panel b), and FA\* from zero at every r in `r_list`. FA from zero at every
# r is checked in section 5, whose runs it shares. *Linear* convergence means a constant
# rate in the asymptotic regime, once the faster modes have died out: on every seed,
# ln(error) between 1e-24 and 1e-12 is fitted by a straight line in the step with
# R² ≥ 0.99 and a positive slope (`fa.metrics.log_linear_fit`). A sublinear run, whose
# rate keeps falling, fails the R² check.

# %%
claims = nb.claims
promised = {
    f"{title} / {rule}": conv[title, rule]
    for title, _, r, _ in settings
    if r == k
    for rule in RULES
}
for r in r_list:
    promised[f"r = {r}, zero init / fa_star"] = fa.train(
        well,
        r,
        "fa_star",
        steps=steps,
        eta=eta,
        seeds=n_seeds,
        init_scale=0.0,
        feedback_scale=feedback_scale,
        tol=DONE,
    )
promised[f"r = {max(r_list)}, zero init (panel b) / fa"] = conv[settings[1][0], "fa"]
fits = {}
for case, run in promised.items():
    claims.check(f"linear convergence, worst seed: {case}", run.rel_error[:, -1].max(), "<", 1e-10)
    fits[case] = fa.metrics.log_linear_fit(run.steps, run.rel_error, band=(1e-24, 1e-12))
claims.check(
    "linear convergence: smallest R² of the log-linear fit, every promised case and seed",
    min(float(r2.min()) for _, r2 in fits.values()),
    ">=",
    0.99,
)
claims.check(
    "linear convergence: slowest fitted rate −d ln(error)/d step, every promised case and seed",
    min(float(rate.min()) for rate, _ in fits.values()),
    ">",
    0.0,
)
claims.record(linear_rate_median={case: float(np.median(rate)) for case, (rate, _) in fits.items()})

# %% [markdown]
# ## 2. Alignment over training (FA and FA\* from zero, r = k)
#
# - **(a)** cos(W, B). W is 0 until the second step, when W₂ = η² B YᵀY, already
#   positively aligned with B because YᵀY is PSD. cos(W, B) then settles at a positive
#   value; it need not keep growing. The alignment that the rate depends on (R6) is the
#   one in (b).
# - **(b)** λ_min(sym W Bᵀ) grows from 0. From zero init, FA\* keeps C = 0, so
#   W Bᵀ + B Wᵀ = ZᵀZ. Then
#   λ_min(sym W Bᵀ) = ½ λ_min(ZᵀZ) > 0 exactly. Under FA the two differ by the
#   O(η) drift of C.
# - **(c)** The angle between FA's Z-update E Bᵀ and the true gradient step E Wᵀ,
#   signed in [0°, 180°]. Below 90° means FA's update is a descent direction. The
#   curve is cut where the relative error reaches 1e-20, because below that E is
#   rounding noise and has no direction.
# - **(d)** The per-unit identity ‖z_i‖² = 2⟨w_i, b_i⟩ at the end of training, one
#   dot per hidden unit and seed. It is exact for FA\* from zero (C stays 0) and holds
#   for FA only up to FA's O(η) drift of C (section 3).
#
# As in section 1, a run stops once all its seeds are below relative error 1e-26: from
# there on the state no longer changes.

# %%
align = {
    rule: fa.train(
        well,
        k,
        rule,
        steps=steps,
        eta=eta,
        seeds=n_seeds,
        init_scale=0.0,
        feedback_scale=feedback_scale,
        tol=DONE,
        record=["cos_WB", "lam_min_WBt", "lam_min_ZtZ", "grad_angle"],
    )
    for rule in ("fa", "fa_star")
}

fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
for rule, run in align.items():
    st = fp.rule_style(rule)
    x = run.steps[1:]
    fp.rule_band(axes[0], x, run["cos_WB"][:, 1:], rule, log=False)
    fp.rule_band(
        axes[1], x, run["lam_min_WBt"][:, 1:], rule, f"{st['label']}: λ_min(sym W Bᵀ)", log=False
    )
    axes[1].plot(
        x,
        np.median(0.5 * run["lam_min_ZtZ"][:, 1:], axis=0),
        color=st["color"],
        ls="--",
        lw=2.5,
        alpha=0.6,
        label=f"{st['label']}: ½ λ_min(ZᵀZ)",
    )
    live = np.median(run.rel_error, axis=0)[2:] > 1e-20
    fp.rule_band(axes[2], run.steps[2:][live], run["grad_angle"][:, 2:][:, live], rule, log=False)
    z_sq = np.sum(run.Z**2, axis=1).ravel()
    wb = 2 * np.sum(run.W * run.B, axis=2).ravel()
    axes[3].scatter(wb, z_sq, s=14, color=st["color"], alpha=0.7, label=st["label"])
lim = axes[3].get_xlim()
axes[3].plot(lim, lim, color="0.3", lw=0.8, ls=":", label="equality")
axes[0].set(xscale="log", title="(a) W aligns with B", xlabel="step", ylabel="cos(W, B)")
axes[1].set(
    xscale="log", title="(b) alignment = ½ λ_min(ZᵀZ) (R3)", xlabel="step", ylabel="eigenvalue"
)
axes[2].axhline(90, color="0.3", lw=0.8, ls=":")
axes[2].set(
    xscale="log",
    title="(c) FA's Z-update vs true gradient",
    xlabel="step",
    ylabel="signed angle (degrees)",
    ylim=(0, 100),
)
axes[3].set(title="(d) per unit: ‖z_i‖² = 2⟨w_i, b_i⟩", xlabel="2⟨w_i, b_i⟩", ylabel="‖z_i‖²")
for ax in axes[:2]:
    ax.legend(loc="upper left", fontsize=8)
axes[2].legend(loc="upper right")
axes[3].legend(loc="upper left")
fig.suptitle(
    f"Claim 2: W aligns with the feedback B  (r = k = {k}, zero init, η = {eta}, {n_seeds} seeds)",
    y=1.03,
)
nb.show(fig, "alignment")

# %% [markdown]
# **Checks.** A random W has cos(W, B) ≈ 0 with spread about 1/√(rm). The null
# distribution here is measured, not assumed: the final W of each seed against the
# feedback B of every *other* seed, which W never saw. Alignment means the mean
# cos(W, B) over the S seeds exceeds the null's mean by more than 3 standard errors
# (the null's standard deviation over √S): a one-sided test at p ≈ 10⁻³.

# %%
for rule, run in align.items():
    cos_all = fa.metrics.cosine(run.W[:, None], run.B[None, :])  # (seed of W, seed of B)
    null = cos_all[~np.eye(len(run.seeds), dtype=bool)]
    z = (np.mean(np.diag(cos_all)) - null.mean()) / (null.std() / np.sqrt(len(run.seeds)))
    claims.check(
        f"{rule}: mean final cos(W, B) above its null (W against other seeds' B), in null standard errors",
        z,
        ">",
        3.0,
        about="alignment",
        note=f"null: {null.size} cross-seed pairs, mean {null.mean():+.3f}, sd {null.std():.3f}",
    )
r3 = np.abs(align["fa_star"]["lam_min_WBt"] - 0.5 * align["fa_star"]["lam_min_ZtZ"]).max()
claims.check(
    "R3 identity under FA* from zero: max |λ_min(sym WBᵀ) − ½λ_min(ZᵀZ)|",
    r3,
    "<",
    1e-10,
    about="alignment",
)
claims.record(
    final_cos_WB_median={r: float(np.median(run["cos_WB"][:, -1])) for r, run in align.items()}
)

# %% [markdown]
# ## 3. The conservation law
#
# C = ZᵀZ − (W Bᵀ + B Wᵀ) is constant under the FA flow. The discrete FA step adds
# exactly η² B EᵀE Bᵀ (a PSD matrix), so the total drift over a fixed stretch of
# continuous time η·t is O(η). FA\*'s midpoint W-update cancels that term, and C is
# conserved to rounding. GD's analogue is balancedness, ZᵀZ − W Wᵀ, which drifts by
# O(η) too. All runs start from zero (GD from a small random point) and run to the
# same continuous time η·t = `time_horizon`.
#
# The same runs, recorded at every step, feed section 4.


# %%
def every_step(target, r, rule, eta_, init, record):
    n_steps = int(round(time_horizon / eta_))
    return fa.train(
        target,
        r,
        rule,
        steps=n_steps,
        eta=eta_,
        seeds=n_seeds,
        init_scale=init,
        feedback_scale=feedback_scale,
        record=record,
        record_at=np.arange(n_steps + 1),
    )


cons = {
    ("fa", e): every_step(well, k, "fa", e, 0.0, ["invariant_drift", "EBt_sq", "lam_min_WBt"])
    for e in eta_list
}
cons["fa_star", max(eta_list)] = every_step(
    well, k, "fa_star", max(eta_list), 0.0, ["invariant_drift"]
)
for e in (min(eta_list), max(eta_list)):
    cons["gd", e] = every_step(well, k, "gd", e, init_scale, ["invariant_drift"])
final_drift = np.array([np.median(cons["fa", e]["invariant_drift"][:, -1]) for e in eta_list])
drift_slope = np.polyfit(np.log(eta_list), np.log(final_drift), 1)[0]

fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [2, 1]})
greens = sns.color_palette("flare", len(eta_list))
for color, e in zip(greens, eta_list):
    run = cons["fa", e]
    ax.plot(
        e * run.steps[1:],
        np.median(run["invariant_drift"][:, 1:], axis=0),
        color=color,
        label=f"FA, η = {e:g}",
    )
for e, ls in ((min(eta_list), "--"), (max(eta_list), "-")):
    run = cons["gd", e]
    ax.plot(
        e * run.steps[1:],
        np.median(run["invariant_drift"][:, 1:], axis=0),
        color=fp.RULE_COLORS["gd"],
        ls=ls,
        label=f"GD balancedness ZᵀZ − WWᵀ, η = {e:g}",
    )
run = cons["fa_star", max(eta_list)]
ax.plot(
    max(eta_list) * run.steps[1:],
    np.maximum(np.median(run["invariant_drift"][:, 1:], axis=0), 1e-17),
    color=fp.RULE_COLORS["fa_star"],
    lw=2.5,
    label=f"FA* (ours), η = {max(eta_list):g}",
)
ax.set(
    xscale="log",
    yscale="log",
    xlabel="continuous time η·t",
    ylabel="drift ‖C_t − C_0‖_F",
    title="Drift of the conserved quantity",
    ylim=(1e-17, None),
)
ax.legend(fontsize=8, loc="center right")
ax2.loglog(
    eta_list,
    final_drift,
    "o-",
    color=fp.RULE_COLORS["fa"],
    label=f"FA, fitted slope {drift_slope:.2f}",
)
ref = final_drift[-1] * np.asarray(eta_list) / eta_list[-1]
ax2.loglog(eta_list, ref, ":", color="0.3", label="slope 1 (O(η))")
ax2.set(
    xlabel="η", ylabel=f"median drift at η·t = {time_horizon:g}", title="FA's total drift is O(η)"
)
ax2.set_xticks(eta_list, [f"{e:g}" for e in eta_list], minor=False)
ax2.xaxis.set_minor_formatter(plt.NullFormatter())
ax2.legend()
fig.suptitle("The conservation law C = ZᵀZ − (WBᵀ + BWᵀ) (derivations R2)", y=1.02)
nb.show(fig, "conservation")

# %%
claims.check(
    "FA* conserves C = ZᵀZ − (WBᵀ+BWᵀ): max drift",
    cons["fa_star", max(eta_list)]["invariant_drift"].max(),
    "<",
    1e-10,
    about="alignment",
)
claims.check(
    "FA's total drift is O(η): fitted slope of log drift vs log η, lower end",
    drift_slope,
    ">",
    0.8,
    about="alignment",
)
claims.check(
    "FA's total drift is O(η): fitted slope of log drift vs log η, upper end",
    drift_slope,
    "<",
    1.2,
    about="alignment",
)
claims.record(
    final_drift_by_eta={f"{e:g}": float(d) for e, d in zip(eta_list, final_drift)},
    drift_slope=float(drift_slope),
)

# %% [markdown]
# ## 4. Alignment sets the rate
#
# V = ‖E Bᵀ‖²_F is a Lyapunov function for the FA flow (derivations R6). With F = E Bᵀ,
#
# dV/dt = −tr(F (W Bᵀ + B Wᵀ) Fᵀ) − 2‖ZᵀF‖² ≤ −λ_min(W Bᵀ + B Wᵀ) V.
#
# So V(t) ≤ V(t₀) exp(−∫ λ_min(W Bᵀ + B Wᵀ) dt), and a larger alignment means faster
# decay (`fa.theory.alignment_bound` is the discrete-time sum). We draw V for the median
# seed with the bound built from that seed's recorded λ_min, then measure the largest
# single-step *increase* of V at each η. R6 is a statement about the flow, and a
# discrete step need not obey it.
#
# **Checks that alignment drives convergence.** (i) At every η, every seed and every
# step above the rounding floor, V lies on or below its alignment bound. (ii) Across
# seeds, the decay of V over a common window is ranked like the integrated alignment
# η Σ λ_min(W Bᵀ + B Wᵀ) over it (Spearman's rank correlation), so the seeds that align
# more are the ones that converge faster.
#
# Below a relative error of 1e-16, E is computed from O(1) numbers that cancel, and V
# carries relative rounding of order 1e-8 or more. Increases there are noise, so they
# are excluded.

# %%
MONO_FLOOR = 1e-16
max_increase = {}
for e in eta_list:
    run = cons["fa", e]
    V = run["EBt_sq"]
    rise = np.diff(V, axis=1) / V[:, :-1]
    live = run.rel_error[:, 1:] > MONO_FLOOR
    max_increase[e] = float(np.max(np.where(live, rise, -np.inf)))

run = cons["fa", max(eta_list)]
V = run["EBt_sq"]
mid = int(np.argsort(V[:, -1])[len(V) // 2])
bound = fa.theory.alignment_bound(V[mid, 0], run["lam_min_WBt"][mid], max(eta_list))[0]
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.2))
t_cont = max(eta_list) * run.steps
ax.semilogy(t_cont, V[mid], color=fp.RULE_COLORS["fa"], label="V = ‖E Bᵀ‖² (median seed)")
ax.semilogy(t_cont, bound, color="0.2", ls="--", label="bound V₀ exp(−∫ λ_min(WBᵀ+BWᵀ) dt)")
ax.set(
    xlabel="continuous time η·t",
    ylabel="V",
    title=f"FA, η = {max(eta_list):g}: the decay follows the alignment",
    ylim=(1e-30, V[mid].max() * 10),
)
ax.legend()
for color, e in zip(greens, eta_list):
    r_e = cons["fa", e]
    ratio = r_e["EBt_sq"][:, 1:] / r_e["EBt_sq"][:, :-1]
    live = np.all(r_e.rel_error[:, 1:] > MONO_FLOOR, axis=0)
    ax2.plot(
        e * r_e.steps[1:][live],
        ratio[:, live].max(axis=0),
        color=color,
        label=f"η = {e:g}: largest rise {max(max_increase[e], 0):.1e}",
    )
ax2.axhline(1, color="k", lw=0.8, ls=":")
ax2.set(
    xlabel="continuous time η·t",
    ylabel="max over seeds of V_{t+1} / V_t",
    title=f"One-step ratio of V (above rel. error {MONO_FLOOR:g})",
)
ax2.legend(fontsize=8)
nb.show(fig, "lyapunov")
print({f"eta={e:g}": f"{v:.3g}" for e, v in max_increase.items()})

# %%
claims.check(
    f"‖EBᵀ‖² non-increasing at η = {min(eta_list):g} (zero init; largest relative one-step rise)",
    max_increase[min(eta_list)],
    "<=",
    1e-6,
    about="alignment",
    note=f"above relative error {MONO_FLOOR:g}; 1e-6 is V's relative rounding there",
)
above_bound, rank_corr = {}, {}
for e in eta_list:
    run_e = cons["fa", e]
    V_e = run_e["EBt_sq"]
    live = run_e.rel_error > MONO_FLOOR
    excess = np.log(V_e) - np.log(fa.theory.alignment_bound(V_e[:, 0], run_e["lam_min_WBt"], e))
    above_bound[e] = float(np.max(np.where(live, excess, -np.inf)))
    window = np.nonzero(np.all(live, axis=0))[0][-1]  # the last step every seed is above the floor
    decay = np.log(V_e[:, 0] / V_e[:, window])
    alignment = e * np.sum(2 * run_e["lam_min_WBt"][:, :window], axis=1)
    rank_corr[e] = fa.metrics.rank_correlation(decay, alignment)
claims.check(
    "alignment bound: max over η, seeds and steps of ln V − ln(bound) (V never decays slower)",
    max(above_bound.values()),
    "<=",
    1e-9,
    about="alignment",
)
claims.check(
    f"alignment ranks the decay across seeds: smallest Spearman correlation over η ∈ {eta_list}",
    min(rank_corr.values()),
    ">",
    0.8,
    about="alignment",
)
claims.record(
    max_increase_of_V_by_eta={f"{e:g}": v for e, v in max_increase.items()},
    log_excess_over_alignment_bound={f"{e:g}": v for e, v in above_bound.items()},
    decay_alignment_rank_correlation={f"{e:g}": v for e, v in rank_corr.items()},
)

# %% [markdown]
# ## 5. Over-parameterization, r > k: what the start does
#
# Write Z = U A + Z⊥, where Z⊥ is the part of Z outside col(Y). To reach zero error,
# the excess part must stop contributing:
#
# - **FA from zero has no excess at all.** Z_t stays inside col(Y Bᵀ), a k-dimensional
#   subspace of col(Y) (derivations R4, tested in `tests/test_engine.py`). The r − k extra units
#   are linear combinations of the others, so FA converges as fast as with r = k.
#   ZᵀZ then has rank k, so λ_min(sym W Bᵀ) ≈ 0: the overall alignment λ_min is *not*
#   what sets the rate here.
# - **From a small random start, Z⊥ ≠ 0 and must decay.** Under GD,
#   Z⊥ ← Z⊥ (I − η W Wᵀ), and W Wᵀ has only k large eigenvalues. Under FA,
#   Z⊥ ← Z⊥ (I − η W Bᵀ). W Bᵀ + B Wᵀ = ZᵀZ − C₀ − (drift) can then have a small or
#   even negative eigenvalue, because C₀ = Z₀ᵀZ₀ − (W₀Bᵀ + BW₀ᵀ) is O(start) with
#   either sign.
#
# We fit the linear-convergence rate −d ln(error)/d step of each run and record it. A
# negative rate means the error was *growing* at the end. These are measurements, not
# claims (derivations R7): only FA from zero reaches rounding level reliably here. From
# random starts, FA stalls or even grows for a while, because λ_min(sym W Bᵀ) can be
# negative when C₀ ≠ 0; the printed table and the results JSON give each rate.

# %%
over = {}
for r in r_list:
    for rule in ("gd", "fa"):
        inits = [
            init for init in overparam_inits if rule == "fa" or init > 0
        ]  # GD cannot leave the saddle at zero
        if not inits:
            continue
        batch = fa.train(
            well,
            r,
            rule,
            steps=overparam_steps,
            eta=eta,
            seeds=list(range(overparam_seeds)) * len(inits),
            init_scale=np.repeat(inits, overparam_seeds),
            feedback_scale=feedback_scale,
            tol=DONE,
            record=["lam_min_WBt", "lam_min_WWt"],
        )  # every start size as one batch: one seed per start
        over.update({(r, init, rule): run for init, run in zip(inits, batch.split(len(inits)))})
rates = []
for (r, init, rule), run in over.items():
    rates.append(
        dict(
            r=r,
            init=init,
            rule=rule,
            rate=float(np.median(fa.metrics.decay_rate(run.steps, run.rel_error))),
            final=float(np.median(run.rel_error[:, -1])),
            lam_min_WBt=float(np.median(run["lam_min_WBt"][:, -1])),
            lam_min_WWt=float(np.median(run["lam_min_WWt"][:, -1])),
        )
    )

inits_palette = dict(zip(overparam_inits, sns.color_palette("viridis", len(overparam_inits))))
fig, axes = plt.subplots(1, len(r_list) + 1, figsize=(5 * len(r_list) + 5, 4.2))
for ax, r in zip(axes, r_list):
    for init in overparam_inits:
        for rule, ls in (("gd", "--"), ("fa", "-")):
            if (r, init, rule) in over:
                run = over[r, init, rule]
                ax.plot(
                    run.steps[1:],
                    np.maximum(np.median(run.rel_error[:, 1:], axis=0), FLOOR),
                    ls=ls,
                    color=inits_palette[init],
                    label=f"{fp.RULE_LABELS[rule]}, start {init:g}",
                )
    ax.set(
        xscale="log", yscale="log", xlabel="step", title=f"r = {r} (k = {k})", ylim=(FLOOR / 10, 10)
    )
axes[0].set_ylabel("median relative error")
axes[0].legend(fontsize=7, loc="lower left")
ax = axes[-1]
width = 0.8 / (2 * len(overparam_inits))
for _j, row in enumerate(rates):
    pos = (
        r_list.index(row["r"])
        + (overparam_inits.index(row["init"]) * 2 + (row["rule"] == "fa")) * width
        - 0.4
    )
    ax.bar(
        pos,
        row["rate"],
        width=width,
        color=inits_palette[row["init"]],
        hatch="" if row["rule"] == "fa" else "//",
        edgecolor="k",
        linewidth=0.4,
    )
ax.axhline(0, color="k", lw=0.6)
ax.set(
    xticks=range(len(r_list)),
    xticklabels=[f"r = {r}" for r in r_list],
    yscale="symlog",
    ylabel="fitted rate −d ln(err)/d step",
    title="Rates at the end (hatched: GD; colour: start)",
)
ax.yaxis.set_major_formatter(plt.matplotlib.ticker.LogFormatterSciNotation())
ax.set_yscale("symlog", linthresh=1e-6)
fig.suptitle(
    f"Over-parameterization: from zero FA is as fast as r = k; from small random starts both rules crawl  (η = {eta})",
    y=1.03,
)
nb.show(fig, "overparameterization")
for row in rates:
    print(
        f"r={row['r']:>3}  start={row['init']:<6g} {row['rule']:>3}: final {row['final']:.2e}, rate {row['rate']:+.2e}/step, "
        f"λ_min(sym WBᵀ) {row['lam_min_WBt']:+.2e}, λ_min(WWᵀ) {row['lam_min_WWt']:.2e}"
    )

# %%
for r in r_list:  # claim 1 for FA from zero at every r ≥ k, on this section's runs
    claims.check(
        f"linear convergence, worst seed: r = {r}, zero init / fa",
        over[r, 0.0, "fa"].rel_error[:, -1].max(),
        "<",
        1e-10,
    )
claims.record(overparam_rates=rates)

# %% [markdown]
# ## 6. Speed against the scale of B
#
# The number of steps to reach relative error `speed_threshold` on the ill-conditioned
# target, as distributions over seeds. FA's limit depends only on row(B), but its speed
# grows with B's scale. A few seeds are very slow, because B V_k is ill-conditioned.
# Runs that do not reach the threshold within the budget are drawn at the top as ×.
# GD does not use B, so it appears once, as a reference.

# %%
speed_seeds = max(n_seeds, 30) if not quick else n_seeds
record_grid = np.arange(0, speed_steps + 1, 10)
hits = {}
for sc in scale_list:
    try:
        run = fa.train(
            ill,
            k,
            "fa",
            steps=speed_steps,
            eta=eta,
            seeds=speed_seeds,
            init_scale=init_scale,
            feedback_scale=sc,
            record_at=record_grid,
            tol=speed_threshold,
        )
        hits[sc] = fa.metrics.first_hit(run.steps, run.rel_error, speed_threshold)
    except fa.DivergenceError as exc:  # reported, not hidden
        print(f"feedback_scale={sc}: {exc}")
        hits[sc] = np.full(speed_seeds, np.nan)
run = fa.train(
    ill,
    k,
    "gd",
    steps=speed_steps,
    eta=eta,
    seeds=speed_seeds,
    init_scale=init_scale,
    record_at=record_grid,
    tol=speed_threshold,
)
hits_gd = fa.metrics.first_hit(run.steps, run.rel_error, speed_threshold)

fig, ax = plt.subplots(figsize=(9, 4.4))
labels = [f"{sc:g}" for sc in hits] + ["GD"]
data = list(hits.values()) + [hits_gd]
for i, (lab, h) in enumerate(zip(labels, data)):
    color = fp.RULE_COLORS["gd"] if lab == "GD" else fp.RULE_COLORS["fa"]
    ok = np.isfinite(h)
    jitter = np.random.default_rng(i).uniform(-0.15, 0.15, h.size)
    ax.scatter(i + jitter[ok], h[ok], s=12, color=color, alpha=0.6)
    ax.scatter(i + jitter[~ok], np.full((~ok).sum(), speed_steps * 1.5), marker="x", color=color)
    if ok.any():
        ax.hlines(
            np.median(h[ok]) if ok.mean() > 0.5 else np.nan, i - 0.3, i + 0.3, color="k", lw=2
        )
ax.axhline(speed_steps, color="0.4", lw=0.8, ls=":")
ax.set(
    xticks=range(len(labels)),
    xticklabels=labels,
    yscale="log",
    xlabel="feedback scale (row norm of B)",
    ylabel=f"steps to relative error {speed_threshold:g}",
    title=f"FA's speed grows with the scale of B  (κ = {kappa_ill:g}, r = k = {k}, η = {eta}, {speed_seeds} seeds; bar = median)",
)
nb.show(fig, "speed_vs_feedback_scale")
speed_median = {f"{sc:g}": float(np.median(h)) for sc, h in hits.items()}
print("median steps:", speed_median, " GD:", float(np.median(hits_gd)))

# %%
claims.record(
    speed_median_steps_fa_by_scale=speed_median,
    speed_median_steps_gd=float(np.median(hits_gd)),
    speed_fraction_not_reached={
        f"{sc:g}": float(np.mean(~np.isfinite(h))) for sc, h in hits.items()
    },
)

# %% [markdown]
# ## Summary of the checks
#
# Every check above, with its value and threshold, is written to
# `results/convergence.json`. If any fails, the notebook fails.

# %%
nb.finish()
