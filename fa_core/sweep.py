"""Parameter sweeps that run serially or through any concurrent.futures Executor.

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    points = fa.grid(k=[50, 100, 200], rule=["gd", "fa"])
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        results = fa.sweep(my_experiment, points, executor=ex)

The "spawn" start method starts each worker as a fresh Python: the default on
Linux before Python 3.14, fork, copies a process that may run threads, and
Python 3.12+ warns that this can deadlock.

A ``dask.distributed`` cluster works unchanged through its executor:
``fa.sweep(fn, points, executor=client.get_executor())``. With a process
pool or a cluster, ``fn`` must be importable (a module-level function).
Each point is a dict of keyword arguments; results come back in the order
of the points, so a sweep is as deterministic as ``fn`` itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any


def grid(**axes: Iterable) -> list[dict[str, Any]]:
    """The Cartesian product of the given axes as a list of keyword dicts.

    Parameters
    ----------
    **axes : iterable
        One list of values per keyword; the last axis varies fastest.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> import fa_core as fa
    >>> fa.grid(k=[1, 2], rule=["gd"])
    [{'k': 1, 'rule': 'gd'}, {'k': 2, 'rule': 'gd'}]
    """
    for name, values in axes.items():
        if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
            raise TypeError(
                f"grid axis {name!r} must be a list of values, e.g. {name}=[{values!r}]; got {values!r}"
            )
    names = list(axes)
    return [
        dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))
    ]


class SweepError(RuntimeError):
    """A sweep point failed; ``point`` holds its keyword arguments and ``__cause__`` the error.

    Attributes
    ----------
    index : int
        The point's position in the sweep.
    point : dict
        Its keyword arguments.

    Examples
    --------
    >>> import fa_core as fa
    >>> try:
    ...     fa.sweep(lambda k: 1 / k, fa.grid(k=[1, 0]))
    ... except fa.SweepError as err:
    ...     print(err.index, err.point, type(err.__cause__).__name__)
    1 {'k': 0} ZeroDivisionError
    """

    def __init__(self, index: int, point: dict, exc: BaseException):
        self.index, self.point = index, point
        super().__init__(f"sweep point {index} {point!r} failed: {type(exc).__name__}: {exc}")


def sweep(
    fn: Callable[..., Any],
    points: Iterable[dict],
    *,
    executor: Executor | None = None,
    progress: bool = False,
) -> list:
    """``[fn(**p) for p in points]``, serially or through ``executor.submit``.

    Parameters
    ----------
    fn : callable
        Called with each point's items as keyword arguments.
    points : iterable of dict
    executor : concurrent.futures.Executor, default=None
        Anything with ``submit`` returning futures (thread or process pools,
        a dask.distributed client's ``get_executor()``). Serial if None.
    progress : bool, default=False
        Show a bar counting finished points (silenced by ``TQDM_DISABLE``).

    Returns
    -------
    list
        Results in the order of ``points``.

    Raises
    ------
    SweepError
        For the first point (in order) that raised, or that ``executor.submit``
        refused, naming the point; the original exception is its
        ``__cause__``. Points not yet started are cancelled.

    Examples
    --------
    >>> import fa_core as fa
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> def square(k):
    ...     return k * k
    >>> with ThreadPoolExecutor(2) as ex:
    ...     fa.sweep(square, fa.grid(k=[1, 2, 3]), executor=ex)
    [1, 4, 9]
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable (called with each point's keywords); got {fn!r}")
    if isinstance(points, (str, bytes, dict)) or not isinstance(points, Iterable):
        raise TypeError(
            f"points must be a list of dicts of keyword arguments, e.g. fa.grid(...); got {points!r}"
        )
    points = list(points)
    for p in points:
        if not isinstance(p, dict):
            raise ValueError(f"each sweep point must be a dict of keyword arguments; got {p!r}")
    bar = _bar(len(points), progress)
    out = []
    futures = [] if executor is None else _submit_all(executor, fn, points)
    try:
        for i, p in enumerate(points):
            try:
                out.append(fn(**p) if executor is None else futures[i].result())
            except Exception as exc:
                for g in futures[i + 1 :]:
                    g.cancel()
                raise SweepError(i, p, exc) from exc
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


def _submit_all(executor: Executor, fn: Callable[..., Any], points: list[dict]) -> list:
    """One future per point; if ``submit`` itself fails, the point is named and the rest cancelled."""
    futures = []
    for i, p in enumerate(points):
        try:
            futures.append(executor.submit(fn, **p))
        except Exception as exc:
            for g in futures:
                g.cancel()
            raise SweepError(i, p, exc) from exc
    return futures


def _bar(total: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm  # optional, only for interactive runs; honours TQDM_DISABLE

    return tqdm(total=total, unit="point", desc="sweep")
