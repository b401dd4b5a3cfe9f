"""Sweeps: serial, through a process pool, and through dask.distributed."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import fa_core as fa


def final_error(k: int, rule: str, seeds: int = 2) -> float:
    """A small experiment, importable so process pools and dask can run it."""
    t = fa.make_target(fa.low_rank_spectrum(k), 12, 10, rng=k)
    return float(fa.train(t, 2, rule, steps=300, eta=0.1, seeds=seeds).error[:, -1].sum())


POINTS = fa.grid(k=[2, 3, 4], rule=["gd", "fa"])


def test_grid_is_the_cartesian_product_in_order():
    assert fa.grid(a=[1, 2], b=["x", "y"]) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    with pytest.raises(
        TypeError, match=r"grid axis 'rule' must be a list of values, e.g. rule=\['fa'\]"
    ):
        fa.grid(rule="fa")  # a string is one value, not the axis ['f', 'a']
    with pytest.raises(TypeError, match="grid axis 'k'"):
        fa.grid(k=3)


def test_executors_give_the_serial_results_in_order():
    serial = fa.sweep(final_error, POINTS)
    assert len(set(serial)) == len(serial)  # distinct points give distinct numbers
    with ThreadPoolExecutor(2) as ex:
        assert fa.sweep(final_error, POINTS, executor=ex) == serial
    # spawn, as fa_core.sweep's docstring advises: fork of this multi-threaded process warns on 3.12+.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        assert fa.sweep(final_error, POINTS, executor=ex) == serial


def fails_at_nine(k):
    return fa.train(np.eye(3), k, "fa", steps=1, eta=0.1).error


def test_errors_propagate_and_points_are_checked():
    points = [{"k": 1}, {"k": 9}, {"k": 2}]
    with pytest.raises(
        fa.SweepError, match=r"sweep point 1 \{'k': 9\} failed: ValueError: r must be in"
    ) as err:
        fa.sweep(fails_at_nine, points)
    assert isinstance(err.value.__cause__, ValueError) and err.value.point == {"k": 9}
    with ThreadPoolExecutor(1) as ex, pytest.raises(fa.SweepError, match=r"point 1 \{'k': 9\}"):
        fa.sweep(fails_at_nine, points, executor=ex)
    with pytest.raises(ValueError, match="must be a dict"):
        fa.sweep(final_error, [3])


def test_dask_distributed_executor_works_unchanged():
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] not installed (pip install -e '.[dask]')"
    )
    serial = fa.sweep(final_error, POINTS)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        assert fa.sweep(final_error, POINTS, executor=client.get_executor()) == serial
