"""The tables of the results database, their version and the migrations between versions.

`SCHEMA_VERSION` is kept in the file's ``PRAGMA user_version``. ``MIGRATIONS[v]`` takes a file
from version ``v`` to ``v + 1`` (inside the write transaction that `ped.store.ResultsDB` opens),
so a file from any earlier release reaches the current tables one step at a time. Version 0 is
the file of the first release, which had no version.
"""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA_VERSION", "TABLES", "MIGRATIONS", "POINT_COLUMNS", "library_versions"]

TABLES = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    config_hash TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    protocol TEXT NOT NULL,
    phase TEXT NOT NULL,
    lr REAL, w REAL, wd REAL, c REAL,
    steps INTEGER, batch_size INTEGER, seed INTEGER, limit_n INTEGER,
    score REAL NOT NULL,
    metric TEXT NOT NULL,
    seconds REAL NOT NULL,
    config TEXT NOT NULL,
    versions TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS points_md ON points (model, dataset, protocol);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_hash TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    protocol TEXT NOT NULL,
    best_lr REAL, best_w REAL, best_wd REAL, best_c REAL,
    val_score REAL NOT NULL,
    test_score REAL NOT NULL,
    metric TEXT NOT NULL,
    seconds REAL NOT NULL,
    config TEXT NOT NULL,
    versions TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ground_truth (
    source TEXT NOT NULL,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    value REAL NOT NULL,
    metric TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (source, dataset, model)
);
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    value REAL NOT NULL,
    seconds REAL,
    created REAL NOT NULL,
    UNIQUE (model, dataset, name, params)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    started REAL NOT NULL,
    seconds REAL NOT NULL,
    status TEXT NOT NULL,
    info TEXT NOT NULL
);
"""

#: Version of the tables this code writes (SQLite ``PRAGMA user_version``).
SCHEMA_VERSION = 1


def _migrate_0_to_1(con: sqlite3.Connection) -> None:
    """Version 0 (no version, the tables of the first release) -> 1: the same tables."""
    for statement in TABLES.split(";"):
        if statement.strip():
            con.execute(statement)


#: ``MIGRATIONS[v]`` takes a file from version ``v`` to ``v + 1``.
MIGRATIONS = {0: _migrate_0_to_1}

POINT_COLUMNS = (
    "config_hash",
    "model",
    "dataset",
    "protocol",
    "phase",
    "lr",
    "w",
    "wd",
    "c",
    "steps",
    "batch_size",
    "seed",
    "limit_n",
    "score",
    "metric",
    "seconds",
    "config",
    "versions",
    "created",
)


def library_versions() -> dict[str, str]:
    """Versions of the libraries that can change a result, for the ``versions`` columns.

    Returns
    -------
    dict of str to str
        ``python``, ``ped``, ``numpy``, ``torch`` and ``sklearn`` (those importable).
    """
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist, key in (
        ("ped", "ped"),
        ("numpy", "numpy"),
        ("torch", "torch"),
        ("scikit-learn", "sklearn"),
    ):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
