"""The public entry point of the scores: `score`, `score_many` and `list_scores`.

``"ped+<base>"`` composes the PED dynamics (`ped.dynamics`) with any score that reads the
features: the classes are moved apart first, then the base score is taken on the moved
features. Neither `ped.scores` nor `ped.dynamics` knows of the other; this module joins them.
``"sa+<base>"`` composes SA's spread-and-attract transformation (`ped.sa`) the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from . import scores as _scores  # noqa: F401  (registers every score)
from ._stats import ClassStats, check_device, feature_scale
from ._validation import (
    Labels,
    check_features,
    check_labels,
    check_source_probs,
    check_targets,
)
from .dynamics import DYNAMICS_DEFAULTS, check_dynamics_params, check_reference, simulate_stats
from .sa import SA_PARAMS, spread_attract_stats
from .scores import ScoreInfo, blas_threads, get_score, registered

__all__ = ["score", "score_many", "list_scores", "describe_score", "DYNAMICS_PARAMS", "SA_PARAMS"]

#: Parameters of `ped.simulate` accepted by every ``ped+<base>`` score, with their defaults.
DYNAMICS_PARAMS: dict[str, Any] = dict(DYNAMICS_DEFAULTS)


def list_scores(*, include_ped: bool = True) -> list[str]:
    """Names of every registered score, sorted; with ``ped+<base>`` and ``sa+<base>`` for
    each features score (``include_ped=False``: the registered scores alone).

    Returns
    -------
    list of str
        Lower-case names accepted by `score`.
    """
    names = sorted(registered())
    if include_ped:
        feature_names = [n for n in names if registered()[n].needs_features]
        names += [f"{t}{n}" for t in _TRANSFORMS for n in feature_names]
    return names


#: The feature transformations a base score can be composed with, and their parameters.
_TRANSFORMS: dict[str, dict[str, Any]] = {"ped+": DYNAMICS_PARAMS, "sa+": SA_PARAMS}


def _resolve(name: str) -> tuple[str, ScoreInfo]:
    """``(transform, info)``: the transformation prefix (``""``, ``"ped+"``, ``"sa+"``) and
    the base score."""
    if not isinstance(name, str):
        raise TypeError(f"Expected a score name as a string, got {type(name).__name__}.")
    key = name.strip().lower()
    for prefix in _TRANSFORMS:
        if key.startswith(prefix):
            info = get_score(key[len(prefix) :])
            if not info.needs_features:
                what = "PED" if prefix == "ped+" else "SA"
                raise ValueError(
                    f"Score {info.name!r} does not read features, so '{prefix}{info.name}' is "
                    f"undefined ({what} moves features)."
                )
            return prefix, info
    return "", get_score(key)


def describe_score(name: str) -> dict[str, Any]:
    """Summary, reference and default parameters of a score (``ped+`` names included)."""
    transform, info = _resolve(name)
    params = {**_TRANSFORMS.get(transform, {}), **info.defaults}
    return {
        "name": transform + info.name,
        "summary": info.summary,
        "reference": info.reference,
        "params": params,
        "needs_features": info.needs_features,
        "needs_source_probs": info.needs_source_probs,
        "scale_invariant": info.scale_invariant and not transform,
    }


def _split_params(
    name: str, transform: str, info: ScoreInfo, params: Mapping[str, Any]
) -> tuple[dict, dict]:
    own = _TRANSFORMS.get(transform, {})
    dyn, base = {}, {}
    for k, v in params.items():
        if k in own:
            dyn[k] = v
        elif k in info.defaults:
            base[k] = v
        else:
            valid = sorted(info.defaults) + sorted(own)
            raise ValueError(
                f"Unknown parameter {k!r} for score {name!r}. Valid parameters: "
                f"{', '.join(valid) if valid else 'none'}."
            )
    return dyn, base


class _Inputs:
    """Validated inputs shared by several scores (statistics computed once)."""

    def __init__(
        self,
        features: Any,
        labels: Any,
        source_probs: Any,
        need_features: bool,
        device: Any = None,
    ):
        self.device = check_device(device)
        self.X = None
        self.targets = None
        n = None
        if need_features or features is not None:
            self.X = check_features(features)
            n = self.X.shape[0]
        try:
            lab_arr = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
        except ValueError:  # ragged (tuple labels): plain class labels
            lab_arr = np.empty(0)
        # 2-D float targets are regression (or multi-label) targets whatever their width; a
        # 2-D integer array is a multi-label target when wider than 1, else class labels.
        if lab_arr.ndim == 2 and (
            np.issubdtype(lab_arr.dtype, np.floating)
            or (lab_arr.shape[1] > 1 and np.issubdtype(lab_arr.dtype, np.number))
        ):
            self.targets = check_targets(lab_arr, n_samples=n if n is not None else len(lab_arr))
            self.labels = Labels(
                codes=np.zeros(self.targets.shape[0], dtype=np.intp),
                classes=np.zeros(1, dtype=np.int64),
            )
        else:
            self.labels = check_labels(labels, n_samples=n)
        self.source_probs = (
            None
            if source_probs is None
            else check_source_probs(source_probs, n_samples=self.labels.codes.shape[0])
        )
        self._stats: ClassStats | None = None
        self._moved: dict[tuple, Any] = {}

    @property
    def stats(self) -> ClassStats:
        if self._stats is None:
            self._stats = ClassStats(
                self.X, self.labels, device=self.device, scale=feature_scale(self.X)
            )
        return self._stats

    def moved(self, reference: Any, dyn: dict[str, Any]):
        checked = check_dynamics_params(**{**DYNAMICS_PARAMS, **dyn})
        key = tuple(sorted(checked.items()))
        if key not in self._moved:
            ref = check_reference(reference, self.X.shape[1])
            self._moved[key] = simulate_stats(self.stats, ref, **checked)
        return self._moved[key]

    def spread_attract(self, params: dict[str, Any]) -> ClassStats:
        """Statistics of the SA-transformed features (computed once per parameter set)."""
        key = ("sa+", *sorted({**SA_PARAMS, **params}.items()))
        if key not in self._moved:
            self._moved[key] = spread_attract_stats(self.stats, **{**SA_PARAMS, **params})[0]
        return self._moved[key]


def _run(name: str, inputs: _Inputs, reference: Any, params: Mapping[str, Any]) -> float:
    transform, info = _resolve(name)
    dyn, base = _split_params(name, transform, info, params)
    if info.needs_source_probs and inputs.source_probs is None:
        raise ValueError(
            f"Score {info.name!r} needs source_probs, the (n_samples, n_source_classes) "
            "softmax outputs of the source classifier; got None."
        )
    if inputs.targets is not None and not info.accepts_targets:
        raise ValueError(
            f"Score {info.name!r} takes 1-D class labels; got 2-D targets of shape "
            f"{inputs.targets.shape} (a 2-D float array is read as regression targets; pass "
            "integer class labels as a 1-D array)."
        )
    if inputs.labels.n_classes < 2 and inputs.targets is None:
        raise ValueError("Expected at least 2 distinct classes, got 1.")
    if info.needs_features and inputs.X is None:
        raise ValueError(f"Score {info.name!r} needs features, got None.")
    with blas_threads():  # PED_BLAS_THREADS, when set; no limit by default
        stats = None
        if info.needs_features:
            if transform == "ped+":
                stats = inputs.moved(reference, dyn).stats
            elif transform == "sa+":
                stats = inputs.spread_attract(dyn)
            else:
                stats = inputs.stats
        value = info.func(
            stats=stats,
            labels=inputs.labels,
            source_probs=inputs.source_probs,
            targets=inputs.targets,
            **base,
        )
    return float(value)


def score(
    name: str,
    features: Any,
    labels: Any,
    *,
    source_probs: Any = None,
    reference: Any = None,
    device: Any = None,
    **params: Any,
) -> float:
    """Compute one transferability score.

    Parameters
    ----------
    name : str
        A name from `list_scores` (``"logme"``, ``"sfda"``, ``"ped+logme"``, ...).
    features : array-like of shape (n_samples, n_features) or None
        The candidate model's features of the target data; None for scores that read only
        ``source_probs`` (LEEP, NCE).
    labels : array-like of shape (n_samples,)
        Target labels of any hashable type (encoded internally to 0..C-1). Scores that accept
        targets (LogME) also take a 2-D float array of shape (n_samples, n_targets).
    source_probs : array-like of shape (n_samples, n_source_classes), optional
        Softmax outputs of the model's source classifier (LEEP, NCE).
    reference : array-like of shape (n_ref, n_features) or ReferenceStats, optional
        Reference-domain features or statistics; required by ``ped+<base>``.
    device : None, str or torch.device, optional
        Where the heavy linear algebra runs: None (numpy, the default), ``"cpu"`` or
        ``"cuda"`` (torch, float64). Results equal the numpy path to rounding. Not a
        hyper-parameter of the score.
    **params
        Hyper-parameters of the score, keyword only (see `describe_score`); ``ped+<base>``
        also takes those of `ped.simulate` (``nsigma``, ``time_step``, ...).

    Returns
    -------
    float
        The score; higher predicts better transfer, for every score.

    Examples
    --------
    >>> import numpy as np, ped
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> X = rng.normal(size=(300, 8)) + y[:, None]
    >>> round(ped.score("logme", X, y), 4) > round(ped.score("logme", X[rng.permutation(300)], y), 4)
    True
    """
    _, info = _resolve(name)
    inputs = _Inputs(
        features, labels, source_probs, need_features=info.needs_features, device=device
    )
    return _run(name, inputs, reference, params)


def score_many(
    names: Iterable[str],
    features: Any,
    labels: Any,
    *,
    source_probs: Any = None,
    reference: Any = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    device: Any = None,
) -> dict[str, float]:
    """Compute several scores on the same data, sharing class statistics and PED runs.

    The Gram matrix, class means and variances are computed once; every ``ped+<base>`` with
    the same dynamics parameters shares one simulation.

    Parameters
    ----------
    names : iterable of str
        Score names.
    features, labels, source_probs, reference, device
        As in `score`.
    params : mapping of str to mapping, optional
        Per-score hyper-parameters, ``{"nleep": {"random_state": 0}}``.

    Returns
    -------
    dict of str to float
        ``{name: value}`` in the order asked.
    """
    names = list(names)
    params = dict(params or {})
    unknown = [k for k in params if k not in names]
    if unknown:
        raise ValueError(f"Parameters given for scores not asked for: {unknown}.")
    resolved = [_resolve(n) for n in names]
    need_features = any(info.needs_features for _, info in resolved)
    inputs = _Inputs(features, labels, source_probs, need_features=need_features, device=device)
    return {n: _run(n, inputs, reference, params.get(n, {})) for n in names}
