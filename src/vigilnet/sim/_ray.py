"""The simulator on Ray (``vigilnet simulate --backend ray [--address ADDR]``).

Theory of operation
-------------------
A seed is a whole independent run (:mod:`vigilnet.sim._sweep`), so seeds are
the unit of distribution: each run is one Ray task that executes the same
pure function the local backend runs (:func:`~vigilnet.sim._sweep.run_one`
for a sweep, :func:`one_report` for a single seed) and returns plain JSON
values.  The driver collects the results in seed order, whatever order the
tasks finish in, and pools them with the same code as the local backend, so
the JSON is the same bytes: nothing a task returns depends on where or when
it ran.  Wall time, CPU time and peak memory are per-run facts and stay out
of the JSON here as they do locally.

Regions are not Ray tasks: in one epoch the regionals' work is cheap beside
the monitors' and the hubs' consensus reads every region's root, and the
deployment keeps one shared meter, network clock and fault schedule across
regions (``_deployment.py``); splitting it would need a per-region clock and
a deterministic merge of the meter that does not exist yet.

Ray is an optional extra (``pip install 'vigilnet[ray]'``); without it the
backend is refused with a clear error.  ``address`` is passed to
``ray.init``: ``None`` starts (or joins) a local instance, ``"auto"`` or
``"HOST:PORT"`` joins a running cluster (``ray start --head``).  An instance
this module did not start is left running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from vigilnet.sim._scenario import Scenario, ScenarioError

__all__ = ["one_report", "ray_map", "ray_session"]

T = TypeVar("T")
R = TypeVar("R")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ScenarioError("--backend ray needs Ray: pip install 'vigilnet[ray]'") from None
    return ray


@contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """Ray, initialised for the block; shut down after only if started here."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def ray_map(fn: Callable[[T], R], items: list[T], address: str | None = None) -> list[R]:
    """``[fn(x) for x in items]``, each call a Ray task, results in input order."""
    with ray_session(address) as ray:
        task = ray.remote(fn)
        return list(ray.get([task.remote(x) for x in items]))


def one_report(scenario: Scenario) -> str:
    """One run's JSON report text (a Ray task's body for a single seed)."""
    from vigilnet.sim._deployment import run_deployment
    from vigilnet.sim._report import make_report, report_json

    return report_json(make_report(run_deployment(scenario)))
