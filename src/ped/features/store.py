"""The feature store: layout, keys, entries, checksums, locks, listing, removal and cleaning.

Layout (one folder per key, every name below created by the store itself)::

    <root>/<key>/features.npy        (N, D) float32
                 labels.npy          (N,) int64
                 source_probs.npy    (N, Cs) float32, when the model has a source classifier
                 targets.npy         (N, C) float32, for multi-label datasets (VOC2007)
                 meta.json           model, dataset, split, N, D, timings, created, checksum
                 reference_stats.npz written by `ped.features.reference_stats`
    <root>/.partial/<key>/           an unfinished extraction (arrays filled row by row, and
                                     progress.json)
    <root>/.locks/<key>.lock         the key's lock (`ped._locking`), held while an entry is
                                     built, removed or cleaned
    <root>/.tmp/trash-<key>-*/       entries being deleted (moved here first, atomically)

The key is a content hash of (model spec, weights digest, preprocess id, dataset fingerprint,
split, limit, store format version): 32 hexadecimal characters. A complete entry appears only by
renaming a complete folder, so a reader never sees a half-written one.

Trust: ``meta.json`` carries the sha256 of every array file and of the rest of ``meta.json``
(``checksum``). An entry is checked on every open (shapes, sizes, headers, the meta digest) and
its array checksums are verified the first time a process opens it (again whenever a file's
size, inode or modification time changes); a damaged entry is a `ped.errors.StoreError` for
`FeatureStore.get` and is reported and extracted again by `ped.features.extract`. The store
never follows a symbolic link or opens anything but a regular file inside it (see `ped._files`),
and it deletes only names it writes, as regular files, in folders it created.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ped import _paths
from ped._locking import file_lock
from ped.errors import StoreError

from .. import _files
from .._files import kind
from .entry import FORMAT_VERSION, DamagedEntry, FeatureSet, feature_key, load_entry

__all__ = [
    "FORMAT_VERSION",
    "FeatureSet",
    "FeatureStore",
    "as_store",
    "feature_key",
    "open_entry",
]

logger = logging.getLogger(__name__)

#: Files an entry (or an unfinished extraction) may hold, all written by the store.
ENTRY_FILES = (
    "features.npy",
    "labels.npy",
    "source_probs.npy",
    "targets.npy",
    "meta.json",
    "reference_stats.npz",
    "progress.json",
)
_KEY = re.compile(r"^[0-9a-f]{32}$")
_KEY_PREFIX = re.compile(r"^[0-9a-f]{4,32}$")
_REMOVABLE = ("partial", "stale", "damaged")
_TRASH = re.compile(r"^trash-([0-9a-f]{32})-\d+-[0-9a-f]{8}$")


class FeatureStore:
    """A directory of feature entries, one per content key.

    Parameters
    ----------
    root : str or Path, optional
        Default ``$PED_HOME/features`` (`ped._paths.feature_store_dir`).

    Examples
    --------
    >>> import tempfile
    >>> store = FeatureStore(tempfile.mkdtemp())
    >>> store.entries()
    []
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else _paths.feature_store_dir()

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.root)!r})"

    # -- paths and locks -----------------------------------------------------------------

    def _ensure(self) -> None:
        """Create the root and its three service folders, refusing links in their place."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for sub in (".partial", ".locks", ".tmp"):
                path = self.root / sub
                if kind(path) is None:
                    path.mkdir(exist_ok=True)
                if kind(path) != "dir":
                    raise StoreError(
                        f"Feature store folder {path} is not a plain folder (a link or a "
                        "file); the store never follows links, remove it and run again."
                    )
        except OSError as e:
            raise StoreError(
                f"Feature store {self.root} cannot be created ({e.strerror}); set PED_HOME to "
                "a writable folder or pass store=."
            ) from None

    def entry_path(self, key: str) -> Path:
        return self.root / key

    def partial_path(self, key: str) -> Path:
        return self.root / ".partial" / key

    def __contains__(self, key: object) -> bool:
        return (
            isinstance(key, str)
            and bool(_KEY.match(key))
            and kind(self.root / key) == "dir"
            and kind(self.root / key / "meta.json") == "file"
        )

    @contextmanager
    def lock(self, key: str, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the exclusive lock of ``key`` (released if the process dies).

        Yields whether it is held (always True when ``blocking``).
        """
        if not _KEY.match(key):
            raise StoreError(f"Feature store key {key!r} is not a valid key.")
        self._ensure()
        path = self.root / ".locks" / f"{key}.lock"
        if kind(path) not in (None, "file"):
            raise StoreError(
                f"Lock file {path} is not a regular file; the store never follows links, "
                "remove it and run again."
            )
        with file_lock(path, blocking=blocking) as held:
            yield held

    def partial_folder(self, key: str) -> Path:
        """The unfinished-extraction folder of ``key``, created by the store if missing.

        Call with the key's lock held.

        Raises
        ------
        ped.errors.StoreError
            When something that is not a plain folder (a symbolic link) sits in its place.
        """
        self._ensure()
        path = self.partial_path(key)
        if kind(path) is None:
            path.mkdir()
        if kind(path) != "dir":
            raise StoreError(
                f"Feature store path {path} is not a plain folder (a link or a file); the "
                "store never follows links, remove it and run again."
            )
        return path

    # -- reading ---------------------------------------------------------------------------

    def _entry_dirs(self) -> list[Path]:
        if kind(self.root) not in ("dir", "link"):  # the root itself may be a link
            return []
        return sorted(
            d for d in self.root.iterdir() if _KEY.match(d.name) and kind(d) == "dir"
        )  # fmt: skip

    def entries(self) -> list[dict[str, Any]]:
        """Return the ``meta.json`` of every complete entry, oldest first.

        Each dict also has ``key``, ``path`` and ``size_bytes``. Entries are listed from their
        ``meta.json`` alone; their arrays are checked when they are opened.

        Returns
        -------
        list of dict
        """
        out = []
        for d in self._entry_dirs():
            meta = _files.read_json(d / "meta.json")
            if meta is None:
                continue
            meta = dict(meta)
            meta["key"] = d.name
            meta["path"] = str(d)
            meta["size_bytes"] = _files.size_of(d)
            out.append(meta)
        out.sort(key=lambda m: (str(m.get("created", "")), m["key"]))
        return out

    def leftovers(self) -> list[dict[str, Any]]:
        """Unfinished extractions and the store's own debris, for `ped features list`.

        Returns
        -------
        list of dict
            ``status`` (``"partial"``: an extraction running now; ``"stale"``: an interrupted
            extraction, which the next `extract` resumes; ``"damaged"``: an entry folder
            without a readable ``meta.json``; ``"trash"``: a removal that was cut short; ``"tmp"``: a temporary file of a killed writer; ``"foreign"``: something
            the store did not create, which it never touches), ``key``, ``path`` and
            ``size_bytes``. `clean` removes all but the partial and foreign ones.
        """
        out: list[dict[str, Any]] = []
        if kind(self.root) not in ("dir", "link"):
            return out

        def add(status: str, key: str | None, path: Path) -> None:
            size = _files.size_of(path) if kind(path) == "dir" else 0
            if kind(path) == "file":
                size = os.lstat(path).st_size
            out.append({"status": status, "key": key, "path": str(path), "size_bytes": size})

        partial = self.root / ".partial"
        if kind(partial) == "dir":
            for p in sorted(partial.iterdir()):
                if not (_KEY.match(p.name) and kind(p) == "dir"):
                    add("foreign", None, p)
                else:
                    add("partial" if self._busy(p.name) else "stale", p.name, p)
        trash = self.root / ".tmp"
        if kind(trash) == "dir":
            for p in sorted(trash.iterdir()):
                m = _TRASH.match(p.name)
                add("trash" if m and kind(p) == "dir" else "foreign", m and m.group(1), p)
        for d in self._entry_dirs():
            if _files.read_json(d / "meta.json") is None:
                add("damaged", d.name, d)
                continue
            for f in sorted(d.iterdir()):
                if _files.TMP_NAME.match(f.name) and kind(f) == "file":
                    add("tmp", d.name, f)
        return out

    def _busy(self, key: str) -> bool:
        """Whether another process holds the key's lock (False when it cannot be told)."""
        try:
            with self.lock(key, blocking=False) as held:
                return not held
        except StoreError:
            return False

    def _resolve(self, key: str, *, also: tuple[str, ...] = ()) -> str:
        """The full key of the listed entry that ``key`` names (a unique prefix will do)."""
        if not isinstance(key, str) or not _KEY_PREFIX.match(key):
            raise StoreError(
                f"Feature store key {key!r} is not a valid key (4 to 32 hexadecimal "
                "characters); `ped features list` shows the keys."
            )
        listed = {e["key"] for e in self.entries()}
        if also:  # leftovers of these statuses too
            listed |= {e["key"] for e in self.leftovers() if e["status"] in also}
        matches = sorted(k for k in listed if k.startswith(key))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise StoreError(
                f"Feature store key prefix {key!r} matches {len(matches)} entries in "
                f"{self.root}; give more characters."
            )
        raise StoreError(
            f"Feature store {self.root} has no entry {key!r}; `ped features list` shows them."
        )

    def get(self, key: str) -> FeatureSet:
        """Open an entry (arrays memory-mapped read-only), after checking it.

        Parameters
        ----------
        key : str
            A full key or a unique prefix of at least 4 characters.

        Returns
        -------
        FeatureSet
            With ``cached=True``.

        Raises
        ------
        ped.errors.StoreError
            When there is no such entry or it is damaged (a checksum that does not match,
            arrays that do not fit ``meta.json``, a file that is not a regular file).
        """
        return self.open(self._resolve(key, also=("damaged",)))

    def open(self, key: str, *, cached: bool = True) -> FeatureSet:
        """Open the entry of a full key, after checking it (see `get`)."""
        if not isinstance(key, str) or not _KEY.match(key):
            raise StoreError(f"Feature store key {key!r} is not a valid key.")
        path = self.entry_path(key)
        try:
            fs, adopted = load_entry(path, cached=cached)
        except DamagedEntry as exc:
            raise StoreError(
                f"Feature store entry {path} is damaged ({exc}); remove it with "
                f"`ped features remove {key}` and extract again."
            ) from None
        if adopted:  # an entry from before checksums: write its checksum when we can
            try:
                with self.lock(key, blocking=False) as held:
                    if held:
                        _files.write_json_atomic(path / "meta.json", fs.meta)
                        logger.info("Feature store entry %s: checksum added.", path)
            except (OSError, StoreError):
                pass  # a read-only store: verified for this process only
        return fs

    def remove(self, key: str) -> list[str]:
        """Delete an entry listed by `entries` or `leftovers` (and its unfinished extraction).

        Parameters
        ----------
        key : str
            A full key or a unique prefix of at least 4 hexadecimal characters, as
            `ped features list` shows it; never a path.

        Returns
        -------
        list of str
            The folders removed.

        Raises
        ------
        ped.errors.StoreError
            When ``key`` is not a key, names no listed entry, or names several.
        """
        full = self._resolve(key, also=_REMOVABLE)
        removed: list[str] = []
        with self.lock(full):
            for path in (self.entry_path(full), self.partial_path(full)):
                if kind(path) == "dir":
                    self.discard(path)
                    removed.append(str(path))
        return removed

    def discard(self, path: Path) -> None:
        """Move an entry or partial folder to the trash atomically, then delete it.

        Call with the key's lock held. Only the store's own file names are deleted, as
        regular files; a folder that holds anything else stays in ``.tmp`` (listed as trash).
        """
        if kind(path) != "dir":
            return
        self._ensure()
        trash = self.root / ".tmp" / f"trash-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(path, trash)
        self._empty_trash(trash)

    def _empty_trash(self, trash: Path) -> bool:
        for f in trash.iterdir():
            if f.name in ENTRY_FILES or _files.TMP_NAME.match(f.name):
                _files.unlink_if_regular(f)
        try:
            trash.rmdir()
        except OSError:
            logger.warning(
                "Feature store folder %s holds files the store did not write; it is left in place.",
                trash,
            )
            return False
        return True

    def clean(self) -> list[str]:
        """Remove interrupted extractions, unreadable entries, cut-short removals, tmp files.

        Only what `leftovers` lists as ``stale``, ``damaged``, ``trash`` or ``tmp`` is removed,
        each under its key's lock (an extraction running now is left alone).

        Returns
        -------
        list of str
            The paths removed.
        """
        removed: list[str] = []
        for item in self.leftovers():
            status, key, path = item["status"], item["key"], Path(item["path"])
            if status not in ("stale", "damaged", "trash", "tmp"):
                continue
            with self.lock(key, blocking=False) as held:
                if not held:
                    continue
                if status in ("stale", "damaged") and kind(path) == "dir":
                    self.discard(path)
                    removed.append(str(path))
                elif status == "trash" and kind(path) == "dir":
                    if self._empty_trash(path):
                        removed.append(str(path))
                elif status == "tmp" and _files.unlink_if_regular(path):
                    removed.append(str(path))
        return removed

    def clean_key(self, key: str) -> None:
        """Remove cut-short removals of ``key`` (call with its lock held)."""
        tmp = self.root / ".tmp"
        if kind(tmp) != "dir":
            return
        for d in tmp.iterdir():
            m = _TRASH.match(d.name)
            if m and m.group(1) == key and kind(d) == "dir":
                self._empty_trash(d)


def as_store(store: FeatureStore | str | Path | None) -> FeatureStore:
    """A `FeatureStore` from a store, a folder, or None (the default store)."""
    return store if isinstance(store, FeatureStore) else FeatureStore(store)


def open_entry(path: str | Path) -> FeatureSet:
    """Open a stored entry from its folder path (as the results database records it).

    Parameters
    ----------
    path : str or Path
        ``<store root>/<key>``.

    Returns
    -------
    FeatureSet

    Raises
    ------
    ped.errors.StoreError
        When the folder is not a complete, undamaged entry of a feature store.
    """
    path = Path(path)
    return FeatureStore(path.parent).open(path.name)
