"""Run a grid of jobs in-process or on a Ray cluster.

A `Job` is a picklable callable with its arguments and a resource request. `run_jobs` runs
a list of them and hands each result to the driver's ``on_result`` callback as soon as it
arrives, so the driver alone writes to the results database and a run cut short keeps
everything that finished.

On Ray (``executor="ray"``) each job is one Ray task with ``num_cpus``/``num_gpus`` from its
request and ``max_retries``: when the worker process running a task dies (killed, out of
memory, a lost node) Ray starts the task again, and the driver still receives exactly one
result per job. An exception raised by the job itself is not retried; it is re-raised in the
driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MissingDependencyError

__all__ = ["Job", "run_jobs", "EXECUTORS"]

#: Names accepted by ``executor=``.
EXECUTORS = ("local", "ray")


@dataclass
class Job:
    """One unit of work.

    Parameters
    ----------
    fn : callable
        The work; must be picklable (a module-level function) for Ray.
    args : tuple
        Positional arguments of `fn`.
    kwargs : dict
        Keyword arguments of `fn`.
    key : str
        Names the job in progress reports and errors.
    num_cpus : float, default 1
        CPUs the job needs (Ray only).
    num_gpus : float, default 0
        GPUs the job needs (Ray only).
    max_retries : int, default 3
        How often Ray reruns the job after its worker died.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    num_cpus: float = 1
    num_gpus: float = 0
    max_retries: int = 3

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)


ResultCallback = Callable[[int, Job, Any], None]
Progress = Callable[..., None]


def run_jobs(
    jobs: Sequence[Job],
    *,
    executor: str | None = None,
    address: str | None = None,
    on_result: ResultCallback | None = None,
    progress: Progress | None = None,
    ray_init: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Run jobs and return their results in job order.

    Parameters
    ----------
    jobs : sequence of Job
        The work.
    executor : {"local", "ray"}, optional
        ``"local"`` (default) runs the jobs one after another in this process. ``"ray"`` runs
        each as a Ray task; Ray is started with `address` unless it is running already.
    address : str, optional
        Ray cluster address (``"auto"``, ``"ray://host:10001"``); None starts a local Ray.
    on_result : callable, optional
        ``on_result(index, job, result)``, called in this process as each job finishes (in
        completion order).
    progress : callable, optional
        ``progress(done, total, key=...)`` after each job.
    ray_init : mapping, optional
        Extra keyword arguments of ``ray.init`` when this call starts Ray.

    Returns
    -------
    list
        ``results[i]`` is what ``jobs[i]`` returned.

    Raises
    ------
    ValueError
        If `executor` is not one of `EXECUTORS`.
    MissingDependencyError
        If ``executor="ray"`` and Ray is not installed.
    """
    name = executor or "local"
    if name not in EXECUTORS:
        raise ValueError(f"Expected executor to be one of {list(EXECUTORS)}, got {executor!r}.")
    if name == "local":
        return _run_local(jobs, on_result, progress)
    return _run_ray(jobs, address, on_result, progress, dict(ray_init or {}))


def _run_local(
    jobs: Sequence[Job], on_result: ResultCallback | None, progress: Progress | None
) -> list[Any]:
    results: list[Any] = []
    for i, job in enumerate(jobs):
        result = job()
        results.append(result)
        if on_result is not None:
            on_result(i, job, result)
        if progress is not None:
            progress(i + 1, len(jobs), key=job.key)
    return results


def _call_job(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


def import_ray() -> Any:
    """Import Ray, or say how to install it.

    Returns
    -------
    module
        The ``ray`` module.

    Raises
    ------
    MissingDependencyError
        If Ray is not installed.
    """
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            "executor='ray' needs Ray, which is not installed in this environment; "
            "install it with: pip install 'ray[default]' (or pip install 'ped[ray]')."
        ) from exc
    return ray


def _run_ray(
    jobs: Sequence[Job],
    address: str | None,
    on_result: ResultCallback | None,
    progress: Progress | None,
    init_kwargs: dict[str, Any],
) -> list[Any]:
    ray = import_ray()
    if not ray.is_initialized():
        init_kwargs.setdefault("log_to_driver", False)
        init_kwargs.setdefault("include_dashboard", False)
        ray.init(address=address, **init_kwargs)
    remote = ray.remote(_call_job)
    pending: dict[Any, int] = {}
    for i, job in enumerate(jobs):
        ref = remote.options(
            num_cpus=job.num_cpus,
            num_gpus=job.num_gpus,
            max_retries=job.max_retries,
            retry_exceptions=False,
            name=job.key or None,
        ).remote(job.fn, job.args, job.kwargs)
        pending[ref] = i
    results: list[Any] = [None] * len(jobs)
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                for other in pending:
                    ray.cancel(other)
                raise exc.as_instanceof_cause() from None
            results[i] = result
            done += 1
            if on_result is not None:
                on_result(i, jobs[i], result)
            if progress is not None:
                progress(done, len(jobs), key=jobs[i].key)
    return results


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn(*args, **kwargs)`` and return its result with the wall time in seconds."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
