"""Will random feedback work on this matrix or data set? FA's limit forecast from the closed forms.

:func:`forecast` puts the closed forms together for a user's own problem: GD's
limit (Eckart–Young, Σ-weighted for a data set), the distribution over draws of
the feedback B of FA's limit (the projection onto the sketch col(Y Bᵀ)), the
overlap of FA's subspace with GD's, and how many extra hidden units bring FA's
median within 1 + ε of the optimum. :func:`load_problem` reads a ``.npy``,
``.csv`` or ``.npz`` file; ``python -m fa_core FILE --r 5`` (the
module :mod:`fa_core.__main__`) prints the answer in a terminal.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import inputs, linalg, theory
from ._checks import Seed, as_finite_array, as_generator, positive_float, positive_int
from .targets import Target

# Quantiles reported for every distribution over draws of B.
QUANTILES = {"q10": 0.1, "q25": 0.25, "median": 0.5, "q75": 0.75, "q90": 0.9}
# Singular values within this relative distance of σ_r count as tied with it (GD's subspace).
TIE_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class Forecast:
    """What GD and FA reach on one problem with r hidden units, over draws of the feedback B.

    Errors are the loss the trained model leaves: ‖Y − ZW‖²_F for a matrix,
    ‖T − X Z W‖²_F / N for a data set (its least-squares ``floor`` included).

    Attributes
    ----------
    kind : str
        ``"matrix"`` or ``"data"``.
    shape : tuple of int
        (n, m): the shape of Y (for a data set, of its linear teacher).
    r : int
    s : ndarray, shape (k,)
        Singular values of Y (of Σ̂^{1/2} Y for a data set) above the rank tolerance.
    rank_tol : float or None
        Absolute tolerance below which a singular value counts as zero; None if
        the rank came with a :class:`fa_core.Target`.
    scale : float
        ‖Y‖²_F, or ‖T‖²_F / N for a data set: relative errors divide by it.
    floor : float
        The loss no linear model gets below (0 for a matrix).
    opt_error : float
        GD's limit: floor + Σ_{i>r} σ_i².
    fa_error : ndarray, shape (draws,)
        FA's limit (from zero or small init) for each draw of B.
    overlap : ndarray, shape (draws,)
        ‖Q_GDᵀ Q_FA‖²_F / min(q, r): FA's subspace col(Y Bᵀ) against GD's top
        subspace (q ≥ r columns, more only if σ_r is tied); 1 means contained.
    epsilons : tuple of float
        The ε of P(FA/OPT > 1 + ε).
    epsilon : float
        The tolerance of the oversampling target: median FA(r + p)/OPT_r ≤ 1 + ε.
    oversampling : dict
        ``p`` (extra units tried), ``median`` and ``mean`` of FA(r + p)/OPT_r,
        ``bound`` (the range-finder bound on the mean, None for p < 2),
        ``draws`` and ``p_within`` (the smallest p tried that brings the median
        within 1 + ε, or None). Empty lists when r ≥ rank.
    """

    kind: str
    shape: tuple[int, int]
    r: int
    s: np.ndarray
    rank_tol: float | None
    scale: float
    floor: float
    opt_error: float
    fa_error: np.ndarray
    overlap: np.ndarray
    epsilons: tuple[float, ...]
    epsilon: float
    oversampling: dict

    @property
    def rank(self) -> int:
        """rank(Y) (of Σ̂^{1/2} Y for a data set) at the tolerance ``rank_tol``."""
        return int(self.s.size)

    @property
    def draws(self) -> int:
        return int(self.fa_error.size)

    @property
    def reaches_optimum(self) -> bool:
        """r ≥ rank: FA's limit is the optimum for every B of full rank (probability 1)."""
        return self.r >= self.rank

    @property
    def fa_over_opt(self) -> np.ndarray | None:
        """FA/OPT for each draw; None when OPT = 0 (a matrix with r ≥ rank, where FA reaches it)."""
        return None if self.opt_error == 0 else self.fa_error / self.opt_error

    def stats(self, values: np.ndarray) -> dict:
        """Quantiles (:data:`QUANTILES`) and mean of one distribution over draws."""
        out = {name: float(np.quantile(values, q)) for name, q in QUANTILES.items()}
        out["mean"] = float(np.mean(values))
        return out

    def p_above(self) -> dict:
        """P(FA/OPT > 1 + ε) over draws, for each ε of ``epsilons``."""
        ratio = self.fa_over_opt
        return {
            f"{e:g}": (0.0 if ratio is None else float(np.mean(ratio > 1 + e)))
            for e in self.epsilons
        }

    def median_z(self, sample) -> float:
        """Where this forecast's median FA error sits in an independent sample of FA's limit, as a z-score.

        (F̂(median) − ½) / √(¼/len(sample) + ¼/draws), with F̂ the sample's
        empirical CDF: about standard normal when the sample and the forecast
        come from the same distribution (both medians' sampling errors included).

        Parameters
        ----------
        sample : ndarray, shape (N,)
            FA's limit for N independent draws of B, e.g. ``fa.fa_limit_error(Y, B)``.
        """
        sample = as_finite_array(sample, "sample", ndim=(1,))
        F = np.mean(sample <= np.median(self.fa_error))
        return float((F - 0.5) / np.sqrt(0.25 / sample.size + 0.25 / self.draws))

    def summary(self) -> str:
        """One plain-language paragraph; every number in it is computed here."""
        unit = "‖T‖²_F/N" if self.kind == "data" else "‖Y‖²_F"
        loss = "loss" if self.kind == "data" else "error"
        tol = (
            "as given"
            if self.rank_tol is None
            else f"counting singular values above {self.rank_tol:.2g} = {self.rank_tol / self.s[0]:.2g}·σ₁"
        )
        floor = (
            f", of which {self.floor / self.scale:.3g} is the least-squares floor no linear network "
            "gets below"
            if self.kind == "data"
            else ""
        )
        opt = f"{self.opt_error / self.scale:.3g} of {unit}{floor}"
        if self.reaches_optimum:
            return (
                f"With r = {self.r} hidden units, at least rank(Y) = {self.rank} ({tol}), FA reaches the "
                f"optimum for every draw of B of full rank, as GD does: both stop at OPT_r = {opt}. "
                f"Over {self.draws} draws of B, FA's computed limit exceeds the optimum by at most "
                f"{np.max(self.fa_error - self.opt_error) / self.scale:.1e} of {unit} (rounding)."
            )
        st = self.stats(self.fa_over_opt)
        p = self.oversampling["p_within"]
        if p == 0:
            extra = f"its median is already within {self.epsilon:.0%} of OPT_r"
        elif p is not None:
            extra = (
                f"with {p} extra unit{'s' if p != 1 else ''} (r = {self.r + p}) its median is within "
                f"{self.epsilon:.0%} of OPT_r"
            )
        else:
            extra = (
                f"no number of extra units tried (up to {max(self.oversampling['p'])}) brings its "
                f"median within {self.epsilon:.0%} of OPT_r"
            )
        return (
            f"With r = {self.r} hidden units (rank(Y) = {self.rank}, {tol}), GD stops at the optimal "
            f"{loss} OPT_r = {opt}. FA is expected to stop at {st['median']:.3g}× that (median over "
            f"{self.draws} draws of B; 80% of draws between {st['q10']:.3g}× and {st['q90']:.3g}×; "
            f"P(FA/OPT > {1 + self.epsilon:g}) = {np.mean(self.fa_over_opt > 1 + self.epsilon):.2f}); "
            f"{extra}. Its hidden units span another subspace than GD's: median overlap "
            f"{np.median(self.overlap):.2f}, where 1 means GD's own subspace."
        )

    def table(self) -> str:
        """A small plain-text table of the forecast and the oversampling curve."""
        rows = [
            ("rank (at the tolerance)", f"{self.rank}"),
            ("GD's limit OPT_r / scale", f"{self.opt_error / self.scale:.4g}"),
        ]
        if self.kind == "data":
            rows.append(("least-squares floor / scale", f"{self.floor / self.scale:.4g}"))
        if self.fa_over_opt is not None:
            st = self.stats(self.fa_over_opt)
            rows += [(f"FA/OPT {name}", f"{v:.4g}") for name, v in st.items() if name != "q25"]
            rows += [(f"P(FA/OPT > 1 + {e})", f"{v:.3f}") for e, v in self.p_above().items()]
        rows.append(("overlap with GD, median", f"{np.median(self.overlap):.3f}"))
        width = max(len(a) for a, _ in rows)
        lines = [f"{a:<{width}}  {b}" for a, b in rows]
        os_ = self.oversampling
        if os_["p"]:
            lines += [
                "",
                f"{'extra units p':>13}  {'median FA(r+p)/OPT_r':>20}  {'mean':>9}  {'bound':>9}",
            ]
            for p, med, mean, bound in zip(os_["p"], os_["median"], os_["mean"], os_["bound"]):
                b = "" if bound is None else f"{bound:9.4g}"
                lines.append(f"{p:>13}  {med:>20.4g}  {mean:>9.4g}  {b:>9}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """The forecast as plain JSON-ready values (the notebook's ``measured["forecast"]``)."""
        ratio = self.fa_over_opt
        return dict(
            kind=self.kind,
            shape=list(self.shape),
            r=self.r,
            rank=self.rank,
            rank_tol=self.rank_tol,
            reaches_optimum=self.reaches_optimum,
            draws=self.draws,
            scale=self.scale,
            floor=self.floor,
            opt_error=self.opt_error,
            fa_error=self.stats(self.fa_error),
            fa_over_opt=None if ratio is None else self.stats(ratio),
            p_above=self.p_above(),
            overlap=self.stats(self.overlap),
            oversampling=dict(self.oversampling, epsilon=self.epsilon),
            summary=self.summary(),
        )


def forecast(
    Y,
    r: int,
    *,
    draws: int = 10_000,
    rng: Seed = 0,
    epsilon: float = 0.1,
    epsilons=(0.1, 0.5, 1.0),
    oversampling_draws: int = 1000,
    max_extra: int | None = None,
    rtol: float | None = None,
) -> Forecast:
    """Forecast where GD and FA stop on a matrix or a data set, over draws of the feedback B.

    Parameters
    ----------
    Y : ndarray of shape (n, m), Target, or tuple (X, T)
        A matrix to factor as Y ≈ Z W, or a data set: inputs X (N, n) and
        targets T (N, m) for the linear network x → Wᵀ Zᵀ x, which solves
        the Σ̂-weighted factorization of its least-squares teacher
        (:func:`fa_core.inputs.linear_teacher`).
    r : int
        Hidden units, 1 <= r <= min(n, m).
    draws : int, default 10 000
        Draws of B for FA's distribution, at least 10.
    rng : int, SeedSequence or Generator
        Source of the draws; the same rng gives the same forecast.
    epsilon : float, default 0.1
        Oversampling target: the smallest p with median FA(r + p)/OPT_r ≤ 1 + ε.
    epsilons : sequence of float
        The ε of the reported P(FA/OPT > 1 + ε), each > 0.
    oversampling_draws : int, default 1000
        Draws of B for each point p ≥ 1 of the oversampling curve, at least 10
        (p = 0 reuses the ``draws``).
    max_extra : int, optional
        Largest p tried; by default rank − r, where FA(rank) is exact.
    rtol : float, optional
        Singular values at or below rtol·σ₁ count as zero (default
        max(n, m)·eps, NumPy's ``matrix_rank`` convention). Ignored for a Target.

    Returns
    -------
    Forecast
        ``summary()`` is a plain-language paragraph, ``table()`` a small
        table, ``as_dict()`` every number as JSON-ready values.

    Examples
    --------
    >>> import numpy as np
    >>> import fa_core as fa
    >>> Y = fa.make_target(fa.power_spectrum(30), n=60, m=50, rng=0).Y
    >>> f = fa.forecast(Y, r=4, draws=2000, rng=0)
    >>> f.rank, f.reaches_optimum
    (30, False)
    >>> print(f"median FA/OPT {np.median(f.fa_over_opt):.2f}; 10% from OPT at p = {f.oversampling['p_within']}")
    median FA/OPT 2.32; 10% from OPT at p = 8
    >>> fa.forecast(Y, r=30, draws=100).reaches_optimum
    True

    Notes
    -----
    FA from zero (or small) init keeps col(Z) = col(Y Bᵀ) and stops at the
    projection onto it, ‖(I − P) Y‖²_F (derivations R4, R5); GD stops at the
    Eckart–Young optimum Σ_{i>r} σ_i². Both depend on Y only through its
    singular values s: D = B V has i.i.d. Gaussian entries, so each draw is
    :func:`fa_core.theory.sketch_error` on (s, D). For a data set, the loss is
    floor + ‖Σ̂^{1/2}(Y − ZW)‖²_F and FA's fit is the Σ̂-weighted projection
    onto col(Y Bᵀ), whose error is that of projecting Σ̂^{1/2} Y onto
    col(Σ̂^{1/2} Y Bᵀ): the same forecast, for the singular values of Σ̂^{1/2} Y.

    Oversampling: p = 0, 1, 2, 4, 8, … extra units, up to the first p whose
    median is within 1 + ε (or rank − r). Next to it, the randomized range
    finder bound (Halko, Martinsson & Tropp 2011, Thm 10.5) on the mean of the
    squared error: E ‖(I − P) Y‖²_F ≤ (1 + r/(p − 1)) Σ_{j>r} σ_j² for p ≥ 2.
    The theorem states the Frobenius norm, E ‖(I − P) Y‖_F ≤ (1 + r/(p − 1))^{1/2}
    (Σ_{j>r} σ_j²)^{1/2}; its proof bounds the squared error's mean as here, and
    the stated form follows by Jensen. It bounds the mean, not the median.

    Cost: the singular values, O(n m min(n, m)) for an array (none for a
    Target; for a data set O(N n² + N n m) more), then O(draws · k r²) for FA's
    distribution and the overlap, and O(oversampling_draws · k (r + p)²) for
    each oversampling point, with k = rank. Memory stays bounded: draws are
    made in chunks.
    """
    r = positive_int(r, "r")
    draws = positive_int(draws, "draws", low=10)
    oversampling_draws = positive_int(oversampling_draws, "oversampling_draws", low=10)
    epsilon = positive_float(epsilon, "epsilon")
    if isinstance(epsilons, (str, bytes)) or not np.iterable(epsilons) or len(epsilons) == 0:
        raise TypeError(f"epsilons must be a non-empty sequence of numbers > 0; got {epsilons!r}")
    epsilons = tuple(positive_float(e, "each of epsilons") for e in epsilons)
    if rtol is not None:
        rtol = positive_float(rtol, "rtol")
    g = as_generator(rng)
    kind, shape, s, rank_tol, scale, floor = _spectrum(Y, rtol)
    positive_int(r, "r", high=min(shape))
    if max_extra is not None:
        max_extra = positive_int(max_extra, "max_extra")
    k = s.size
    opt = floor + float(np.sum(s[r:] ** 2))
    q = int(np.sum(s >= s[min(r, k) - 1] * (1 - TIE_RTOL)))  # GD's subspace: σ_i ≥ σ_r, ties in
    fa_err, overlap = _fa_draws(s, r, draws, g, q)
    fa_err += floor
    curve = dict(p=[], median=[], mean=[], bound=[], draws=oversampling_draws, p_within=None)
    if r < k:
        top = k - r if max_extra is None else min(max_extra, k - r)
        for p in _extra_units(top):
            err = fa_err if p == 0 else floor + _fa_draws(s, r + p, oversampling_draws, g)[0]
            ratio = err / opt
            curve["p"].append(p)
            curve["median"].append(float(np.median(ratio)))
            curve["mean"].append(float(np.mean(ratio)))
            curve["bound"].append(
                None if p < 2 else (floor + (1 + r / (p - 1)) * (opt - floor)) / opt
            )
            if curve["median"][-1] <= 1 + epsilon:
                curve["p_within"] = p
                break
    return Forecast(
        kind, shape, r, s, rank_tol, scale, floor, opt, fa_err, overlap, epsilons, epsilon, curve
    )


def _extra_units(top: int):
    """p = 0, 1, 2, 4, 8, … up to ``top``, ending at ``top``."""
    p = 0
    while p < top:
        yield p
        p = 1 if p == 0 else 2 * p
    yield top


def _spectrum(Y, rtol):
    """(kind, (n, m), singular values above the tolerance, tolerance, scale, floor) of a problem."""
    if isinstance(Y, Target):
        return "matrix", (Y.n, Y.m), Y.s, None, Y.sq_norm, 0.0
    if isinstance(Y, tuple):
        if len(Y) != 2:
            raise ValueError(
                f"Y as a data set must be a tuple (X, T); got a tuple of length {len(Y)}"
            )
        X, T = Y
        Yt, Sigma, floor = inputs.linear_teacher(X, T)
        T = np.asarray(T, dtype=float)
        M, scale, kind = linalg.sqrt_spd(Sigma, Yt.shape[0]) @ Yt, np.sum(T**2) / T.shape[0], "data"
    else:
        M = as_finite_array(Y, "Y", ndim=(2,))
        floor, kind = 0.0, "matrix"
        scale = float(np.sum(M**2))
    s = np.linalg.svd(M, compute_uv=False)
    tol = (max(M.shape) * np.finfo(float).eps if rtol is None else rtol) * s[0]
    if s[0] == 0 or not np.any(s > tol):
        raise ValueError("Y must be nonzero: every singular value is below the rank tolerance")
    return kind, M.shape, s[s > tol], float(tol), float(scale), float(floor)


def _fa_draws(s: np.ndarray, r: int, draws: int, g: np.random.Generator, q: int | None = None):
    """FA's limit error for ``draws`` Gaussian D (r×k), and (if q is given) the overlap with the top q coordinates.

    Drawn in chunks along the draws, which consumes ``g`` exactly as one
    (draws, r, k) draw would.
    """
    k = s.size
    chunk = max(1, linalg.MAX_BLOCK // (4 * k * r))
    err, overlap = np.empty(draws), np.empty(draws if q is not None else 0)
    for a in range(0, draws, chunk):
        D = g.standard_normal((min(chunk, draws - a), r, k))
        err[a : a + D.shape[0]] = theory.sketch_error(s, D)
        if q is not None:
            Q = linalg.range_basis(s[:, None] * D.swapaxes(-1, -2))  # zero columns past its rank
            overlap[a : a + D.shape[0]] = np.sum(Q[:, :q, :] ** 2, axis=(-2, -1)) / min(q, r, k)
    return err, overlap


# -- files -------------------------------------------------------------------

SUFFIXES = (".npy", ".csv", ".npz")


def load_problem(path: str | os.PathLike) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Read a matrix Y from ``.npy`` or ``.csv``, or a data set (X, T) from ``.npz``.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy`` (one 2-D array), ``.csv`` (comma-separated numbers, one row of
        Y per line) or ``.npz`` (arrays ``X``, N×n inputs, and ``T``, N×m targets).

    Returns
    -------
    ndarray of shape (n, m), or tuple (X, T)
        What :func:`forecast` takes.

    Raises
    ------
    ValueError
        One line naming the file and what is wrong: missing, another suffix,
        unreadable, not 2-D, empty, complex, NaN or inf, or an ``.npz``
        without arrays ``X`` and ``T``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike); got {type(path).__name__}")
    path = Path(path)
    where = f"path {str(path)!r}"
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{where}: the file must end in .npy or .csv (a matrix Y) or .npz (arrays X and T); "
            f"got {path.suffix or 'no suffix'!r}"
        )
    if not path.is_file():
        raise ValueError(f"{where}: no such file")
    try:
        if suffix == ".csv":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty file: refused below as empty
                arrays = {"Y": np.loadtxt(path, delimiter=",", ndmin=2, dtype=float)}
        elif suffix == ".npy":
            arrays = {"Y": np.load(path, allow_pickle=False)}
        else:
            with np.load(path, allow_pickle=False) as z:
                missing = sorted({"X", "T"} - set(z.files))
                if missing:
                    raise LookupError(
                        f"an .npz must hold arrays X (N×n inputs) and T (N×m targets); missing "
                        f"{', '.join(missing)} (it holds {', '.join(z.files) or 'nothing'})"
                    )
                arrays = {"X": z["X"], "T": z["T"]}
    except LookupError as exc:
        raise ValueError(f"{where}: {exc.args[0]}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"{where}: cannot read it as numbers ({str(exc).splitlines()[0]})"
        ) from None
    for name, a in arrays.items():
        try:
            arrays[name] = as_finite_array(a, name, ndim=(2,))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    return (arrays["X"], arrays["T"]) if "X" in arrays else arrays["Y"]
