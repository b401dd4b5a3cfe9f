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
# # Beyond the paper: does the picture survive nonlinearity?
#
# *This notebook goes beyond the paper's claims. The theory of the paper is for
# linear networks; here we only measure.*
#
# **Set-up: student and teacher, the slides' general case.**
#
# - Inputs x ~ N(0, I_n).
# - The teacher has k hidden units: y = W*ᵀ σ(Z*ᵀx), with orthonormal Z* and Gaussian
#   W*, scaled so that the mean ‖y‖² is 1.
# - The student x → Wᵀσ(Zᵀx) has r < k units, with σ = tanh or ReLU, and is trained on
#   N samples (`fa.train_network(..., activation=)`).
# - GD is backprop. FA sends the output error through a fixed random Bᵀ instead of
#   Wᵀ, then through σ′.
#
# **Questions, measured over ≥ 10 seeds.**
#
# 1. Does FA stop above GD, as in the linear separation (r < k)? We measure FA's
#    training and test error against GD's on the same data and the same start.
# 2. Do the two learn different representations? We measure the overlap of col(Z_GD)
#    and col(Z_FA), both against the random baseline r/n and inside the teacher's span.
#
# Both rules start from the same small random point (ReLU cannot start at zero). The
# checks first confirm that the runs are near their limits, so we compare limits rather
# than speeds.

# %% tags=["parameters"]
n = 30  # input dimension
m = 8  # output dimension
k = 12  # teacher's hidden units
r = 3  # student's hidden units (fewer than the teacher's)
N = 1000  # training samples (a fresh set of the same size is the test set)
activations = ["tanh", "relu"]  # hidden nonlinearities to test
eta = 0.2  # step size (mean loss; targets have mean squared norm 1)
steps = 3000  # full-batch training steps
n_seeds = 10  # seeds (Z₀, W₀, B) per rule
init_scale = 0.3  # norm of each unit's initial weights, for both rules
seed = 0  # master seed for teacher and data
quick = False  # a smoke test at the tiny sizes of quick/beyond_nonlinear.yaml (make with QUICK set)
build_dir = "../build/interactive"  # figures/ and results/ are written here

# %%
import matplotlib.pyplot as plt
import numpy as np

import fa_core as fa
from companion import figures as fp
from companion.notebook import start

nb = start("beyond_nonlinear", globals())
if not 1 <= r < k <= n:
    raise ValueError(
        f"need 1 <= r < k <= n for a student smaller than the teacher; got r={r}, k={k}, n={n}"
    )
g = fa.streams(seed, names=("teacher", "data", "test"))
Z_star = fa.linalg.haar_orthonormal(g["teacher"], n, k)
W_star = g["teacher"].standard_normal((k, m)) / np.sqrt(k)
X, X_test = g["data"].standard_normal((N, n)), g["test"].standard_normal((N, n))
teacher_span = np.broadcast_to(Z_star, (n_seeds, n, k))

results = {}
for act in activations:
    sigma = fa.network.ACTIVATIONS[act][0]
    scale = np.sqrt(np.sum((sigma(X @ Z_star) @ W_star) ** 2) / N)
    T, T_test = sigma(X @ Z_star) @ W_star / scale, sigma(X_test @ Z_star) @ W_star / scale
    runs = {
        rule: fa.train_network(
            X,
            T,
            r,
            rule,
            steps=steps,
            eta=eta,
            seeds=n_seeds,
            init_scale=init_scale,
            activation=act,
            record=["grad_angle"],
            progress=True,
        )
        for rule in ("gd", "fa")
    }
    test = {
        rule: np.sum((T_test - sigma(X_test @ run.Z) @ run.W) ** 2, axis=(1, 2)) / N
        for rule, run in runs.items()
    }
    i80 = np.searchsorted(runs["gd"].steps, 0.8 * steps)
    results[act] = dict(
        runs=runs,
        test=test,
        ratio=runs["fa"].error[:, -1] / runs["gd"].error[:, -1],
        test_ratio=test["fa"] / test["gd"],
        overlap=fa.subspace_overlap(runs["gd"].Z, runs["fa"].Z),
        in_teacher={rule: fa.subspace_overlap(run.Z, teacher_span) for rule, run in runs.items()},
        change=max(
            float(np.max(np.abs(run.error[:, -1] - run.error[:, i80]) / run.error[:, -1]))
            for run in runs.values()
        ),
    )
    res = results[act]
    print(
        f"{act}: FA/GD train {np.median(res['ratio']):.3f} (min {res['ratio'].min():.3f}), test {np.median(res['test_ratio']):.3f}; "
        f"overlap GD–FA {np.median(res['overlap']):.3f} (random r/n = {r / n:.3f}); "
        f"inside the teacher's span: GD {np.median(res['in_teacher']['gd']):.3f}, FA {np.median(res['in_teacher']['fa']):.3f}"
    )

# %% [markdown]
# ## Errors, representations and the angle of FA's update
#
# - **Left.** Training error over steps (median, IQR), GD against FA, for each
#   nonlinearity.
# - **Middle.** Per seed, FA's error divided by GD's, on the training set and on a
#   fresh test set.
# - **Right.** Per seed, the overlap ‖Q_GDᵀ Q_FA‖²/r of the two first layers. The
#   dotted line is a random r-subspace of the input space (r/n). The dashed line is a
#   random r-subspace of the teacher's k-dimensional span (r/k), where both
#   representations lie almost entirely.

# %%
fig, axes = plt.subplots(1, 3, figsize=(18, 4.6))
line = {"tanh": "-", "relu": "--"}
for act, res in results.items():
    for rule, run in res["runs"].items():
        st = fp.rule_style(rule)
        fp.quantile_band(
            axes[0],
            run.steps[1:],
            run.error[:, 1:],
            st["color"],
            f"{st['label']}, {act}",
            ls=line[act],
        )
axes[0].set(
    xscale="log",
    yscale="log",
    xlabel="step",
    ylabel="training error ‖T − σ(XZ)W‖²/N",
    title="Training",
)
axes[0].legend(fontsize="small")
for j, (_act, res) in enumerate(results.items()):
    for dx, key, marker in ((-0.12, "ratio", "o"), (0.12, "test_ratio", "s")):
        vals = res[key]
        axes[1].scatter(
            np.full(vals.size, j) + dx,
            vals,
            marker=marker,
            s=18,
            color=fp.RULE_COLORS["fa"],
            label=("train" if key == "ratio" else "test") if j == 0 else None,
        )
    axes[2].scatter(np.full(n_seeds, j), res["overlap"], s=18, color="C0")
    axes[2].hlines(np.median(res["overlap"]), j - 0.25, j + 0.25, color="k")
axes[1].axhline(1, color="k", lw=0.8)
axes[1].set(
    xticks=range(len(results)),
    xticklabels=list(results),
    ylabel="FA error / GD error",
    title="FA stops above GD (per seed)",
)
axes[1].legend()
axes[2].axhline(r / n, color="0.4", ls=":", label="random in input space (r/n)")
axes[2].axhline(r / k, color="0.4", ls="--", label="random in the teacher's span (r/k)")
axes[2].set(
    xticks=range(len(results)),
    xticklabels=list(results),
    ylim=(0, 1.05),
    ylabel="‖Q_GDᵀ Q_FA‖²_F / r",
    title="Overlap of the two representations",
)
axes[2].legend(fontsize="small")
fig.suptitle(
    f"Beyond the paper: nonlinear student (r = {r}) and teacher (k = {k}), n = {n}, N = {N}, {n_seeds} seeds",
    y=1.03,
)
nb.show(fig, "nonlinear")

# %% [markdown]
# ## Checks
#
# These record *measured answers*, not theorems. If a change of parameters makes one
# fail, the question has a different answer there, and the notebook says so loudly.

# %%
claims = nb.claims
for act, res in results.items():
    claims.check(
        f"{act}: runs are near their limits (max relative change over the last 20% of steps)",
        res["change"],
        "<",
        0.01,
        kind="consistency",
    )
    claims.check(
        f"{act}: FA's training error exceeds GD's on every seed (min FA/GD)",
        res["ratio"].min(),
        ">",
        1.0,
        kind="law",
    )
    claims.check(
        f"{act}: FA's test error exceeds GD's (median FA/GD)",
        np.median(res["test_ratio"]),
        ">",
        1.0,
        kind="law",
    )
    claims.check(
        f"{act}: the two representations differ (median overlap GD–FA)",
        np.median(res["overlap"]),
        "<",
        0.9,
        kind="law",
    )
claims.record(
    **{
        f"{act}_median": dict(
            train_ratio=float(np.median(res["ratio"])),
            test_ratio=float(np.median(res["test_ratio"])),
            overlap=float(np.median(res["overlap"])),
            in_teacher_gd=float(np.median(res["in_teacher"]["gd"])),
            in_teacher_fa=float(np.median(res["in_teacher"]["fa"])),
        )
        for act, res in results.items()
    }
)
nb.finish()
