"""Parameter sweeps that run serially or through any concurrent.futures Executor.

    from concurrent.futures import ProcessPoolExecutor
    points = fa.grid(k=[50, 100, 200], rule=["gd", "fa"])
    with ProcessPoolExecutor(2) as ex:
        results = fa.sweep(my_experiment, points, executor=ex)

A ``dask.distributed`` cluster works unchanged through its executor:
``fa.sweep(fn, points, executor=client.get_executor())``. With a process
pool or a cluster, ``fn`` must be importable (a module-level function).
Each point is a dict of keyword arguments; results come back in the order
of the points, so a sweep is as deterministic as ``fn`` itself.
"""
from __future__ import annotations

import itertools
from concurrent.futures import Executor
from typing import Any, Callable, Iterable


def grid(**axes: Iterable) -> list[dict[str, Any]]:
    """The Cartesian product of the given axes as a list of keyword dicts.

    >>> grid(k=[1, 2], rule=["gd"])
    [{'k': 1, 'rule': 'gd'}, {'k': 2, 'rule': 'gd'}]
    """
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def sweep(fn: Callable[..., Any], points: Iterable[dict], *, executor: Executor | None = None) -> list:
    """``[fn(**p) for p in points]``, serially or through ``executor.submit``.

    Parameters
    ----------
    fn : callable
        Called with each point's items as keyword arguments.
    points : iterable of dict
    executor : concurrent.futures.Executor, optional
        Anything with ``submit`` returning futures (thread or process pools,
        a dask.distributed client's ``get_executor()``). Serial if omitted.

    Returns
    -------
    list
        Results in the order of ``points``. The first exception raised by
        any point is re-raised.
    """
    points = list(points)
    for p in points:
        if not isinstance(p, dict):
            raise ValueError(f"each sweep point must be a dict of keyword arguments; got {p!r}")
    if executor is None:
        return [fn(**p) for p in points]
    futures = [executor.submit(fn, **p) for p in points]
    return [f.result() for f in futures]
