"""Two-layer linear networks trained on data: x → h = Zᵀx → ŷ = Wᵀh.

The network's forward and backward passes are a target operator
(:class:`DataY`), so GD (backprop), FA and FA* run through the very same rule
functions as the matrix factorization. With N samples X (N×n) and targets
T (N×m), the loss is the mean over samples

    L = (1/2N) ‖T − X Z W‖²_F,

whose gradients are ∂L/∂W = −hᵀe/N and ∂L/∂Z = −Xᵀ(e Wᵀ)/N, with h = XZ and
e = T − hW. FA sends e back through Bᵀ instead of Wᵀ. If the inputs are
whitened (XᵀX/N = I) and the targets come from a linear teacher (T = XY), then
Xᵀe/N = Y − ZW = E, and every step is *exactly* the factorization step: this
is the paper's corollary for two-layer linear networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import as_finite_array, one_of, positive_float, positive_int
from .linalg import batched_sq_norm
from .loop import run_loop
from .operators import remember_last
from .rules import Rule
from .run import Run
from .settings import settings
from .start import Start, resolve_start, streams

# With moments, both products of a step use Xᵀe/N (n×m per seed, formed once per (Z, W)) when
# n·m is at most this: three products instead of seven, faster while a step costs Python time
# rather than arithmetic (measured for GD: 11% faster at n·m = 600, 22% slower at 4096).
RESIDUAL_UP_TO = 1024


def _relu_grad(u: np.ndarray) -> np.ndarray:
    return (u > 0).astype(u.dtype)


# name -> (σ, σ′); "linear" is the paper's setting
ACTIVATIONS = {
    "linear": (None, None),
    "tanh": (np.tanh, lambda u: 1.0 - np.tanh(u) ** 2),
    "relu": (lambda u: np.maximum(u, 0.0), _relu_grad),
}


class DataY:
    """A target seen through data: the network's forward and backward passes; a TargetOperator.

    Parameters
    ----------
    X : ndarray, shape (N, n) or (S, N, n)
        Inputs, one per row.
    T : ndarray, shape (N, m) or (S, N, m)
        Targets, one per row.
    moments : bool, default False
        Compute the gradients from the sufficient statistics Σ̂ = XᵀX/N and
        XᵀT/N (cost independent of N; the same gradient up to rounding). Linear
        networks only. The loss is always computed from the samples.
    activation : {"linear", "tanh", "relu"}
        Hidden units h = σ(Zᵀx). With a nonlinearity the error reaching the
        first layer is Xᵀ[(e Fᵀ) ⊙ σ′(XZ)]/N, so GD is backprop and FA sends
        e through Bᵀ instead of Wᵀ.
    """

    def __init__(
        self, X: np.ndarray, T: np.ndarray, moments: bool = False, activation: str = "linear"
    ):
        one_of(activation, "activation", ACTIVATIONS)
        if moments and activation != "linear":
            raise ValueError(
                "moments=True needs activation='linear' (the sufficient statistics are linear)"
            )
        self.X, self.T = X, T
        self.N = X.shape[-2]
        self.sigma, self.dsigma = ACTIVATIONS[activation]
        self.moments = (X.mT @ X / self.N, X.mT @ T / self.N) if moments else None
        if moments:
            # Σ̂ Z serves both products of a step, and FA's Σ̂_xt Bᵀ every step. A F for one A
            # and a stack F is taken as (Fᵀ Aᵀ)ᵀ: numpy multiplies a stack by one matrix on the
            # right in one pass, but by one on the left matrix by matrix (measured 1.4x at n = 30).
            Sxx_t, Sxt_t = (M.mT.copy() for M in self.moments)
            self._Sxx_Z = remember_last(lambda Z: (Z.mT @ Sxx_t).mT)
            self._Sxt_Ft = remember_last(lambda F: (F @ Sxt_t).mT)
        self._last = None  # (Z, W, XZ, σ(XZ), e) of the latest forward pass
        self._last_residual = None  # (Z, W, Xᵀe/N) of the latest step with moments

    def _forward(self, Z: np.ndarray, W: np.ndarray):
        """XZ, σ(XZ) and e = T − σ(XZ)W, computed once per (Z, W).

        A step asks for E Fᵀ and then Gᵀ E at the same (Z, W); both reuse one
        forward pass. The key is the arrays' identity, which is safe because
        neither the rules nor the engine modify an array in place.
        """
        last = self._last
        if last is None or last[0] is not Z or last[1] is not W:
            U = self.X @ Z
            H = U if self.sigma is None else self.sigma(U)
            last = self._last = (Z, W, U, H, self.T - H @ W)
        return last[2:]

    def _moment_residual(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Xᵀe/N = XᵀT/N − Σ̂ZW, shape (S, n, m), computed once per (Z, W) as :meth:`_forward` is."""
        last = self._last_residual
        if last is None or last[0] is not Z or last[1] is not W:
            last = self._last_residual = (Z, W, self.moments[1] - self._Sxx_Z(Z) @ W)
        return last[2]

    def _forms_residual(self, Z: np.ndarray, W: np.ndarray) -> bool:
        """True if the moment products go through Xᵀe/N: n·m at most :data:`RESIDUAL_UP_TO`."""
        return Z.shape[-2] * W.shape[-1] <= RESIDUAL_UP_TO

    def hidden(self, Z: np.ndarray) -> np.ndarray:
        """Hidden activity σ(XZ), shape (S, N, r)."""
        if self._last is not None and self._last[0] is Z:
            return self._last[3]
        U = self.X @ Z
        return U if self.sigma is None else self.sigma(U)

    def E(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Output errors e = T − σ(XZ)W on every sample, shape (S, N, m). Do not modify in place."""
        return self._forward(Z, W)[2]

    def E_Ft(self, Z: np.ndarray, W: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Xᵀ[(e Fᵀ) ⊙ σ′(XZ)] / N: the error sent back through Fᵀ to the first layer, shape (S, n, r)."""
        if self.moments:
            if self._forms_residual(Z, W):
                return self._moment_residual(Z, W) @ F.mT
            return self._Sxt_Ft(F) - self._Sxx_Z(Z) @ (W @ F.mT)
        U, _, E = self._forward(Z, W)
        back = E @ F.mT
        if self.dsigma is not None:
            back *= self.dsigma(U)
        return self.X.mT @ back / self.N

    def Gt_E(self, Z: np.ndarray, W: np.ndarray, G: np.ndarray) -> np.ndarray:
        """σ(XG)ᵀ e / N: the second layer's update with hidden activity σ(XG), shape (S, r, m)."""
        if self.moments:
            if self._forms_residual(Z, W):
                return G.mT @ self._moment_residual(Z, W)
            return G.mT @ self.moments[1] - (G.mT @ self._Sxx_Z(Z)) @ W
        E = self.E(Z, W)
        return self.hidden(G).mT @ E / self.N

    def sq_error(self, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
        """2L = ‖T − σ(XZ)W‖²_F / N per seed, a sum of squares."""
        return batched_sq_norm(self.E, self.N * self.T.shape[-1], Z, W) / self.N


def train_network(
    X,
    T,
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
    batch_size: int | None = None,
    eta_decay: float | None = None,
    activation: str = "linear",
) -> Run:
    """Train the two-layer network x → Wᵀ σ(Zᵀ x) on samples, batched over seeds.

    Parameters
    ----------
    X : ndarray, shape (N, n) or (S, N, n)
        Inputs: one data set for every seed, or one per seed (S = number of
        seeds), so that many samples train as one batch.
    T : ndarray, shape (N, m) or (S, N, m)
        Targets, likewise.
    r : int
        Hidden units, ``1 <= r <= min(n, m)``.
    rule : str or Rule, default="fa"
        As in :func:`fa_core.train`; ``"gd"`` is backprop.
    steps, eta, seeds, init_scale, feedback_scale, B, Z0, W0, start, record, record_at, tol, progress
        As in :func:`fa_core.train`, with the same defaults; seed i starts from
        the same Z₀, W₀, B as ``fa_core.train`` with seed i.
    batch_size : int, default=None
        Minibatch size in [1, N]; full batch if omitted (its gradients are
        computed from XᵀX/N and XᵀT/N, so a step costs O(n(n+m)r) whatever N).
        Minibatches go through the data in epochs: each epoch is a fresh
        random order of the N samples, cut into ⌊N/b⌋ batches of b (the
        remainder is skipped that epoch). Seed i draws its orders from its own
        stream ``"batches"``.
    eta_decay : float, default=None
        Step-size schedule η_t = η / (1 + t / eta_decay) (η halves after
        ``eta_decay`` steps); constant if omitted.
    activation : {"linear", "tanh", "relu"}, default="linear"
        Hidden nonlinearity σ; "linear" is the paper's setting.

    Returns
    -------
    Run
        With ``engine="data"``. ``error`` is 2L = ‖T − XZW‖²_F / N on the full
        data at the recorded steps, and ``sq_norm_Y`` is ‖T‖²_F / N (shape (S,) with one data set
        per seed). With whitened inputs and T = XY these equal the
        factorization's ‖Y − ZW‖² and ‖Y‖².

    Notes
    -----
    Updates, with a batch (X_b, T_b) of size b, h = X_b Z and e = T_b − hW:
    GD: Z += η X_bᵀ e Wᵀ / b, W += η hᵀ e / b. FA: Z += η X_bᵀ e Bᵀ / b.
    FA*: as FA, with W's update using the midpoint (Z + Z')/2.

    Examples
    --------
    With whitened inputs and a linear teacher T = X Y, full-batch training is
    the factorization of Y (the paper's corollary):

    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.low_rank_spectrum(3), n=8, m=6, rng=0)
    >>> X = fa.whitened_inputs(40, 8, rng=1)
    >>> net = fa.train_network(X, X @ Y.Y, r=3, rule="fa", steps=300, eta=0.1, seeds=2)
    >>> mf = fa.train(Y, r=3, rule="fa", steps=300, eta=0.1, seeds=2)
    >>> net.engine, bool(abs(net.rel_error - mf.rel_error).max() < 1e-10)
    ('data', True)
    """
    X = as_finite_array(X, "X", ndim=(2, 3))
    T = as_finite_array(T, "T", ndim=(X.ndim,))
    if X.shape[:-1] != T.shape[:-1]:
        raise ValueError(
            f"X and T must have the same number of samples (and data sets); "
            f"got X {X.shape} and T {T.shape}"
        )
    (N, n), m = X.shape[-2:], T.shape[-1]
    with np.errstate(over="ignore"):  # an overflow to inf is refused by resolve_start below
        sq_norm = np.sum(T**2, axis=(-2, -1)) / N  # one per data set
    if not np.all(sq_norm > 0):
        raise ValueError(
            "T must not be all zero (in any data set): every error would be relative to ‖T‖ = 0"
        )
    cfg = settings(rule, steps, eta, record, record_at, tol)
    if X.ndim == 2:
        sq_norm = float(sq_norm)
    # √(‖T‖²/N) of the largest data set: the target's scale, for the start and divergence
    scale = float(np.sqrt(np.max(sq_norm)))
    start = resolve_start(
        start, n, m, r, seeds, init_scale, feedback_scale, scale=scale, B=B, Z0=Z0, W0=W0
    )
    if X.ndim == 3 and X.shape[0] != len(start.seeds):
        raise ValueError(
            f"X and T with one data set per seed need {len(start.seeds)} of them (one per seed); "
            f"got {X.shape[0]}"
        )
    eta = cfg.eta
    # a linear network takes its full-batch gradients from XᵀX/N and XᵀT/N
    full = DataY(X, T, moments=activation == "linear", activation=activation)
    update_op = None
    if batch_size is not None:
        b = positive_int(batch_size, "batch_size", high=N)
        update_op = _minibatches(X, T, start.seeds, b, activation)
    eta_at = None
    if eta_decay is not None:
        decay = positive_float(eta_decay, "eta_decay")

        def eta_at(step: int) -> float:
            return eta / (1.0 + step / decay)

    metrics, at, (Z, W, Bm) = run_loop(
        full,
        (start.Z0, start.W0, start.B),
        cfg.rule,
        eta,
        steps=cfg.steps,
        names=cfg.names,
        at=cfg.at,
        sq_norm=sq_norm,
        scale=scale,
        tol=cfg.tol,
        progress=progress,
        update_op=update_op,
        eta_at=eta_at,
    )
    return Run(cfg.rule.name, eta, start.seeds, at, metrics, sq_norm, "data", start, (Z, W), (Bm,))


def _minibatches(X: np.ndarray, T: np.ndarray, seeds, b: int, activation: str):
    """``step -> DataY`` of one minibatch per seed: X_b (S, b, n), T_b (S, b, m).

    Epochs: each seed's stream gives a random order of the N samples, cut
    into ⌊N/b⌋ consecutive batches; the next epoch draws a new order.
    """
    gens = [streams(s, names=("target", "init", "feedback", "batches"))["batches"] for s in seeds]
    N = X.shape[-2]
    per_epoch = N // b
    # the rows of seed i's batch; with one data set per seed, (seed, sample) pairs
    rows = (np.arange(len(gens))[:, None],) if X.ndim == 3 else ()
    order = None

    def batch(step: int) -> DataY:
        nonlocal order
        i = step % per_epoch
        if i == 0:
            order = np.stack([g.permutation(N) for g in gens])
        idx = (*rows, order[:, i * b : (i + 1) * b])
        return DataY(X[idx], T[idx], activation=activation)

    return batch
