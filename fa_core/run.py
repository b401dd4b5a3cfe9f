"""The result of every trainer: :class:`Run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ._checks import positive_int
from .start import Start, first_feedback

if TYPE_CHECKING:  # the type of a field only: a Run calls its basis, never the module
    from .reduced import ReducedBasis

ENGINES = ("reduced", "dense", "data")


@dataclass(frozen=True, eq=False)
class Run:
    """The result of a trainer: recorded metrics, the start, and the final state.

    Attributes
    ----------
    rule : str
    eta : float
    seeds : tuple of int
    steps : ndarray, shape (T,)
        Recorded steps.
    metrics : dict of str to ndarray, shape (S, T)
        Every recorded metric (``"error"`` included); also ``run[name]``.
    sq_norm_Y : float or ndarray, shape (S,)
        ‖Y‖²_F (‖T‖²_F / N for a network, one per seed if each has its own
        data), to turn errors into relative errors.
    engine : {"reduced", "dense", "data"}
        The coordinates the rule ran in: exact reduced ones, the dense Y, or
        a network's samples.
    start : Start
        Z₀, W₀ and the feedback of every seed, in the original coordinates.

    Notes
    -----
    Seeds never interact, and a batch of seeds is, bit for bit, the loop over
    its seeds in its states (``layers``, ``feedback``, so ``Z``, ``W``, ``B``)
    and its recorded ``error``, on every trainer and engine (with BLAS on one
    thread, see the README). The other recorded metrics agree to rounding.
    :meth:`split` relies on this.

    Examples
    --------
    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(2), n=6, m=5, rng=0)
    >>> run = fa.train(Y, r=2, rule="fa", steps=500, eta=0.1, seeds=3)
    >>> run.error.shape == (3, run.steps.size), run.Z.shape, run.W.shape
    (True, (3, 6, 2), (3, 2, 5))
    >>> bool(run.rel_error[:, -1].max() < 1e-6)
    True
    >>> [part.seeds for part in run.split(3)]
    [(0,), (1,), (2,)]
    """

    rule: str
    eta: float
    seeds: tuple[int, ...]
    steps: np.ndarray
    metrics: dict[str, np.ndarray]
    sq_norm_Y: float | np.ndarray
    engine: str
    start: Start = field(repr=False)
    _layers: tuple = field(repr=False)
    _feedback: tuple = field(repr=False)
    _basis: ReducedBasis | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}; got {self.engine!r}")

    @property
    def error(self) -> np.ndarray:
        """‖Y − ZW‖²_F at the recorded steps, shape (S, T)."""
        return self.metrics["error"]

    @property
    def rel_error(self) -> np.ndarray:
        """‖Y − ZW‖²_F / ‖Y‖²_F, shape (S, T)."""
        return self.error / np.reshape(self.sq_norm_Y, (-1, 1))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.metrics[name]

    def split(self, parts: int) -> list[Run]:
        """This run as ``parts`` runs of equally many consecutive seeds.

        For configurations trained as one batch: stacked ``Z0``, ``W0``, ``B``,
        or one λ per seed (:func:`fa_core.with_weight_decay`). Seeds never
        interact, so each part is what training its seeds alone gives, bit for
        bit in the states and the error (see Notes).
        """
        S = len(self.seeds)
        parts = positive_int(parts, "parts", high=S)
        if S % parts:
            raise ValueError(f"parts must divide the number of seeds ({S}); got {parts}")
        return [self._rows(slice(i * (S // parts), (i + 1) * (S // parts))) for i in range(parts)]

    def _rows(self, rows: slice) -> Run:
        def take(arrays):
            return tuple(a[rows] for a in arrays)

        start = Start(
            self.start.seeds[rows],
            take(self.start.layers),
            take(self.start.feedback),
            self.start.direct,
        )
        sq_norm_Y = self.sq_norm_Y if np.ndim(self.sq_norm_Y) == 0 else self.sq_norm_Y[rows]
        return Run(
            self.rule,
            self.eta,
            self.seeds[rows],
            self.steps,
            {k: v[rows] for k, v in self.metrics.items()},
            sq_norm_Y,
            self.engine,
            start,
            take(self._layers),
            take(self._feedback),
            None if self._basis is None else self._basis.rows(rows),
        )

    @cached_property
    def layers(self) -> tuple[np.ndarray, ...]:
        """Final layers in the original coordinates: (Z, W), or Z₁ … Z_L for a deep run."""
        if self._basis is None:
            return tuple(self._layers)
        Z = self._basis.expand_left(self._layers[0])
        W = self._basis.expand_right(self._layers[-1])
        return Z, W

    @cached_property
    def feedback(self) -> tuple[np.ndarray, ...]:
        """Final feedback matrices, as in :attr:`Start.feedback` (they change under some rules)."""
        if self._basis is None:
            return tuple(self._feedback)
        return tuple(self._basis.expand_right(F) for F in self._feedback)

    @property
    def Z(self) -> np.ndarray:
        """Final first layer (the representation), shape (S, n, r)."""
        return self.layers[0]

    @property
    def W(self) -> np.ndarray:
        """Final last layer, shape (S, r, m)."""
        return self.layers[-1]

    @property
    def B(self) -> np.ndarray:
        """Final feedback reaching the first layer's output, shape (S, r, m); see :attr:`Start.B`.

        Defined for every rule at every depth: GD never reads feedback, and its
        run carries the feedback FA draws for the same seed (a control).
        """
        return first_feedback(self.feedback, self.start.direct)
