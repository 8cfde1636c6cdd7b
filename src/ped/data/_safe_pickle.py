"""Reading pickled dataset files without running code from them.

``pickle.load`` on a file calls whatever global the file names: a crafted ``data_batch_1``
under ``$PED_DATA`` could run any command when the dataset is opened. The dataset formats
that ``ped`` reads as pickles (the CIFAR python batches, the gzip-pickled arrays of
``animal-mnist``) hold only dicts, lists, strings, bytes, numbers and numpy arrays, so
`RestrictedUnpickler` admits exactly the globals that rebuild those and refuses every other
global with a `ped.errors.DataFileError` that names the file and the refused global.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path
from typing import IO, Any

from ped.errors import DataFileError

__all__ = ["RestrictedUnpickler", "load_pickle"]


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """Stand-in for ``_codecs.encode``: Python 3 writes bytes this way in protocol 2."""
    if encoding.replace("-", "").lower() != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError("_codecs.encode is admitted only as a latin1 bytes literal")
    return text.encode("latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    import numpy as np

    try:  # numpy >= 2 keeps the pickle helpers in numpy._core
        from numpy._core.multiarray import _reconstruct
        from numpy._core.numeric import _frombuffer
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
        from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]

    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    # Files written under numpy 1.x name numpy.core, under numpy 2.x numpy._core.
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = _reconstruct
        table[(f"{core}.numeric", "_frombuffer")] = _frombuffer  # protocol 5 arrays
    for module in ("builtins", "__builtin__"):  # __builtin__: files written by Python 2
        for name, obj in (("dict", dict), ("list", list), ("str", str), ("bytes", bytes)):
            table[(module, name)] = obj
    return table


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only plain containers and numpy arrays.

    Admitted globals: numpy's array reconstruction (``numpy.core.multiarray._reconstruct``
    or ``numpy._core.multiarray._reconstruct``, and ``_frombuffer`` for protocol 5),
    ``numpy.ndarray``, ``numpy.dtype``, the builtins ``dict``, ``list``, ``str`` and
    ``bytes``, and ``_codecs.encode`` restricted to latin1 (how Python 3 writes a bytes
    literal in protocol 2). Tuples, numbers, strings and bytes need no global. Any other
    global (``os.system``, ``builtins.eval``, a class of the file's choosing) raises
    `ped.errors.DataFileError` before anything is called.

    Parameters
    ----------
    file : binary file object
        The open pickle stream.
    source : Path or str
        The file's name, used in error messages (its contents never are).
    encoding : str, default "latin1"
        How Python 2 ``str`` objects are decoded (CIFAR's batches were written by Python 2;
        latin1 keeps their array bytes intact).
    """

    _table: dict[tuple[str, str], Any] | None = None

    def __init__(self, file: IO[bytes], source: Path | str, *, encoding: str = "latin1"):
        super().__init__(file, encoding=encoding)
        self.source = Path(source)

    def find_class(self, module: str, name: str) -> Any:
        cls = type(self)
        if cls._table is None:
            cls._table = _allowed_globals()
        try:
            return cls._table[(module, name)]
        except KeyError:
            raise DataFileError(
                f"{self.source} refers to {module}.{name}, which ped refuses to load: the "
                "dataset's pickle format holds only arrays, lists, dicts and strings, and "
                "a file naming other objects can run code; replace it with a genuine copy."
            ) from None


def load_pickle(path: Path | str, *, compressed: bool = False, encoding: str = "latin1") -> Any:
    """Read one pickled dataset file with `RestrictedUnpickler`.

    Parameters
    ----------
    path : Path or str
        The file.
    compressed : bool, default False
        The file is gzip-compressed.
    encoding : str, default "latin1"
        Decoding of Python 2 strings (see `RestrictedUnpickler`).

    Returns
    -------
    object
        The unpickled dicts, lists, strings, bytes, numbers and numpy arrays.

    Raises
    ------
    ped.errors.DataFileError
        When the file names a global that is not admitted, or is not a readable pickle
        (damaged, truncated, or another format). The message names the file, never its
        contents.
    """
    path = Path(path)
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            return RestrictedUnpickler(f, path, encoding=encoding).load()
    except DataFileError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        gzip.BadGzipFile,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        UnicodeDecodeError,
        MemoryError,
    ) as exc:
        kind = "gzip-compressed pickle" if compressed else "pickle"
        raise DataFileError(
            f"{path} is not a readable {kind} of arrays ({type(exc).__name__}): the file is "
            "damaged, truncated or in another format, so download or copy it again."
        ) from None
