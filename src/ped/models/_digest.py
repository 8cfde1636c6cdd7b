"""Content digests of weight files, computed once per file per process."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = ["file_sha256", "files_digest", "text_digest"]

_CACHE: dict[tuple[str, int, int], str] = {}
_LOCK = threading.Lock()
_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Return the sha256 hex digest of a file, cached by (path, size, modification time).

    Parameters
    ----------
    path : str or Path
        The file to hash.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _LOCK:
        _CACHE[key] = digest
    return digest


def files_digest(paths: Iterable[str | Path]) -> str:
    """Digest of several files: the file's own sha256 for one file, else a sha256 of theirs."""
    digests = [file_sha256(p) for p in paths]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def text_digest(text: str) -> str:
    """sha256 of a string (for models without weight files, e.g. raw pixels)."""
    return hashlib.sha256(text.encode()).hexdigest()
