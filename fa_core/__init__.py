"""fa_core: feedback alignment for low-rank matrix factorization.

The executable companion to Garg & Vempala, "How and When Random Feedback
Works: A Case Study of Low-Rank Matrix Factorization" (AISTATS 2022).

    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(4), n=30, m=20, rng=0)
    >>> run = fa.train(Y, r=4, rule="fa", steps=3000, eta=0.1, seeds=8)
    >>> bool(run.rel_error[:, -1].max() < 1e-10)
    True

Modules: targets (problems), rules (update rules), engine (training loop),
operators/reduced (dense and exact reduced coordinates), metrics, theory
(closed forms). Plotting lives in ``fa_core.plotting`` and is not imported
here, so importing fa_core never pulls in matplotlib.
"""
from .deep import DeepRun, train_deep
from .engine import DivergenceError, Run, correlated_feedback, starting_point, as_seeds, feedback_matrix, initial_factors, log_steps, streams, train
from .metrics import decay_rate, first_hit
from .network import DataY, gaussian_inputs, train_network, whitened_inputs
from .rules import RULES, Rule, balance, fa_invariant, get_rule, kolen_pollack, with_weight_decay
from .sweep import grid, sweep
from .targets import (
    Target,
    bump_spectrum,
    head_tail_spectrum,
    low_rank_spectrum,
    make_target,
    power_spectrum,
)
from .theory import (
    fa_limit,
    fa_limit_error,
    optimal_error,
    optimal_fit,
    orthonormal_basis,
    principal_angles,
    sketch_error,
    subspace_overlap,
    top_singular_subspace,
)

__version__ = "0.1.0"

__all__ = [
    "DeepRun", "train_deep",
    "DivergenceError", "Run", "correlated_feedback", "starting_point", "as_seeds", "feedback_matrix", "initial_factors", "log_steps", "streams", "train",
    "decay_rate", "first_hit",
    "DataY", "gaussian_inputs", "train_network", "whitened_inputs",
    "RULES", "Rule", "fa_invariant", "balance", "get_rule", "kolen_pollack", "with_weight_decay",
    "grid", "sweep",
    "Target", "bump_spectrum", "head_tail_spectrum", "low_rank_spectrum", "make_target", "power_spectrum",
    "fa_limit", "fa_limit_error", "optimal_error", "optimal_fit", "orthonormal_basis", "principal_angles", "sketch_error",
    "subspace_overlap", "top_singular_subspace",
]
