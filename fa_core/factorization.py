"""The matrix-factorization trainer :func:`train`: Y ≈ Z W, all seeds at once.

Its call path runs forward, each module once: the target
(:mod:`fa_core.targets`), the keywords (:mod:`fa_core.settings`), the start
(:mod:`fa_core.start`), the engine's operator (:mod:`fa_core.reduced` or
:mod:`fa_core.operators`), the loop (:mod:`fa_core.loop`), the rule's step
(:mod:`fa_core.rules`) and the result (:mod:`fa_core.run`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._checks import one_of
from .loop import run_loop
from .operators import DenseY
from .reduced import ReducedY, compress
from .rules import Rule
from .run import Run
from .settings import settings
from .start import Start, resolve_start
from .targets import as_target

ENGINE_CHOICES = ("auto", "reduced", "dense")


def train(
    target_or_Y,
    r: int,
    rule: str | Rule = "fa",
    *,
    steps: int,
    eta: float,
    seeds: int | Sequence[int] = 1,
    init_scale: float | Sequence[float] = 1e-2,
    feedback_scale: float = 1.0,
    B=None,
    Z0=None,
    W0=None,
    start: Start | None = None,
    record: Sequence[str] = ("error",),
    record_at=None,
    tol: float | None = None,
    progress: bool = False,
    engine: str = "auto",
) -> Run:
    """Train Y ≈ Z W with one rule, for a batch of seeds at once.

    Parameters
    ----------
    target_or_Y : Target or ndarray, shape (n, m)
        The target. A :class:`Target` built from factors never needs dense Y
        on the reduced engine.
    r : int
        Inner dimension (hidden units), ``1 <= r <= min(n, m)``.
    rule : str or Rule, default="fa"
        A name in :data:`fa_core.RULES` (``"gd"``, ``"fa"``, ``"fa_star"``, …)
        or a :class:`Rule`. ``"fa_star"`` is this companion's FA*.
    steps : int
        Number of updates, >= 1.
    eta : float
        Step size, > 0. For ‖Y‖₂ = 1, 0.05-0.1 is stable.
    seeds : int or iterable of int, default=1
        An int S means ``range(S)``; any other iterable is read once. Seed i draws Z₀, W₀ from stream
        ``"init"`` and B from ``"feedback"`` of :func:`fa_core.streams`, so GD
        and FA with the same seed start from the same Z₀, W₀.
    init_scale : float or sequence of float, default=1e-2
        Norm of each unit's initial weight vector (Z₀ ~ N(0, scale²/n),
        W₀ ~ N(0, scale²/m)); 0 starts at Z = W = 0 (a saddle for GD). One
        per seed trains several start sizes as one batch (see :meth:`Run.split`).
    feedback_scale : float, default=1.0
        Row norm of the drawn B: B ~ N(0, feedback_scale²/m).
    B, Z0, W0 : ndarray, default=None
        Explicit feedback (r, m) and starting factors (n, r), (r, m), one
        matrix or stacked per seed; they replace the draws.
    start : Start, default=None
        A whole starting point (see :func:`fa_core.starting_point`). It
        carries its own seeds and draws, so ``seeds``, ``init_scale`` and
        ``feedback_scale`` are not used, and ``B``, ``Z0``, ``W0`` must be unset.
    record : sequence of str, default=("error",)
        Metrics to record besides ``"error"``: names in ``fa_core.metrics.RECORDERS``.
    record_at : sequence of int, default=None
        Steps to record at; default about 120 log-spaced steps including 0
        and ``steps``.
    tol : float, default=None
        Stop early once every seed's relative error is below ``tol`` at a
        recorded step; the Run then ends at that step (``run.steps[-1]``).
    progress : bool, default=False
        Show a progress bar (silenced by the ``TQDM_DISABLE`` environment variable).
    engine : {"auto", "reduced", "dense"}, default="auto"
        ``"reduced"`` runs the exact reduced dynamics (cost independent of n
        and m); ``"dense"`` is the reference n×m implementation. ``"auto"``
        picks reduced for orthogonally equivariant rules.

    Returns
    -------
    Run

    Raises
    ------
    ValueError
        For invalid parameters, naming the parameter and its valid range; for
        a target with ‖Y‖₂ outside ``fa_core.start.TARGET_SCALE_RANGE``
        ([1e-100, 1e100]), whose squared errors would underflow or overflow
        (divide Y by its norm: relative errors do not change); and for a start
        whose error is not finite.
    DivergenceError
        If the error becomes non-finite or exceeds ``DIVERGENCE_FACTOR`` times
        its start.

    Notes
    -----
    One step of the rule maps (Z, W, B) to (Z', W', B'); for GD
    Z' = Z + η E Wᵀ and W' = W + η Zᵀ E, for FA Z' = Z + η E Bᵀ, with E = Y − ZW.

    Examples
    --------
    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(3), n=20, m=15, rng=0)
    >>> run = fa.train(Y, r=3, rule="fa", steps=6000, eta=0.1, seeds=4)
    >>> run.engine, run.rel_error.shape[0]
    ('reduced', 4)
    >>> bool(run.rel_error[:, -1].max() < 1e-6)
    True

    With r below the rank, FA from zero stops above GD's optimum, at its
    closed-form limit:

    >>> Y = fa.make_target(fa.low_rank_spectrum(4, kappa=4), n=20, m=15, rng=0)
    >>> run = fa.train(Y, r=2, rule="fa", steps=4000, eta=0.1, init_scale=0.0)
    >>> limit = fa.fa_limit_error(Y, run.B)[0]
    >>> bool(abs(run.error[0, -1] - limit) < 1e-8 * limit), bool(limit > fa.optimal_error(Y, 2))
    (True, True)
    """
    t = as_target(target_or_Y)
    cfg = settings(rule, steps, eta, record, record_at, tol)
    engine = choose_engine(engine, cfg.rule)
    scale = float(t.s[0])
    start = resolve_start(
        start,
        t.n,
        t.m,
        r,
        seeds,
        init_scale,
        feedback_scale,
        scale=scale,
        B=B,
        Z0=Z0,
        W0=W0,
    )
    if engine == "reduced":
        Z, W, Bm, basis, s_reduced, dropped = compress(t.U, t.s, t.V, start.Z0, start.W0, start.B)
        Y = ReducedY(s_reduced, dropped)
    else:
        Z, W, Bm = start.Z0, start.W0, start.B
        basis = None
        Y = DenseY(t.Y)
    metrics, at, (Z, W, Bm) = run_loop(
        Y,
        (Z, W, Bm),
        cfg.rule,
        cfg.eta,
        steps=cfg.steps,
        names=cfg.names,
        at=cfg.at,
        sq_norm=t.sq_norm,
        scale=scale,
        tol=cfg.tol,
        progress=progress,
    )
    return Run(
        cfg.rule.name,
        cfg.eta,
        start.seeds,
        at,
        metrics,
        t.sq_norm,
        engine,
        start,
        (Z, W),
        (Bm,),
        basis,
    )


def choose_engine(engine: str, rule: Rule) -> str:
    """Resolve ``"auto"``; refuse the reduced engine for rules it cannot run."""
    one_of(engine, "engine", ENGINE_CHOICES)
    if engine == "reduced" and not rule.equivariant:
        raise ValueError(
            f"engine='reduced' needs an orthogonally equivariant rule; {rule.name!r} is not"
        )
    if engine == "auto":
        return "reduced" if rule.equivariant else "dense"
    return engine
