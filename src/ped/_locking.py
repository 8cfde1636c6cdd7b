"""Portable inter-process file locks, on the `filelock` package.

One lock file per protected resource (a feature-store key). The lock is advisory and is
released by the operating system when its holder dies, on POSIX (``flock``) and on Windows
(``msvcrt.locking``) alike, so a killed extraction never leaves a key locked. Within one
process the same path maps to the same lock object, so a holder can take it again
(re-entrant) instead of waiting for itself; other threads still wait.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from ped.errors import StoreError

__all__ = ["file_lock"]

_LOCKS: dict[str, FileLock] = {}
_GUARD = threading.Lock()


def _lock_for(path: Path) -> FileLock:
    key = str(path)
    with _GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key, mode=0o644)
        return lock


@contextlib.contextmanager
def file_lock(path: str | Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold the exclusive lock of ``path`` for the ``with`` block.

    Parameters
    ----------
    path : str or Path
        The lock file; created if missing (its folder must exist), never deleted.
    blocking : bool, default True
        Wait for another holder to let go. With False, the block runs at once and the
        context value tells whether the lock was taken.

    Yields
    ------
    bool
        True when the lock is held (always, when ``blocking``).

    Raises
    ------
    ped.errors.StoreError
        When the lock file cannot be created or opened (a read-only folder, for one).
    """
    lock = _lock_for(Path(path))
    try:
        lock.acquire(timeout=-1 if blocking else 0)
    except Timeout:
        yield False
        return
    except OSError as exc:
        raise StoreError(
            f"Lock file {path} cannot be opened ({exc.strerror or exc}); the store needs a "
            "writable folder for this operation."
        ) from None
    try:
        yield True
    finally:
        lock.release()
