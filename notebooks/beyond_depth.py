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
# # Beyond the paper: does depth change the picture? Y ≈ Z₁ Z₂ Z₃
#
# *This notebook goes beyond the paper's claims.*
#
# **Question.** In a deeper linear factorization, is the first layer's range still pinned
# to a random sketch of Y, as with two layers (derivations R4)? And does FA or DFA still
# stop far from the optimum when r < rank(Y)?
#
# **Rules** (`fa_core.train_deep`, dense engine):
#
# - **Backprop:** Z_l += η P_{l−1}ᵀ E (Z_{l+1}⋯Z_L)ᵀ.
# - **Layer-wise FA** (Lillicrap et al. 2016): the same, with fixed random B_j in place
#   of Z_j in the backward pass.
# - **DFA** (Nøkland 2016): the output error goes to each hidden layer through its own
#   fixed random D_l.
#
# **Derivation.** From zero init, the first layer's update is E Gᵀ with G = B₂B₃ (FA)
# or D₁ (DFA). Then E Gᵀ = Y Gᵀ − Z₁(Z₂Z₃Gᵀ), which lies in col(YGᵀ) + col(Z₁). So
# col(Z₁) ⊂ col(Y Gᵀ) forever, exactly as for two layers. Since B₂ is invertible
# (almost surely), col(Y(B₂B₃)ᵀ) = col(Y B₃ᵀ): only the last feedback matrix matters.
# With our seed streams, DFA's D₁ is the same draw as FA's B₃, so the two stop at
# *identical* errors. We check both the pinning and the limit, ‖(I − P)Y‖² with P
# onto col(Y Gᵀ).

# %% tags=["parameters"]
n = 120  # rows of Y
m = 100  # columns of Y
head = 5  # large singular values (at 1)
tail = 20  # small singular values
tail_level = 0.1  # size of the tail singular values
r = 5  # width of every hidden layer, fewer than rank(Y)
depth = 3  # number of factors L
eta = 0.1  # step size
steps = 5000  # training steps
n_seeds = 10  # seeds per rule
bp_init = 0.3  # backprop random start (from 0.05 a seed was still on a saddle after 5000 steps); FA, DFA start at zero
seed = 0  # master seed for the target
quick = False  # a smoke test at the tiny sizes of quick/beyond_depth.yaml (make with QUICK set)
build_dir = "../build/interactive"  # figures/ and results/ are written here

# %%
import matplotlib.pyplot as plt
import numpy as np

import fa_core as fa
from companion import figures as fp
from companion.notebook import start

nb = start("beyond_depth", globals())
target = fa.make_target(
    fa.head_tail_spectrum(head, tail, tail_level), n, m, rng=fa.streams(seed)["target"]
)
opt = fa.optimal_error(target, r)
top = np.broadcast_to(fa.theory.top_singular_subspace(target, r), (n_seeds, n, r))
runs = {
    rule: fa.train_deep(
        target,
        r,
        rule,
        depth=depth,
        steps=steps,
        eta=eta,
        seeds=n_seeds,
        init_scale=bp_init if rule == "gd" else 0.0,
    )
    for rule in ("gd", "fa", "dfa")
}


limits = {
    rule: fa.fa_limit_error(target, runs[rule].B) for rule in ("fa", "dfa")
}  # B: B₂⋯B_L (FA) or D₁ (DFA)
pinned = {
    rule: fa.principal_angles(runs[rule].layers[0], fa.theory.sketch(target.Y, runs[rule].B)).max()
    for rule in limits
}
overlap = {rule: fa.subspace_overlap(run.layers[0], top) for rule, run in runs.items()}

# %% [markdown]
# ## Error curves and where each rule stops
#
# **Left.** Error / OPT over training, with medians and interquartile bands. The dotted
# line is FA's predicted plateau (the median of ‖(I − P)Y‖²/OPT over seeds).
# **Right.** Per seed, the overlap of the first layer's range with the top-r singular
# subspace. It is 1 for backprop and well below 1 for FA and DFA.

# %%
styles = {
    "gd": dict(color=fp.RULE_COLORS["gd"], label="backprop"),
    "fa": dict(color=fp.RULE_COLORS["fa"], label="layer-wise FA"),
    "dfa": dict(color="C4", label="DFA", ls=(0, (4, 2))),
}
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(14, 4.6))
for rule, run in runs.items():
    st = styles[rule]
    fp.quantile_band(
        ax, run.steps[1:], run.error[:, 1:] / opt, st["color"], st["label"], ls=st.get("ls", "-")
    )
ax.axhline(
    np.median(limits["fa"] / opt),
    color="k",
    ls=":",
    lw=1,
    label="predicted plateau ‖(I − P)Y‖² / OPT",
)
ax.axhline(1, color="0.5", lw=0.8)
ax.set(
    xscale="log",
    yscale="log",
    xlabel="step",
    ylabel="error / OPT_r",
    title=f"Depth {depth}: FA and DFA still stop far from the optimum",
)
ax.legend(fontsize="small")
for i, rule in enumerate(runs):
    vals = overlap[rule]
    fp.strip(ax2, i, vals, styles[rule]["color"], s=14)
ax2.set(
    xticks=range(len(runs)),
    xticklabels=[styles[r_]["label"] for r_ in runs],
    ylim=(0, 1.05),
    ylabel=f"overlap of col(Z₁) with the top-{r} subspace",
    title="The first layer's range (bar = median)",
)
fig.suptitle(
    f"Beyond the paper: Y ≈ Z₁⋯Z_{depth}, r = {r} < rank(Y) = {target.k}  (η = {eta}, {n_seeds} seeds)",
    y=1.03,
)
nb.show(fig, "depth")
for rule, run in runs.items():
    print(
        f"{styles[rule]['label']:>14}: error/OPT median {np.median(run.error[:, -1] / opt):.4f}, "
        f"overlap median {np.median(overlap[rule]):.3f}"
        + (f", col(Z₁) vs sketch max angle {pinned[rule]:.1e} rad" if rule in pinned else "")
    )

# %% [markdown]
# ## Checks

# %%
sv = np.linalg.svd(
    fa.streams(seed, names=("target", "draws"))["draws"].standard_normal((10000, r, r)),
    compute_uv=False,
)
tail_estimate = float(
    np.median(fa.theory.head_tail_estimate(sv, tail, tail_level))
)  # the head-tail estimate, r = head
claims = nb.claims
claims.check(
    "backprop reaches the Eckart–Young optimum (max relative difference)",
    float(np.max(np.abs(runs["gd"].error[:, -1] - opt) / opt)),
    "<",
    1e-6,
    kind="law",
)
for rule in ("fa", "dfa"):
    claims.check(
        f"{rule.upper()}: first layer's range stays in col(Y Gᵀ) (max principal angle, rad)",
        pinned[rule],
        "<",
        1e-8,
        kind="law",
    )
    claims.check(
        f"{rule.upper()}: error equals the projection onto that sketch (max relative difference)",
        float(np.max(np.abs(runs[rule].error[:, -1] - limits[rule]) / limits[rule])),
        "<",
        1e-6,
        kind="consistency",
    )
    claims.check(
        f"{rule.upper()}: the separation persists at depth {depth}: median error / OPT within a "
        "factor 2 of the head-tail estimate (|ln(median / estimate)|, two-sided)",
        abs(np.log(np.median(runs[rule].error[:, -1] / opt) / tail_estimate)),
        "<",
        np.log(2.0),
        note=f"head-tail estimate {tail_estimate:.2f} from an independent sample of r×r Gaussians (see the separation notebook)",
        kind="law",
    )
claims.check(
    "FA and DFA stop at identical errors (same last-layer sketch; max relative difference)",
    float(
        np.max(np.abs(runs["fa"].error[:, -1] - runs["dfa"].error[:, -1]) / runs["fa"].error[:, -1])
    ),
    "<",
    1e-9,
    kind="consistency",
)
claims.record(
    tail_estimate=tail_estimate,
    median_ratio={rule: float(np.median(run.error[:, -1] / opt)) for rule, run in runs.items()},
    median_overlap={rule: float(np.median(v)) for rule, v in overlap.items()},
)
nb.finish()
