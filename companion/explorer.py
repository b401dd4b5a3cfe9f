"""The computation behind ``notebooks/explore.py``: one call per redraw.

:func:`explore` trains GD and the chosen rule on one target and returns every
curve the explorer draws, with the closed-form limits beside them;
:func:`draw` turns that into a figure. The notebook only wires widgets to
them, and ``tests/test_explorer.py`` calls them directly for a grid of widget
values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import fa_core as fa

from . import figures

SPECTRA = {  # name -> spectrum of rank k (largest value 1), given k and the number of units r
    "flat": lambda k, r: np.ones(k),
    "geometric (κ = 10)": lambda k, r: fa.low_rank_spectrum(k, 10.0),
    "1/i": lambda k, r: fa.power_spectrum(k, 1.0),
    "head + tail (r at 1, the rest at 0.1)": lambda k, r: (
        fa.head_tail_spectrum(r, k - r, 0.1) if k > r else np.ones(k)
    ),
}


# Rules whose Z-update vanishes at Z = W = 0 without a feedback term: they need a random start.
SADDLE_AT_ZERO = ("gd", "sign_symmetry", "gd + weight decay")
# Every rule of fa_core: the registry, and the two that take a weight decay λ.
RULE_NAMES = [*fa.RULES, "kolen_pollack", "fa + weight decay", "gd + weight decay"]


def make_rule(name: str, lam: float):
    """The Rule behind a menu entry."""
    if name == "kolen_pollack":
        return fa.kolen_pollack(lam)
    if name.endswith(" + weight decay"):
        return fa.with_weight_decay(name.split()[0], lam)
    if name not in fa.RULES:
        raise ValueError(f"rule must be one of {RULE_NAMES}; got {name!r}")
    return fa.RULES[name]


@dataclass
class Exploration:
    """Everything one redraw shows."""

    rule: str
    steps: np.ndarray
    rel_error: dict  # rule name -> (S, T) relative errors of the runs
    opt: float  # Eckart–Young optimum, relative
    fa_limit: (
        np.ndarray | None
    )  # FA's closed-form limit per seed, relative (feedback rules from zero only)
    cos_WB: np.ndarray  # (S, T) alignment of the explored rule
    angles_deg: np.ndarray  # (S, min(r, k)) principal angles between GD's and the rule's Z
    message: str = ""  # why the rule's run stopped early (divergence), if it did


def spectrum(name: str, k: int, r: int) -> np.ndarray:
    if name not in SPECTRA:
        raise ValueError(f"spectrum must be one of {list(SPECTRA)}; got {name!r}")
    return SPECTRA[name](k, r)


@functools.lru_cache(maxsize=16)
def baseline(
    n: int,
    m: int,
    k: int,
    r: int,
    spectrum_name: str,
    eta: float,
    init_scale: float,
    feedback_scale: float,
    seeds: int,
    steps: int,
    seed: int,
) -> tuple[fa.Target, fa.Run]:
    """The target and GD's run on it. Neither depends on the explored rule, so a redraw for
    another rule (or λ) reuses them; treat both as read-only."""
    target = fa.make_target(spectrum(spectrum_name, k, r), n, m, rng=fa.streams(seed)["target"])
    return target, fa.train(
        target,
        r,
        "gd",
        steps=steps,
        eta=eta,
        seeds=seeds,
        init_scale=init_scale,
        feedback_scale=feedback_scale,
    )


def explore(
    rule: str = "fa",
    n: int = 60,
    m: int = 40,
    k: int = 10,
    r: int = 5,
    spectrum_name: str = "1/i",
    eta: float = 0.1,
    init_scale: float = 0.0,
    feedback_scale: float = 1.0,
    seeds: int = 8,
    steps: int = 3000,
    lam: float = 0.01,
    seed: int = 0,
) -> Exploration:
    """Train GD (from a small random start) and ``rule`` (from ``init_scale``) on one target, with the limits.

    The rule runs on the exact reduced engine where it can (every rule but sign
    symmetry). A rule that diverges (linear DRTP does) is reported in ``message``.
    """
    rule_ = make_rule(rule, lam)
    target, gd = baseline(
        n, m, k, r, spectrum_name, eta, max(init_scale, 1e-2), feedback_scale, seeds, steps, seed
    )
    norm = target.sq_norm
    opt = fa.optimal_error(target, r) / norm
    note = ""
    if init_scale == 0.0 and rule in SADDLE_AT_ZERO:
        init_scale, note = 1e-2, f"{rule} starts at init_scale 0.01: zero is a saddle for it"
    try:
        run = fa.train(
            target,
            r,
            rule_,
            steps=steps,
            eta=eta,
            seeds=seeds,
            init_scale=init_scale,
            feedback_scale=feedback_scale,
            record=["cos_WB"],
        )
    except fa.DivergenceError as exc:
        empty = np.full((seeds, 1), np.nan)
        return Exploration(
            rule, gd.steps, {"gd": gd.rel_error}, opt, None, empty, np.zeros((seeds, 0)), str(exc)
        )
    limit = None
    if (
        rule in ("fa", "fa_star", "dfa") and init_scale == 0.0
    ):  # from zero, FA stops at the projection onto col(YBᵀ)
        limit = fa.fa_limit_error(target, run.start.B) / norm
    angles = np.degrees(fa.principal_angles(gd.Z, run.Z))  # NaN past each seed's rank
    return Exploration(
        rule,
        run.steps,
        {"gd": gd.rel_error, rule: run.rel_error},
        opt,
        limit,
        run["cos_WB"],
        angles[:, ~np.all(np.isnan(angles), axis=0)],  # only the angles some seed has
        note,
    )


def draw(result: Exploration, fig=None):
    """Error curves against the limits, alignment, and the GD-vs-rule principal angles."""
    import matplotlib.pyplot as plt

    figures.use_style()
    fig = fig or plt.figure(figsize=(15, 4.2))
    fig.clear()
    ax, ax2, ax3 = fig.subplots(1, 3)
    floor = 1e-30
    for name, err in result.rel_error.items():
        figures.rule_band(
            ax,
            result.steps[1:],
            np.maximum(err[:, 1:], floor),
            name if name in figures.RULE_COLORS else "fa",
            label=figures.RULE_LABELS.get(name, name),
        )
    if result.opt > 0:
        figures.annotate_floor(ax, result.opt, "optimum (Eckart–Young)")
    if result.fa_limit is not None:
        figures.annotate_floor(
            ax, float(np.median(result.fa_limit)), "FA's limit ‖(I − P)Y‖² (median)"
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="step",
        ylabel="relative error",
        ylim=(floor, 10),
        title=result.message[:60] + "…" if result.message else "Error against the limits",
    )
    ax.legend(fontsize="small")
    if result.cos_WB.shape[1] > 1:
        figures.rule_band(
            ax2,
            result.steps[1:],
            result.cos_WB[:, 1:],
            result.rule if result.rule in figures.RULE_COLORS else "fa",
            log=False,
        )
    ax2.set(
        xscale="log", xlabel="step", ylabel="cos(W, B)", title="Alignment of W with the feedback"
    )
    for i in range(result.angles_deg.shape[1]):
        ax3.scatter(
            np.full(result.angles_deg.shape[0], i), result.angles_deg[:, i], s=12, color="C0"
        )
    ax3.set(
        ylim=(0, 92),
        xlabel="principal angle index",
        ylabel="degrees",
        title=f"GD's Z vs {figures.RULE_LABELS.get(result.rule, result.rule)}'s Z",
    )
    fig.tight_layout()
    return fig
