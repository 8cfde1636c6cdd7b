"""Reading scores for an evaluation: the JSON layouts ``ped evaluate`` and ``ped report`` take."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["load_scores"]


def load_scores(path: str | Path, dataset: str | None = None) -> tuple[str, dict[str, dict]]:
    """Read scores from a JSON file.

    Accepted layouts: the output of ``ped rank --json`` (``{"dataset", "ranking": [...]}``);
    ``{"dataset": ..., "scores": {score: {model: value}}}``; ``{score: {model: value}}``; and
    ``{dataset: {score: {model: value}}}`` (then `dataset` picks one).

    Parameters
    ----------
    path : str or Path
    dataset : str, optional
        Dataset to read from a file with several; also the name used when the file has none.

    Returns
    -------
    (dataset, scores)
        The dataset's name and ``{score: {model: value}}``.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing file, or a layout not listed above.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Scores file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"Scores file {path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ValueError(f"Expected a JSON object in {path}, got {type(data).__name__}.")
    if "ranking" in data:
        out: dict[str, dict[str, float]] = {}
        for entry in data["ranking"]:
            for s, v in entry["values"].items():
                if v is not None:
                    out.setdefault(s, {})[entry["model"]] = float(v)
        return str(data.get("dataset") or dataset or path.stem), out
    if isinstance(data.get("scores"), dict):
        return str(data.get("dataset") or dataset or path.stem), _numeric_table(
            data["scores"], path
        )

    def depth(obj: Any) -> int:
        return 1 + depth(next(iter(obj.values()))) if isinstance(obj, dict) and obj else 0

    d = depth(data)
    if d == 2:
        return str(dataset or path.stem), _numeric_table(data, path)
    if d == 3:
        if dataset is None:
            if len(data) != 1:
                raise ValueError(
                    f"{path} holds scores of several datasets ({', '.join(data)}); name one."
                )
            dataset = next(iter(data))
        if dataset not in data:
            raise ValueError(f"{path} has no scores for {dataset!r}; it has {', '.join(data)}.")
        return dataset, _numeric_table(data[dataset], path)
    raise ValueError(
        f"Expected scores in {path} as {{score: {{model: value}}}} or the output of "
        "`ped rank --json`, got another layout."
    )


def _numeric_table(obj: Mapping[str, Any], path: Path) -> dict[str, dict[str, float]]:
    out = {}
    for s, vals in obj.items():
        if not isinstance(vals, dict):
            raise ValueError(f"Expected {{model: value}} for score {s!r} in {path}.")
        out[str(s)] = {str(m): float(v) for m, v in vals.items() if v is not None}
    return out
