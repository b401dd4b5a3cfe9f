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
# # Explore: change the rule, the sizes, the spectrum or the feedback, and watch
#
# This notebook is for playing, not for checking a claim: `make` does not run it, and it
# writes no results. Pick from a menu, or move a slider and let go, and the figure redraws
# (about a second at the default sizes, on the exact reduced engine).
#
# - **Left.** Relative error over training: GD (from a small random start) and the rule
#   you pick, with the Eckart–Young optimum and, for FA, FA\* and DFA from zero, FA's
#   closed-form limit ‖(I − P) Y‖² (derivations R5).
# - **Middle.** cos(W, B): how the forward weights align with the feedback.
# - **Right.** The principal angles between the representations GD and your rule learn.
#
# Things to try: r below and above k (claims 1 and 3); the flat spectrum with large k
# (claim 4: angles near 90°); the feedback scale (speed); DRTP (it diverges); Kolen–Pollack
# (it closes the gap). Open it with `make lab`; the computation is
# `companion.explorer.explore`, and the tests call it for a grid of these values.

# %% tags=["parameters"]
rule = "fa"  # the rule to compare with GD (every rule in fa_core)
n = 60  # rows of Y
m = 40  # columns of Y
k = 10  # rank of Y
r = 5  # hidden units
spectrum_name = "1/i"  # singular values of Y: flat, geometric (κ 10), 1/i, or head + tail
eta = 0.1  # step size
init_scale = 0.0  # scale of the random start (0: from zero; GD-type rules then start at 0.01)
feedback_scale = 1.0  # row norm of the feedback B
lam = 0.01  # weight decay λ, for Kolen–Pollack and the weight-decay rules
seeds = 8  # seeds (draws of Z₀, W₀, B)
steps = 3000  # training steps
seed = 0  # master seed of the target
quick = False  # a smoke test at the tiny sizes of quick/explore.yaml (make with QUICK set)

# %%
import traceback

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython import get_ipython

from companion import explorer

controls = dict(
    rule=widgets.Dropdown(options=explorer.RULE_NAMES, value=rule, description="rule"),
    n=widgets.IntSlider(value=n, min=10, max=400, step=10, description="n"),
    m=widgets.IntSlider(value=m, min=10, max=400, step=10, description="m"),
    k=widgets.IntSlider(value=k, min=1, max=200, description="k = rank Y"),
    r=widgets.IntSlider(value=r, min=1, max=40, description="r (units)"),
    spectrum_name=widgets.Dropdown(
        options=list(explorer.SPECTRA), value=spectrum_name, description="spectrum"
    ),
    eta=widgets.FloatLogSlider(value=eta, base=10, min=-3, max=0, description="η"),
    init_scale=widgets.FloatSlider(
        value=init_scale, min=0.0, max=0.5, step=0.01, description="init scale"
    ),
    feedback_scale=widgets.FloatLogSlider(
        value=feedback_scale, base=10, min=-1, max=1, description="feedback scale"
    ),
    lam=widgets.FloatLogSlider(value=lam, base=10, min=-4, max=0, description="λ"),
    seeds=widgets.IntSlider(value=seeds, min=1, max=32, description="seeds"),
    steps=widgets.IntSlider(value=steps, min=100, max=20000, step=100, description="steps"),
)


# Redraw when a control is released (each redraw trains every seed: about a second).
for control in controls.values():
    if control.has_trait("continuous_update"):
        control.continuous_update = False
figure = widgets.Output()  # where the figure is shown, replaced at each redraw


# The figure is put into the output area as data, in one update (no blank area between two
# figures), never by capturing what the code prints inside `with figure:` (as
# `widgets.interact` and `Output.clear_output` do): when a notebook is executed headless,
# nbclient answers captured output on the kernel's shell channel while it waits for the
# cell's reply there, and the reply is sometimes never read, so the run hangs (nbclient
# issue 312, papermill issue 723).
def show(output: dict) -> None:
    """Replace what the output area shows by one output (nbformat's dict of an output)."""
    figure.outputs = (output,)


def redraw() -> None:
    """Check the sizes, compute, and show the new figure in place of the last."""
    values = {name: control.value for name, control in controls.items()}
    smallest = min(values["n"], values["m"])
    if values["k"] > smallest or values["r"] > smallest:
        message = f"need k and r at most min(n, m) = {smallest}\n"
        show({"output_type": "stream", "name": "stdout", "text": message})
        return
    fig = explorer.draw(explorer.explore(**values, seed=seed))
    data, metadata = get_ipython().display_formatter.format(fig)
    plt.close(fig)
    show({"output_type": "display_data", "data": data, "metadata": metadata})


def on_change(change) -> None:
    """A control moved: redraw, and show an error where the figure was."""
    try:
        redraw()
    except Exception:
        plt.close("all")
        show({"output_type": "stream", "name": "stderr", "text": traceback.format_exc()})


for control in controls.values():
    control.observe(on_change, names="value")
redraw()  # an error here fails the cell, so a headless run reports it
widgets.VBox([*controls.values(), figure])
