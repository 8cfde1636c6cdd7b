"""The results database: one SQLite file with sweeps, ground truths, scores and timings.

Everything `ped` measures that is worth keeping goes here, so that an interrupted sweep
resumes where it stopped and a score is never computed twice for the same inputs.

Tables
------
``points``
    One row per finished fine-tuning grid point (a validation run, or the final trainval to
    test run), keyed by ``config_hash``: the hash of everything that determines the result
    (model and its weights digest, dataset and its fingerprint, protocol, hyper-parameters,
    steps, batch size, image size, seed, limit). A point is looked up by its hash before it is
    run, so a finished one is never run again.
``sweeps``
    One row per finished sweep: the chosen pair, its validation score and the test score.
``ground_truth``
    ``(source, dataset, model) -> value`` with the metric's name. Finished sweeps write
    themselves here under the source named by their protocol (``"full"`` or ``"linear"``);
    other sources can be recorded with `ResultsDB.record_truth`. The published accuracies of
    the PED and SFDA papers are served from the JSON shipped in the package as the sources
    ``published:self_supervised_resnet50`` and ``published:supervised_imagenet``; they are
    read-only and never copied into the file.
``scores``
    Transferability scores: ``(model, dataset, name, params) -> value`` with seconds taken.
``runs``
    Timings of whole runs (a sweep, an extraction), with a free-form JSON ``info``.

Schema version
--------------
The file's ``PRAGMA user_version`` is `SCHEMA_VERSION`. A file written before versions existed
(``user_version`` 0 with the tables above) is migrated in place when it is opened; a file of a
newer version than this code knows is refused with a `ped.errors.StoreError` that says to
upgrade ``ped``. Each step of `ped.store.schema.MIGRATIONS` takes the file from one version to the next inside
one write transaction.

Concurrency
-----------
The file is opened in WAL mode with a busy timeout, every write is one short transaction, and
each process (and thread) uses its own connection, so several processes can write at once
without losing a row.
"""

from __future__ import annotations

from .database import ResultsDB
from .published import PUBLISHED_SOURCES, published_ground_truth
from .schema import SCHEMA_VERSION, library_versions

__all__ = [
    "SCHEMA_VERSION",
    "ResultsDB",
    "PUBLISHED_SOURCES",
    "published_ground_truth",
    "library_versions",
]
