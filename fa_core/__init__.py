"""fa_core: feedback alignment for low-rank matrix factorization.

The executable companion to Garg & Vempala, "How and When Random Feedback
Works: A Case Study of Low-Rank Matrix Factorization" (AISTATS 2022).

    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(4), n=30, m=20, rng=0)
    >>> run = fa.train(Y, r=4, rule="fa", steps=3000, eta=0.1, seeds=8)
    >>> bool(run.rel_error[:, -1].max() < 1e-6)
    True

The names below are the everyday API. Seven modules are public too, for the
specialised parts: ``fa_core.theory`` (every closed form), ``fa_core.linalg``
(Haar draws, SPD square roots, bases and angles), ``fa_core.metrics``
(recorders and trajectory fits), ``fa_core.network`` (the data operator and
activations), ``fa_core.inputs`` (network inputs, whitening and the linear
teacher of a data set), ``fa_core.start`` (starting points and feedback
draws) and ``fa_core.rules_beyond`` (feedback rules beyond the paper). NumPy is the only dependency: importing fa_core never loads
matplotlib or the notebook tooling (that is the ``companion`` package).
"""

from . import inputs, linalg, metrics, network, rules_beyond, start, theory
from .deep import train_deep
from .factorization import train
from .forecasting import forecast, load_problem
from .inputs import gaussian_inputs, whitened_inputs
from .linalg import principal_angles, subspace_overlap
from .loop import DivergenceError
from .network import train_network
from .rules import RULES, Rule
from .rules_beyond import kolen_pollack, with_weight_decay
from .run import Run
from .start import Start, starting_point, streams
from .sweep import SweepError, grid, sweep
from .targets import (
    Target,
    bump_spectrum,
    head_tail_spectrum,
    low_rank_spectrum,
    make_target,
    power_spectrum,
)
from .theory import fa_limit_error, optimal_error

__version__ = "0.1.0"

__all__ = [
    # targets
    "Target",
    "make_target",
    "low_rank_spectrum",
    "head_tail_spectrum",
    "bump_spectrum",
    "power_spectrum",
    # starting points and rules
    "streams",
    "starting_point",
    "Start",
    "Rule",
    "RULES",
    "with_weight_decay",
    "kolen_pollack",
    # trainers and their result
    "train",
    "train_network",
    "train_deep",
    "Run",
    "DivergenceError",
    "gaussian_inputs",
    "whitened_inputs",
    # the closed forms everyone needs
    "optimal_error",
    "fa_limit_error",
    "principal_angles",
    "subspace_overlap",
    # the forecast for a user's matrix or data set
    "forecast",
    "load_problem",
    # sweeps
    "grid",
    "sweep",
    "SweepError",
]
