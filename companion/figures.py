"""Plotting helpers: one readable style and byte-stable figure files.

This is the only fa_core module that imports matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from .atomic import written_whole

RULE_COLORS = {"gd": "#1b6ca8", "fa": "#d1495b", "fa_star": "#edae49", "opt": "#444444"}
RULE_LABELS = {"gd": "GD", "fa": "FA", "fa_star": "FA* (ours)"}
RULE_LINES = {"fa_star": (0, (4, 2))}  # FA* nearly coincides with FA: dashed, so both show


# One type scale for every figure, in points at the saved size: the figure's title, each
# panel's title, axis labels, then tick labels, legends and annotations. Nothing a reader
# must read is smaller than SMALL.
FONT_SIZES = {"suptitle": 14, "title": 12, "label": 12, "tick": 11, "legend": 11, "small": 10}


def use_style() -> None:
    """A clean, print-friendly theme with one type scale (``FONT_SIZES``) and fixed metadata."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.0)
    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "font.size": FONT_SIZES["label"],
            "figure.titlesize": FONT_SIZES["suptitle"],
            "figure.titleweight": "bold",
            "axes.titlesize": FONT_SIZES["title"],
            "axes.titleweight": "bold",
            "axes.labelsize": FONT_SIZES["label"],
            "xtick.labelsize": FONT_SIZES["tick"],
            "ytick.labelsize": FONT_SIZES["tick"],
            "legend.fontsize": FONT_SIZES["legend"],
            "legend.title_fontsize": FONT_SIZES["legend"],
            "legend.frameon": False,
            "svg.hashsalt": "fa-companion",
            "pdf.compression": 6,
        }
    )


_NO_STAMPS = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def save(fig, stem: str | Path, *, pdf: bool = True, show: bool = False) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` with no timestamps or version stamps.

    Files are written to a temporary name and renamed, so an interrupted run
    never leaves a truncated figure. With ``show``, the notebook displays that
    very PNG (at the on-screen size of ``figure.dpi``) and the figure is
    closed: it is drawn once for the file, not again for the screen.
    """
    stem = Path(stem)
    formats = ("png", "pdf") if pdf else ("png",)
    bbox = tight_bbox(fig) if len(formats) > 1 else "tight"
    paths = []
    for ext in formats:
        path = stem.with_suffix(f".{ext}")
        with written_whole(path) as tmp:
            fig.savefig(tmp, format=ext, metadata=_NO_STAMPS[ext], bbox_inches=bbox)
        paths.append(path)
    if show:
        _display_png(paths[0], alt_text(fig, stem.name))
        plt.close(fig)
    return paths


def tight_bbox(fig):
    """The figure's tight bounding box (inches, padded as ``savefig.pad_inches``), from one layout pass.

    ``savefig(bbox_inches="tight")`` lays the figure out once more for every
    file it writes; the PNG and the PDF share this box instead.
    """
    fig.draw_without_rendering()
    return fig.get_tightbbox(fig.canvas.get_renderer()).padded(mpl.rcParams["savefig.pad_inches"])


def alt_text(fig, name: str) -> str:
    """A description of ``fig`` for readers who cannot see it: its name, then each panel's title, axes and legend."""
    panels = []
    for ax in fig.axes:
        if not ax.has_data():
            continue  # colour bars and empty panels
        axes = " against ".join(label for label in (ax.get_ylabel(), ax.get_xlabel()) if label)
        legend = ax.get_legend()
        keys = ", ".join(t.get_text() for t in legend.get_texts()) if legend else ""
        panel = "; ".join(
            part for part in (ax.get_title(), axes, keys and f"legend: {keys}") if part
        )
        panels.append(panel or "an unlabelled panel")
    title = fig.get_suptitle()
    return (
        f"Figure {name.replace('_', ' ')}"
        + (f": {title}" if title else "")
        + "".join(f". Panel {i}: {panel}" for i, panel in enumerate(panels, 1))
    )


def _display_png(path: Path, alt: str) -> None:
    """Show a saved PNG in the running notebook, at the size the inline backend would draw it; nothing outside IPython."""
    from IPython import get_ipython

    if get_ipython() is None:
        return
    from IPython.display import Image, display

    data = path.read_bytes()
    width = (
        int.from_bytes(data[16:20], "big")
        * mpl.rcParams["figure.dpi"]
        / mpl.rcParams["savefig.dpi"]
    )  # IHDR width
    display(Image(data=data, format="png", width=round(width), alt=alt))


def quantile_band(
    ax, x, Y, color: str, label: str | None = None, q=(0.25, 0.75), log: bool = True, **kw
):
    """Median over seeds (axis 0 of Y) with a shaded inter-quantile band.

    With ``log=True`` the quantiles are taken of log10(Y), so a band of
    errors spanning decades is drawn symmetrically.
    """
    Y = np.asarray(Y, dtype=float)
    T = np.log10(np.maximum(Y, np.finfo(float).tiny)) if log else Y
    lo, med, hi = np.quantile(T, [q[0], 0.5, q[1]], axis=0)
    if log:
        lo, med, hi = 10**lo, 10**med, 10**hi
    ax.plot(x, med, color=color, label=label, **kw)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
    return med


def rule_style(rule: str) -> dict:
    """Colour, legend label and line style of a rule."""
    return {
        "color": RULE_COLORS.get(rule, "k"),
        "label": RULE_LABELS.get(rule, rule),
        "ls": RULE_LINES.get(rule, "-"),
    }


def annotate_floor(ax, y: float, text: str) -> None:
    """A thin horizontal reference line with a label at its right end."""
    ax.axhline(y, color="0.4", lw=0.8, ls=":")
    ax.annotate(
        text,
        xy=(1, y),
        xycoords=("axes fraction", "data"),
        xytext=(-4, 3),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=FONT_SIZES["small"],
        color="0.3",
    )


def rule_band(ax, x, Y, rule: str, label: str | None = None, **kw):
    """:func:`quantile_band` in a rule's colour and line style, labelled with the rule unless ``label`` is given."""
    st = rule_style(rule)
    return quantile_band(
        ax, x, Y, st["color"], st["label"] if label is None else label, ls=st["ls"], **kw
    )


def strip(ax, i: float, values, color, s: float = 12, half: float = 0.3, **bar):
    """One value per seed as a jittered strip at x = i, with a black bar at the median.

    ``half`` is the bar's half-width; ``bar`` goes to ``ax.hlines`` (e.g. ``lw``).
    """
    values = np.asarray(values, dtype=float)
    ax.scatter(
        np.full(values.size, i) + np.linspace(-0.15, 0.15, values.size), values, s=s, color=color
    )
    ax.hlines(np.median(values), i - half, i + half, color="k", **bar)
