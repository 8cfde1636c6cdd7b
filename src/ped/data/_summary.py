"""A look at a dataset before any work: its size, its classes, what was skipped, and warnings.

`summarize` reads only what a `Dataset` already knows (labels, class names, the loader's
notes in ``info``): it never decodes an image, so it costs milliseconds even for a large
folder, and the command line can print it before an extraction starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ped.data._dataset import Dataset, balanced_order

__all__ = ["DatasetSummary", "summarize", "MIN_CLASS_ITEMS"]

#: A class with fewer items than this gets a warning.
MIN_CLASS_ITEMS = 5
#: How many names or rows a warning lists before "and N more".
_SHOWN = 5


@dataclass(frozen=True)
class DatasetSummary:
    """What `summarize` found.

    Attributes
    ----------
    spec, split : str
        The dataset spec and split summarised.
    modality : {"image", "text"}
    items : int
        Items summarised (the first ``limit`` of the balanced order when a limit was given).
    total_items : int
        Items of the split before any limit.
    limit : int or None
    class_counts : dict of str to int
        Items per class, in class order (a class may have 0).
    smallest, largest : tuple of (str, int)
        The class with the fewest and with the most items (the first in class order on a
        tie), with its count.
    skipped : list of dict
        What the loader left out of the whole dataset, each ``{"item": ..., "reason": ...}``
        (unreadable image files with ``?skip_bad=1``, CSV rows with an empty label).
    warnings : list of str
        One sentence each: few or single-item classes, more classes than half the items,
        classes without items, skipped files or rows, empty texts, empty class folders.
    """

    spec: str
    split: str
    modality: str
    items: int
    total_items: int
    limit: int | None
    class_counts: dict[str, int]
    smallest: tuple[str, int]
    largest: tuple[str, int]
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset (including those with no item here)."""
        return len(self.class_counts)

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready types."""
        out = asdict(self)
        out["num_classes"] = self.num_classes
        out["smallest"] = {"class": self.smallest[0], "items": self.smallest[1]}
        out["largest"] = {"class": self.largest[0], "items": self.largest[1]}
        return out

    def lines(self) -> list[str]:
        """Return the summary as short lines of text, warnings last (prefixed ``warning:``)."""
        of = f" (first {self.items} of {self.total_items})" if self.limit is not None else ""
        out = [
            f"{self.spec} [{self.split}]: {self.items} {self.modality} items{of}, "
            f"{self.num_classes} classes",
            f"every class has {self.smallest[1]} items"
            if self.smallest[1] == self.largest[1]
            else f"smallest class {self.smallest[0]!r} ({self.smallest[1]}), "
            f"largest {self.largest[0]!r} ({self.largest[1]})",
        ]
        if self.skipped:
            reasons: dict[str, int] = {}
            for s in self.skipped:
                reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
            out.append(
                f"skipped {len(self.skipped)}: "
                + ", ".join(f"{n} {reason}" for reason, n in reasons.items())
            )
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _names(pairs: list[tuple[str, int]], *, counts: bool = True) -> str:
    shown = [f"{name!r} ({n})" if counts else repr(name) for name, n in pairs[:_SHOWN]]
    more = f" and {len(pairs) - _SHOWN} more" if len(pairs) > _SHOWN else ""
    return ", ".join(shown) + more


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_SHOWN])
    return shown + (f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else "")


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


def summarize(
    dataset: Dataset | str, *, split: str = "all", limit: int | None = None
) -> DatasetSummary:
    """Summarise a dataset and warn about what would make a ranking unreliable.

    Reads only the labels, class names and the loader's notes: no image is decoded.

    Parameters
    ----------
    dataset : Dataset or str
        A loaded dataset, or a spec for `ped.data.load_dataset`.
    split : str, default "all"
        The split to load when ``dataset`` is a spec (ignored for a `Dataset`).
    limit : int, optional
        Summarise the first ``limit`` items of `ped.data.balanced_order`, the items that
        ``limit=`` selects everywhere in ``ped`` (``ped rank --limit``).

    Returns
    -------
    DatasetSummary
        Counts, smallest and largest class, what was skipped and why, and warnings:

        * classes with fewer than 5 items, and classes with a single item;
        * more classes than half the items;
        * classes with no item in the summarised items;
        * files or rows the loader skipped, CSV rows with an empty text (kept as ``""``)
          or an empty label (dropped);
        * class folders of an image folder that hold no image (named by folder).

    Examples
    --------
    >>> s = summarize("digits", limit=20)
    >>> s.items, s.num_classes, s.smallest
    (20, 10, ('0', 2))
    >>> s.warnings[0]
    "10 classes have fewer than 5 items: '0' (2), '1' (2), '2' (2), '3' (2), '4' (2) and 5 more."
    """
    if isinstance(dataset, str):
        from ped.data import load_dataset

        dataset = load_dataset(dataset, split)
    total = len(dataset)
    labels = dataset.labels
    if limit is not None:
        limit = int(limit)
        if limit < 1:
            raise ValueError(f"Expected a limit of at least 1 item, got {limit}.")
        if limit < total:
            labels = labels[balanced_order(labels)[:limit]]
        else:
            limit = None
    n = int(labels.shape[0])
    counts = np.bincount(labels, minlength=dataset.num_classes)
    class_counts = {c: int(k) for c, k in zip(dataset.classes, counts)}
    pairs = list(class_counts.items())
    if pairs:
        smallest = min(pairs, key=lambda p: p[1])
        largest = max(pairs, key=lambda p: p[1])
    else:
        smallest = largest = ("", 0)
    info = dataset.info
    skipped = [dict(s) for s in info.get("skipped", [])]
    warnings: list[str] = []

    few = [(c, k) for c, k in pairs if 0 < k < MIN_CLASS_ITEMS]
    if few:
        warnings.append(
            f"{_plural(len(few), 'class')} {'has' if len(few) == 1 else 'have'} fewer than "
            f"{MIN_CLASS_ITEMS} items: {_names(few)}."
        )
    single = [(c, k) for c, k in pairs if k == 1]
    if single:
        warnings.append(
            f"{_plural(len(single), 'class')} {'has' if len(single) == 1 else 'have'} a "
            f"single item (no within-class spread can be estimated): "
            f"{_names(single, counts=False)}."
        )
    if dataset.num_classes > n / 2:
        warnings.append(
            f"{dataset.num_classes} classes for {n} items: more classes than half the items, "
            "so most classes hold one or two items; use more items or a coarser label."
        )
    absent = [(c, k) for c, k in pairs if k == 0]
    if absent:
        where = f"the first {n} items" if limit is not None else f"split {dataset.split!r}"
        warnings.append(
            f"{_plural(len(absent), 'class')} {'has' if len(absent) == 1 else 'have'} no item "
            f"in {where}: {_names(absent, counts=False)}."
        )
    bad_files = [s for s in skipped if s.get("reason") != "empty label"]
    if bad_files:
        first = bad_files[0]
        warnings.append(
            f"{_plural(len(bad_files), 'unreadable file')} skipped (first: {first['item']}, "
            f"{first['reason']})."
        )
    empty_label = [s for s in skipped if s.get("reason") == "empty label"]
    if empty_label:
        rows = [int(s["item"].split()[-1]) for s in empty_label]
        warnings.append(
            f"{_plural(len(rows), 'CSV row')} with an empty label dropped (data rows "
            f"{_rows(rows)})."
        )
    empty_text = list(info.get("empty_text_rows", []))
    if empty_text:
        warnings.append(
            f"{_plural(len(empty_text), 'CSV row')} with an empty text kept as '' (data rows "
            f"{_rows(empty_text)})."
        )
    empty_folders = list(info.get("empty_class_folders", []))
    if empty_folders:
        warnings.append(
            f"{_plural(len(empty_folders), 'class folder')} with no image left out: "
            + ", ".join(f"{f}/" for f in empty_folders[:_SHOWN])
            + (f" and {len(empty_folders) - _SHOWN} more" if len(empty_folders) > _SHOWN else "")
            + "."
        )
    return DatasetSummary(
        spec=dataset.spec,
        split=dataset.split,
        modality=dataset.modality,
        items=n,
        total_items=total,
        limit=limit,
        class_counts=class_counts,
        smallest=(smallest[0], int(smallest[1])),
        largest=(largest[0], int(largest[1])),
        skipped=skipped,
        warnings=warnings,
    )
