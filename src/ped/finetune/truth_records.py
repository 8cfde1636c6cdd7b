"""The records of the fine-tuning ground truth (`ped.finetune.protocol`): one JSON line per
(target, model, seed, learning rate), appended safely by several processes, read back, and
summarised into the chosen learning rate and its accuracy per target, model and seed."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._files import UnsafeFileError, kind, open_regular

__all__ = [
    "BN_EVALS",
    "LEGACY_SETTINGS",
    "append_record",
    "load_records",
    "record_config",
    "summarise",
]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

#: Batch-norm statistics a summary can read: those training left, or recomputed ones.
BN_EVALS = ("running", "recompute")

#: Settings a record written before the field existed ran with (its ``config`` lacks them).
LEGACY_SETTINGS: dict[str, Any] = {"head_norm": "none"}


def record_config(record: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a record ran with: its stored ``config``, with `LEGACY_SETTINGS` for the
    fields that did not exist when it was written."""
    return {**LEGACY_SETTINGS, **dict(record.get("config") or {})}


def append_record(path: Path, rec: Mapping[str, Any]) -> None:
    """Append one record as one ``write`` on an ``O_APPEND`` descriptor, so that several
    worker processes can share one file without tearing each other's lines; a last line torn
    by a kill is ended first, so the new record stays readable. A symbolic link or anything
    but a regular file at ``path`` is refused (`UnsafeFileError`), never written through."""
    data = (json.dumps(rec) + "\n").encode()
    if kind(path) not in (None, "file"):
        raise UnsafeFileError(f"{path} is not a regular file")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _O_NOFOLLOW, 0o644)
    except OSError as exc:  # ELOOP: replaced by a link since the check
        raise UnsafeFileError(f"{path} cannot be opened as a regular file") from exc
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":  # a line torn by a kill: end it
            data = b"\n" + data
        os.write(fd, data)
    finally:
        os.close(fd)


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of ``records.jsonl`` (a torn last line from a kill is skipped); none when
    the file is missing. A symbolic link or a non-regular file is refused (`UnsafeFileError`)."""
    path = Path(path)
    if kind(path) is None:
        return []
    with open_regular(path) as f:
        text = f.read().decode("utf-8", errors="replace")
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def summarise(
    records: Sequence[Mapping[str, Any]], *, bn_eval: str = "recompute"
) -> dict[str, dict[str, dict[int, dict[str, Any]]]]:
    """Per target, model and seed: the chosen learning rate and its test accuracy.

    The learning rate with the best validation accuracy wins (ties: lower validation loss,
    then the smaller rate). Only complete grids (every learning rate of the record's config)
    are summarised.

    Returns
    -------
    dict
        ``{target: {spec: {seed: {"lr", "test_acc", "val_acc", "levelled", "curve",
        "train_acc", "edge"}}}}`` (``train_acc``: the last epoch's training accuracy); ``edge`` is ``"max"`` or ``"min"`` when the chosen rate is the grid's
        largest or smallest (a rate beyond the grid might do better), else None.
    """
    if bn_eval not in BN_EVALS:
        raise ValueError(f"Unknown bn_eval {bn_eval!r}; choose from {BN_EVALS}.")
    groups: dict[tuple[str, str, int], list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["target"], r["spec"], int(r["seed"])), []).append(r)
    out: dict[str, dict[str, dict[int, dict[str, Any]]]] = {}
    for (target, spec, seed), runs in sorted(groups.items()):
        lrs = {float(r["lr"]) for r in runs}
        if lrs != {float(v) for v in runs[0]["config"]["lrs"]}:
            continue
        edges = {max(lrs): "max", min(lrs): "min"} if len(lrs) > 1 else {}
        best = min(
            runs,
            key=lambda r: (-r[f"val_acc_{bn_eval}"], r[f"val_loss_{bn_eval}"], r["lr"]),
        )
        out.setdefault(target, {}).setdefault(spec, {})[seed] = {
            "lr": float(best["lr"]),
            "test_acc": float(best[f"test_acc_{bn_eval}"]),
            "val_acc": float(best[f"val_acc_{bn_eval}"]),
            "levelled": bool(best["levelled"]),
            "curve": [c["train_loss"] for c in best["curve"]],
            "train_acc": float(best["curve"][-1]["train_acc"]) if best["curve"] else math.nan,
            "edge": edges.get(float(best["lr"])),
        }
    return out
