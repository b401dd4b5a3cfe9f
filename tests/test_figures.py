"""The figures' one style: a readable, ranked type scale."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from companion import figures  # noqa: E402

SMALLEST_POINTS = 9  # at the saved size: anything smaller is unreadable in a multi-panel figure


@pytest.fixture
def two_panels():
    figures.use_style()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax in axes:
        ax.plot([1, 2, 3], [3, 1, 2], label="FA")
        ax.plot([1, 2, 3], [1, 2, 3], label="GD")
        ax.set(title="panel", xlabel="step")
        ax.legend()
    axes[0].set_ylabel("error")
    figures.annotate_floor(axes[0], 1.5, "rounding level")
    fig.suptitle("the figure")
    yield fig, axes
    plt.close(fig)


def test_every_text_of_a_figure_is_readable_and_ranked(tmp_path, two_panels):
    fig, axes = two_panels
    figures.save(fig, tmp_path / "f", pdf=False)
    ax = axes[0]
    size = {
        "suptitle": next(
            t for t in fig.findobj(Text) if t.get_text() == "the figure"
        ).get_fontsize(),
        "title": ax.title.get_fontsize(),
        "label": ax.xaxis.label.get_fontsize(),
        "tick": ax.get_xticklabels()[0].get_fontsize(),
        "legend": ax.get_legend().get_texts()[0].get_fontsize(),
        "annotation": ax.texts[0].get_fontsize(),
    }
    assert min(size.values()) >= SMALLEST_POINTS, size
    assert size["suptitle"] > size["title"] >= size["label"] >= size["tick"], size
    assert size["legend"] >= size["annotation"], size
