"""The job runner: in-process, and on a local Ray whose workers get killed mid-job."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from ped.errors import MissingDependencyError
from ped.finetune import finetune
from ped.runner import Job, run_jobs
from ped.store import ResultsDB

from . import fakes

pytestmark = pytest.mark.slow  # Ray: the full `make test` tier

GRID = {"lrs": [0.1, 0.01], "ws": [0.0, 1e-4], "steps": 12, "batch_size": 16}


def _square(x: int) -> int:
    return x * x


def _fail(x: int) -> int:
    raise ValueError(f"job {x} failed")


def _victim(x: int, folder: str) -> tuple[int, int]:
    """First attempt: announce the pid and hang until killed; a retry returns at once."""
    marker = Path(folder) / f"attempt-{x}"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(60)
    return x, os.getpid()


def test_local_runner_returns_in_order_and_reports():
    seen = []
    out = run_jobs(
        [Job(_square, (i,), key=f"sq{i}") for i in range(4)],
        on_result=lambda i, job, r: seen.append((i, job.key, r)),
    )
    assert out == [0, 1, 4, 9]
    assert seen == [(0, "sq0", 0), (1, "sq1", 1), (2, "sq2", 4), (3, "sq3", 9)]
    with pytest.raises(ValueError, match="got 'slurm'"):
        run_jobs([], executor="slurm")


def test_missing_ray_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(MissingDependencyError, match="pip install 'ray\\[default\\]'"):
        run_jobs([Job(_square, (1,))], executor="ray")


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # test-only modules are not importable in the workers: ship them by value
    ray.cloudpickle.register_pickle_by_value(fakes)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def test_ray_runner_survives_a_killed_worker(local_ray, tmp_path):
    db = ResultsDB(tmp_path / "r.sqlite")
    victim = tmp_path / "attempt-2"

    def killer():
        deadline = time.monotonic() + 60
        while not victim.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        os.kill(int(victim.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer)
    thread.start()
    received = []

    def on_result(i, job, result):
        received.append(i)
        db.record_point(
            job.key,
            model="m",
            dataset="d",
            protocol="full",
            score=result[0],
            metric="accuracy",
            seconds=0.0,
            versions={},
        )

    jobs = [Job(_victim, (i, str(tmp_path)), key=f"job{i}", max_retries=2) for i in range(4)]
    # only job 2 hangs on its first attempt; the others' markers are pre-made
    for i in (0, 1, 3):
        (tmp_path / f"attempt-{i}").write_text("-")
    out = run_jobs(jobs, executor="ray", on_result=on_result)
    thread.join(timeout=60)
    assert [x for x, _ in out] == [0, 1, 2, 3]
    killed_pid = int(victim.read_text())
    assert out[2][1] != killed_pid  # the retry ran in a new worker
    assert sorted(received) == [0, 1, 2, 3]  # every result exactly once
    assert sorted(r["config_hash"] for r in db.points()) == ["job0", "job1", "job2", "job3"]


def test_ray_job_error_is_raised_in_the_driver(local_ray):
    with pytest.raises(ValueError, match="job 7 failed"):
        run_jobs([Job(_fail, (7,))], executor="ray")


def test_ray_sweep_equals_local_and_survives_a_worker_death(local_ray, tmp_path):
    local = finetune(
        fakes.FakeBackbone(), fakes.image_splits(96, 24), db=tmp_path / "l.sqlite", **GRID
    )
    marker = tmp_path / "died"
    on_ray = finetune(
        fakes.FakeBackbone(kill_marker=str(marker)),
        fakes.image_splits(96, 24),
        db=tmp_path / "r.sqlite",
        executor="ray",
        **GRID,
    )
    assert marker.exists()  # one worker did die mid-job
    assert on_ray.n_computed == 5
    assert [v["score"] for v in on_ray.val_scores] == pytest.approx(
        [v["score"] for v in local.val_scores]
    )
    assert on_ray.best == local.best
    assert on_ray.test_score == pytest.approx(local.test_score)
    assert len(ResultsDB(tmp_path / "r.sqlite").points()) == 5
