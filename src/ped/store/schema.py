"""The tables of the results database, their version and the migrations between versions.

`SCHEMA_VERSION` is kept in the file's ``PRAGMA user_version``. ``MIGRATIONS[v]`` takes a file
from version ``v`` to ``v + 1`` (inside the write transaction that `ped.store.ResultsDB` opens),
so a file from any earlier release reaches the current tables one step at a time. Version 0 is
the file of the first release, which had no version.
"""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA_VERSION", "TABLES", "MIGRATIONS", "POINT_COLUMNS", "library_versions"]

#: The tables of version 1, as the first versioned release wrote them (kept frozen: the
#: migration from version 0 creates exactly these, and later migrations change them).
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
SCHEMA_VERSION = 2

# Version 2: a score or grid point may have no value (SQLite stores a NaN as NULL, which the
# NOT NULL columns of version 1 refused: `ped rank` crashed half-way, and a sweep's INSERT OR
# IGNORE dropped the point). The value becomes nullable and a ``reason`` says why it is
# missing; ``priors`` keeps each model's data-free prior, so a repeated `ped rank` need not
# load the model again.
_SCORES_V2 = """
CREATE TABLE scores_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    value REAL,
    reason TEXT,
    seconds REAL,
    created REAL NOT NULL,
    UNIQUE (model, dataset, name, params)
)"""

_POINTS_V2 = """
CREATE TABLE points_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    config_hash TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    dataset TEXT NOT NULL,
    protocol TEXT NOT NULL,
    phase TEXT NOT NULL,
    lr REAL, w REAL, wd REAL, c REAL,
    steps INTEGER, batch_size INTEGER, seed INTEGER, limit_n INTEGER,
    score REAL,
    reason TEXT,
    metric TEXT NOT NULL,
    seconds REAL NOT NULL,
    config TEXT NOT NULL,
    versions TEXT NOT NULL,
    created REAL NOT NULL
)"""

_PRIORS_V2 = """
CREATE TABLE IF NOT EXISTS priors (
    model TEXT PRIMARY KEY,
    params INTEGER,
    imagenet_top1 REAL,
    created REAL NOT NULL
)"""


def _migrate_0_to_1(con: sqlite3.Connection) -> None:
    """Version 0 (no version, the tables of the first release) -> 1: the same tables."""
    for statement in TABLES.split(";"):
        if statement.strip():
            con.execute(statement)


def _rebuild(con: sqlite3.Connection, table: str, create: str, columns: str) -> None:
    """Copy `table` into the new layout `create` (named ``<table>_v2``) and swap them."""
    con.execute(create)
    con.execute(f"INSERT INTO {table}_v2 ({columns}) SELECT {columns} FROM {table}")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}_v2 RENAME TO {table}")


def _migrate_1_to_2(con: sqlite3.Connection) -> None:
    """Version 1 -> 2: nullable score values with a ``reason``, and the ``priors`` table.

    Every row is kept (``reason`` is NULL for them: they all have a value).
    """
    _rebuild(con, "scores", _SCORES_V2, "id, model, dataset, name, params, value, seconds, created")
    _rebuild(con, "points", _POINTS_V2, "id, " + ", ".join(POINT_COLUMNS))
    con.execute("CREATE INDEX IF NOT EXISTS points_md ON points (model, dataset, protocol)")
    con.execute(_PRIORS_V2)


#: ``MIGRATIONS[v]`` takes a file from version ``v`` to ``v + 1``.
MIGRATIONS = {0: _migrate_0_to_1, 1: _migrate_1_to_2}

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
