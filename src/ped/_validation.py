"""The one place where inputs of the numeric core are checked and normalised.

Every score, the PED dynamics and the evaluation functions call into this module first, so
that every error a caller can cause reads the same way: what was expected, and what was given.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Labels",
    "check_features",
    "check_labels",
    "check_features_labels",
    "check_source_probs",
    "check_targets",
    "check_positive",
    "check_fraction",
    "check_finite",
    "check_int",
    "check_seed",
    "check_pair",
    "check_choice",
    "check_bool",
]


@dataclass(frozen=True)
class Labels:
    """Labels encoded to contiguous codes.

    Attributes
    ----------
    codes : ndarray of shape (n_samples,), dtype intp
        The label of every sample as an integer in ``0 .. n_classes - 1``.
    classes : ndarray of shape (n_classes,)
        The original label values, sorted; ``classes[codes]`` gives back the input.
    """

    codes: np.ndarray
    classes: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_classes)


def _shape(a: Any) -> str:
    return str(tuple(np.shape(a)))


def _unmasked(arr: np.ma.MaskedArray, name: str) -> np.ndarray:
    """The data of a masked array that masks nothing; a ValueError when anything is masked
    (the values under a mask are not checked by numpy's reductions, and ped has no notion of
    a missing value)."""
    mask = np.ma.getmaskarray(arr)
    if mask.any():
        where = np.argwhere(mask)[:5].tolist()
        raise ValueError(
            f"Expected {name} without masked entries, got a masked array with {int(mask.sum())} "
            f"masked value(s) (first at {where}); fill them (.filled()) or drop those samples."
        )
    return np.asarray(arr.data)


def _positions(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:10])
    return shown + (f", ... ({idx.size} in all)" if idx.size > 10 else "")


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return not np.isfinite(v)
    return False


def check_features(features: Any, *, name: str = "features", min_samples: int = 1) -> np.ndarray:
    """Return ``features`` as a 2-D finite float array (float32 is kept, other types to float64).

    The input is never modified and never copied when it is already a float32 or float64
    C- or F-ordered array.
    """
    if features is None:
        raise ValueError(f"Expected {name} as an array of shape (n_samples, n_features), got None.")
    if isinstance(features, np.ma.MaskedArray):
        features = _unmasked(features, name)
    if isinstance(features, np.ndarray):
        arr = features
    else:
        try:
            arr = np.asarray(features)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(
                f"Expected {name} as a 2-D numeric array, got {type(features)}."
            ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"Expected {name} with a numeric dtype, got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise ValueError(f"Expected real-valued {name}, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(
            f"Expected {name} as a 2-D array of shape (n_samples, n_features), "
            f"got {arr.ndim}-D array of shape {_shape(arr)}."
        )
    if arr.shape[0] < min_samples or arr.shape[1] < 1:
        raise ValueError(
            f"Expected {name} with at least {min_samples} sample(s) and 1 feature, "
            f"got shape {_shape(arr)}."
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(
            f"Expected finite {name}, got {n_nan} NaN and {n_inf} infinity value(s) "
            f"in an array of shape {_shape(arr)}."
        )
    return arr


def check_labels(labels: Any, *, n_samples: int | None = None, min_classes: int = 2) -> Labels:
    """Encode 1-D labels of any hashable type to contiguous codes ``0 .. C-1``.

    Labels are sorted by value (so integer labels 0..C-1 keep their codes); labels of mixed,
    unorderable types are ordered by first appearance.
    """
    if labels is None:
        raise ValueError("Expected labels as a 1-D sequence, got None.")
    if isinstance(labels, np.ma.MaskedArray):
        labels = _unmasked(labels, "labels")
    if isinstance(labels, np.ndarray):
        arr = labels
    else:
        try:
            arr = np.asarray(labels)
        except ValueError:  # tuples among the labels: keep each label whole
            items = list(labels)
            arr = np.empty(len(items), dtype=object)
            arr[:] = items
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"Expected labels as a 1-D array of shape (n_samples,), got shape {_shape(arr)}."
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"Expected as many labels as samples ({n_samples}), got {arr.shape[0]} labels."
        )
    if arr.shape[0] == 0:
        raise ValueError("Expected at least one label, got an empty array.")
    if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating):
        missing = ~np.isfinite(arr)
    elif arr.dtype == object:
        missing = np.fromiter((_is_missing(v) for v in arr.tolist()), bool, arr.shape[0])
    else:
        missing = np.zeros(arr.shape[0], dtype=bool)
    if missing.any():
        raise ValueError(
            f"Expected a label for every sample, got {int(missing.sum())} missing label(s) "
            f"(None, NaN or infinity) at position(s) {_positions(missing)}; drop those samples "
            "or give them a class."
        )
    if np.issubdtype(arr.dtype, np.floating):
        fractional = arr != np.round(arr)
        if fractional.any():
            first = int(np.flatnonzero(fractional)[0])
            raise ValueError(
                f"Expected class labels, got {int(fractional.sum())} non-integer float value(s) "
                f"(first {float(arr[first])!r} at position {first}); a regression target goes in as "
                "an array of shape (n_samples, 1), integer-valued floats are read as classes."
            )
    try:
        classes, codes = np.unique(arr, return_inverse=True)
    except TypeError:
        # Unorderable mixture of types: order by first appearance.
        seen: dict[Hashable, int] = {}
        codes_list = []
        for v in arr.tolist():
            codes_list.append(seen.setdefault(v, len(seen)))
        classes = np.empty(len(seen), dtype=object)
        classes[:] = list(seen)
        codes = np.asarray(codes_list)
    codes = np.asarray(codes, dtype=np.intp).reshape(-1)
    if classes.shape[0] < min_classes:
        raise ValueError(
            f"Expected at least {min_classes} distinct classes, got {classes.shape[0]} "
            f"(label value(s): {classes.tolist()[:5]})."
        )
    return Labels(codes=codes, classes=classes)


def check_features_labels(
    features: Any, labels: Any, *, min_classes: int = 2
) -> tuple[np.ndarray, Labels]:
    """Check features and labels together (same number of samples)."""
    X = check_features(features)
    lab = check_labels(labels, n_samples=X.shape[0], min_classes=min_classes)
    return X, lab


def check_targets(targets: Any, *, n_samples: int) -> np.ndarray:
    """Check a 2-D float target matrix (regression or multi-label), returned as float64."""
    T = check_features(targets, name="targets")
    if T.shape[0] != n_samples:
        raise ValueError(
            f"Expected as many target rows as samples ({n_samples}), got {T.shape[0]}."
        )
    return np.asarray(T, dtype=np.float64)


def check_source_probs(
    source_probs: Any, *, n_samples: int | None = None, atol: float = 1e-3
) -> np.ndarray:
    """Check an (n_samples, n_source_classes) matrix of source-classifier probabilities."""
    if source_probs is None:
        raise ValueError(
            "Expected source_probs, the (n_samples, n_source_classes) softmax outputs of the "
            "source classifier, got None."
        )
    P = check_features(source_probs, name="source_probs")
    if n_samples is not None and P.shape[0] != n_samples:
        raise ValueError(
            f"Expected source_probs with one row per sample ({n_samples}), got {P.shape[0]} rows."
        )
    if P.min() < 0:
        raise ValueError(
            f"Expected non-negative source_probs, got a minimum of {float(P.min()):.6g}."
        )
    sums = P.sum(axis=1, dtype=np.float64)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > atol:
        raise ValueError(
            f"Expected source_probs rows to sum to 1, got row {worst} summing to "
            f"{float(sums[worst]):.6g}."
        )
    return np.asarray(P, dtype=np.float64)


def _real(value: Any, name: str) -> float:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"Expected {name} as a real number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"Expected {name} as a real number, got {value!r}.") from None


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Check a finite positive (or non-negative) real parameter."""
    v = _real(value, name)
    bound = ">= 0" if allow_zero else "> 0"
    if not np.isfinite(v):
        raise ValueError(f"Expected a finite {name} {bound}, got {value!r}.")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"Expected {name} {bound}, got {value!r}.")
    return v


def check_finite(value: Any, name: str) -> float:
    """Check a finite real parameter of any sign."""
    v = _real(value, name)
    if not np.isfinite(v):
        raise ValueError(f"Expected a finite {name}, got {value!r}.")
    return v


def check_fraction(value: Any, name: str, *, low: float = 0.0, high: float = 1.0) -> float:
    """Check a real parameter in the closed interval [low, high]."""
    v = _real(value, name)
    if not (low <= v <= high):
        raise ValueError(f"Expected {name} in [{low}, {high}], got {value!r}.")
    return v


def check_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Check an integer parameter in ``[minimum, maximum]``; a float with an integral value is
    accepted, any other float (2.5, NaN, infinity) is a ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, np.integer, float, np.floating)
    ):
        raise TypeError(f"Expected {name} as an integer, got {value!r}.")
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise ValueError(f"Expected {name} as a whole number, got {value!r}.")
        value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"Expected {name} {bound}, got {value!r}.")
    return int(value)


def check_seed(value: Any, name: str = "random_state", *, generator: type | None = None) -> Any:
    """Check a seed: None, an integer in [0, 2**32 - 1], or an instance of ``generator``
    (``np.random.Generator`` or ``np.random.RandomState``, as the consumer accepts)."""
    if value is None or (generator is not None and isinstance(value, generator)):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        kinds = "None or an integer" + (f" or a {generator.__name__}" if generator else "")
        raise TypeError(f"Expected {name} as {kinds}, got {value!r}.")
    if not 0 <= value < 2**32:
        raise ValueError(f"Expected {name} in [0, 2**32 - 1], got {value!r}.")
    return int(value)


def check_pair(a: Any, b: Any, *, names: tuple[str, str] = ("x", "y"), min_len: int = 2):
    """Turn two sequences, or two ``{key: value}`` mappings, into aligned float vectors.

    Mappings are aligned on the keys of the first (in its order); a key missing from the second
    is an error. Returns ``(x, y, keys)`` where ``keys`` is None for plain sequences.
    """
    keys: list | None = None
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        if not (isinstance(a, Mapping) and isinstance(b, Mapping)):
            raise TypeError(
                f"Expected {names[0]} and {names[1]} both as sequences or both as mappings, "
                f"got {type(a).__name__} and {type(b).__name__}."
            )
        keys = [k for k in a if k != "duration"]
        missing = [k for k in keys if k not in b]
        if missing:
            raise ValueError(
                f"Expected every key of {names[0]} in {names[1]}, got {len(missing)} missing: "
                f"{missing[:5]}."
            )
        xa = [a[k] for k in keys]
        xb = [b[k] for k in keys]
    else:
        if isinstance(a, (str, bytes)) or isinstance(b, (str, bytes)):
            raise TypeError("Expected sequences of numbers, got a string.")
        xa = list(a) if not isinstance(a, np.ndarray) else a
        xb = list(b) if not isinstance(b, np.ndarray) else b
    x = np.asarray(xa, dtype=np.float64).reshape(-1)
    y = np.asarray(xb, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(
            f"Expected {names[0]} and {names[1]} of the same length, got {x.shape[0]} "
            f"and {y.shape[0]}."
        )
    if x.shape[0] < min_len:
        raise ValueError(f"Expected at least {min_len} values, got {x.shape[0]}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"Expected finite {names[0]} and {names[1]}, got NaN or infinity.")
    return x, y, keys


def as_sequence(x: Sequence | np.ndarray) -> np.ndarray:
    return np.asarray(x)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Check a string option against its valid values (case-sensitive)."""
    if not isinstance(value, str):
        raise TypeError(f"Expected {name} as a string, one of {list(choices)}, got {value!r}.")
    if value not in choices:
        raise ValueError(f"Expected {name} to be one of {list(choices)}, got {value!r}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Check a boolean flag (``True``/``False`` or a numpy bool, nothing else)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Expected {name} as True or False, got {value!r}.")
    return bool(value)
