"""`ResultsDB`: the results database, one SQLite file (see `ped.store` for its tables)."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ped._paths import results_db_path
from ped.errors import StoreError

from .published import PUBLISHED_SOURCES, published_ground_truth, published_metric
from .schema import MIGRATIONS, POINT_COLUMNS, SCHEMA_VERSION, library_versions
from .scores_table import ScoresTable

__all__ = ["ResultsDB"]


def _jsonable(params: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(params or {}), sort_keys=True, default=str)


class ResultsDB(ScoresTable):
    """The results database, one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The file. Default: ``ped._paths.results_db_path()`` (``$PED_HOME/results.sqlite``).
        Its folder is created if missing.
    timeout : float, default 60.0
        Seconds a writer waits for another writer's transaction before giving up.

    Raises
    ------
    StoreError
        If the file cannot be opened or is not a SQLite database.

    Notes
    -----
    Connections are opened lazily, one per process and thread, so a `ResultsDB` can be passed
    to forked workers and used from several threads.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 60.0):
        if path is None:
            path = results_db_path()
        self.path = Path(path).expanduser()
        self.timeout = float(timeout)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the folder of the results database {self.path}: {exc}; "
                "pass another path (--db) or set PED_HOME."
            ) from exc
        self._upgrade()

    def __repr__(self) -> str:
        return f"ResultsDB({str(self.path)!r})"

    @property
    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``)."""
        return int(self._read("PRAGMA user_version")[0][0])

    def _upgrade(self) -> None:
        """Create the tables, or migrate an older file in place, or refuse a newer one."""
        if self.schema_version == SCHEMA_VERSION:
            return
        with self._write() as con:  # one writer migrates; the others find it done
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"Results database {self.path} has schema version {version}, newer than "
                    f"the {SCHEMA_VERSION} this ped knows; upgrade ped or pass another --db."
                )
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](con)
                version += 1
                con.execute(f"PRAGMA user_version = {version}")

    # pickling: connections never travel, a worker reconnects
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.timeout = state["timeout"]
        self._local = threading.local()

    # ----------------------------------------------------------------- connections
    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        pid = getattr(self._local, "pid", None)
        if con is not None and pid == os.getpid():
            return con
        try:
            con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"Cannot open the results database {self.path}: {exc}; "
                "pass another path (--db) or move the broken file away."
            ) from exc
        self._local.con = con
        self._local.pid = os.getpid()
        return con

    def close(self) -> None:
        """Close this thread's connection (a later call reopens it)."""
        con = getattr(self._local, "con", None)
        if con is not None and getattr(self._local, "pid", None) == os.getpid():
            con.close()
        self._local.con = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        con = self._connection()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"Results database {self.path}: {exc}.") from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"Results database {self.path} stayed locked for {self.timeout:.0f} s; "
                        "another process holds it, try again."
                    ) from exc
                time.sleep(0.05)
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self._connection().execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Results database {self.path}: {exc}.") from exc

    # ----------------------------------------------------------------- grid points
    def record_point(
        self,
        config_hash: str,
        *,
        model: str,
        dataset: str,
        protocol: str,
        score: float,
        metric: str,
        seconds: float,
        phase: str = "val",
        lr: float | None = None,
        w: float | None = None,
        wd: float | None = None,
        c: float | None = None,
        steps: int | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        limit: int | None = None,
        config: Mapping[str, Any] | None = None,
        versions: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> bool:
        """Store one finished grid point.

        Parameters
        ----------
        config_hash : str
            Hash of everything that determines the result; the point's identity.
        model, dataset, protocol : str
            What was trained, on what, how (``"full"`` or ``"linear"``).
        score : float
            The validation score (``phase="val"``) or the test score (``phase="test"``).
            A NaN (a diverged run) is stored as missing, with `reason`, and read back as
            None; such a point is never chosen as the best.
        metric : str
            Name of the metric of `score`.
        seconds : float
            Wall time of the point.
        phase : {"val", "test"}
            A validation run on train -> val, or the final run on trainval -> test.
        lr, w, wd, c : float, optional
            Learning rate, the grid's w, the weight decay used (w / lr), the logistic
            regression's C (linear protocol).
        steps, batch_size, seed, limit : int, optional
            The rest of the configuration, stored for reading.
        config : mapping, optional
            The full configuration that was hashed (stored as JSON).
        versions : mapping, optional
            Library versions; default `library_versions()`.
        reason : str, optional
            Why `score` is missing (default: "the score is not a finite number").

        Returns
        -------
        bool
            True if the row was new, False if a point with this hash was already stored (the
            stored row is kept: a point is recorded exactly once).
        """
        value = float(score)
        if not math.isfinite(value):
            reason = reason or f"the score is not a finite number ({value})"
        else:
            reason = None
        row = (
            config_hash,
            model,
            dataset,
            protocol,
            phase,
            lr,
            w,
            wd,
            c,
            steps,
            batch_size,
            seed,
            limit,
            value if reason is None else None,
            metric,
            float(seconds),
            _jsonable(config),
            _jsonable(versions if versions is not None else library_versions()),
            time.time(),
        )
        cols = ", ".join((*POINT_COLUMNS, "reason"))
        marks = ", ".join("?" for _ in range(len(POINT_COLUMNS) + 1))
        with self._write() as con:
            cur = con.execute(
                f"INSERT OR IGNORE INTO points ({cols}) VALUES ({marks})", (*row, reason)
            )
            return cur.rowcount == 1

    def point(self, config_hash: str) -> dict[str, Any] | None:
        """The stored grid point with this hash, or None.

        Parameters
        ----------
        config_hash : str
            The point's identity (see `record_point`).

        Returns
        -------
        dict or None
            The row as a dict (``config`` and ``versions`` decoded), None if not stored.
        """
        rows = self._read("SELECT * FROM points WHERE config_hash = ?", (config_hash,))
        return _decode(rows[0]) if rows else None

    def points(
        self,
        model: str | None = None,
        dataset: str | None = None,
        protocol: str | None = None,
        *,
        phase: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stored grid points, oldest first, filtered by any of the given fields.

        Parameters
        ----------
        model, dataset, protocol, phase : str, optional
            Keep only rows with these values.

        Returns
        -------
        list of dict
            One dict per row (see `point`).
        """
        where, args = _where(model=model, dataset=dataset, protocol=protocol, phase=phase)
        rows = self._read(f"SELECT * FROM points{where} ORDER BY id", args)
        return [_decode(r) for r in rows]

    # ----------------------------------------------------------------- sweeps
    def record_sweep(
        self,
        sweep_hash: str,
        *,
        model: str,
        dataset: str,
        protocol: str,
        best: Mapping[str, Any],
        val_score: float,
        test_score: float,
        metric: str,
        seconds: float,
        config: Mapping[str, Any] | None = None,
        versions: Mapping[str, str] | None = None,
        source: str | None = None,
    ) -> None:
        """Store a finished sweep and its test score as ground truth.

        Parameters
        ----------
        sweep_hash : str
            Hash of the sweep's whole configuration; a second record replaces the first.
        model, dataset, protocol : str
            What was swept.
        best : mapping
            The chosen point: keys among ``lr``, ``w``, ``wd``, ``c``.
        val_score, test_score : float
            Validation score of the chosen point, and the test score after retraining.
        metric : str
            Name of the test metric.
        seconds : float
            Wall time of the sweep (the sum over its points when resumed).
        config : mapping, optional
            The sweep's configuration (stored as JSON).
        versions : mapping, optional
            Library versions; default `library_versions()`.
        source : str, optional
            Ground-truth source to write the test score under; default `protocol`.
        """
        now = time.time()
        row = (
            sweep_hash,
            model,
            dataset,
            protocol,
            best.get("lr"),
            best.get("w"),
            best.get("wd"),
            best.get("c"),
            float(val_score),
            float(test_score),
            metric,
            float(seconds),
            _jsonable(config),
            _jsonable(versions if versions is not None else library_versions()),
            now,
        )
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO sweeps (sweep_hash, model, dataset, protocol, best_lr, "
                "best_w, best_wd, best_c, val_score, test_score, metric, seconds, config, "
                "versions, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            con.execute(
                "INSERT OR REPLACE INTO ground_truth (source, dataset, model, value, metric, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                (source or protocol, dataset, model, float(test_score), metric, now),
            )

    def sweep(self, sweep_hash: str) -> dict[str, Any] | None:
        """The stored sweep with this hash, or None."""
        rows = self._read("SELECT * FROM sweeps WHERE sweep_hash = ?", (sweep_hash,))
        return _decode(rows[0]) if rows else None

    def sweeps(
        self, model: str | None = None, dataset: str | None = None, protocol: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored sweeps, oldest first, filtered by any of the given fields."""
        where, args = _where(model=model, dataset=dataset, protocol=protocol)
        return [_decode(r) for r in self._read(f"SELECT * FROM sweeps{where} ORDER BY id", args)]

    # ----------------------------------------------------------------- ground truth
    def record_truth(
        self, source: str, dataset: str, values: Mapping[str, float], *, metric: str
    ) -> None:
        """Store ground-truth values of one source and dataset (replacing older ones).

        Parameters
        ----------
        source : str
            Name of the source, e.g. ``"full"`` or ``"my-lab-2024"``. Names starting with
            ``published:`` are reserved for the packaged tables.
        dataset : str
            Dataset name.
        values : mapping of str to float
            ``{model: value}``.
        metric : str
            Name of the metric of the values.

        Raises
        ------
        ValueError
            If `source` is one of the packaged published sources.
        """
        if source.startswith("published:"):
            raise ValueError(
                f"Expected a source name not starting with 'published:', got {source!r}; "
                "those names are the read-only packaged tables."
            )
        now = time.time()
        with self._write() as con:
            con.executemany(
                "INSERT OR REPLACE INTO ground_truth (source, dataset, model, value, metric, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                [(source, dataset, m, float(v), metric, now) for m, v in values.items()],
            )

    def ground_truth(self, source: str, dataset: str) -> dict[str, float]:
        """Ground-truth values of one source on one dataset.

        Parameters
        ----------
        source : str
            A source from `truth_sources`, e.g. ``"published:supervised_imagenet"``,
            ``"full"`` or ``"linear"``.
        dataset : str
            Dataset name (for the published sources, e.g. ``"cifar10"``).

        Returns
        -------
        dict of str to float
            ``{model: value}``, sorted by model name; empty if nothing is known.
        """
        if source in PUBLISHED_SOURCES:
            table = published_ground_truth()[source].get(dataset, {})
            return dict(sorted(table.items()))
        rows = self._read(
            "SELECT model, value FROM ground_truth WHERE source = ? AND dataset = ? ORDER BY model",
            (source, dataset),
        )
        return {r["model"]: float(r["value"]) for r in rows}

    def truth_sources(self, dataset: str | None = None) -> list[tuple[str, str, int, str]]:
        """Every ground truth known: packaged tables first, then the database's.

        Parameters
        ----------
        dataset : str, optional
            Keep only this dataset.

        Returns
        -------
        list of (source, dataset, n_models, metric)
        """
        out: list[tuple[str, str, int, str]] = []
        for source, table in published_ground_truth().items():
            for ds, models in table.items():
                if dataset is None or ds == dataset:
                    out.append((source, ds, len(models), published_metric(ds)))
        where, args = _where(dataset=dataset)
        rows = self._read(
            f"SELECT source, dataset, COUNT(*) AS n, MAX(metric) AS metric FROM ground_truth"
            f"{where} GROUP BY source, dataset ORDER BY source, dataset",
            args,
        )
        out.extend((r["source"], r["dataset"], int(r["n"]), r["metric"]) for r in rows)
        return out

    # ----------------------------------------------------------------- runs
    def record_run(
        self,
        kind: str,
        key: str,
        *,
        started: float,
        seconds: float,
        status: str = "ok",
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Store the timing of one run (a sweep, an extraction, a scoring pass).

        Parameters
        ----------
        kind : str
            What ran, e.g. ``"sweep"``.
        key : str
            Which one, e.g. the sweep hash or ``"model|dataset"``.
        started : float
            Start time (``time.time()``).
        seconds : float
            Wall time.
        status : str, default "ok"
            Outcome.
        info : mapping, optional
            Anything else (stored as JSON).
        """
        with self._write() as con:
            con.execute(
                "INSERT INTO runs (kind, key, started, seconds, status, info) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kind, key, float(started), float(seconds), status, _jsonable(info)),
            )

    def runs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Stored run timings, oldest first."""
        where, args = _where(kind=kind)
        return [_decode(r) for r in self._read(f"SELECT * FROM runs{where} ORDER BY id", args)]


def _where(**fields: Any) -> tuple[str, tuple[Any, ...]]:
    keep = [(k, v) for k, v in fields.items() if v is not None]
    if not keep:
        return "", ()
    return " WHERE " + " AND ".join(f"{k} = ?" for k, _ in keep), tuple(v for _, v in keep)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("config", "versions", "info"):
        if key in out and isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out
