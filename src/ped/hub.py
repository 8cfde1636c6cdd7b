r"""Scores defined over a set of candidate models: NCTI and ETran.

NCTI (Wang et al., ICCV 2023) and ETran (Gholami et al., ICCV 2023) exist in their papers
only across a model hub: each model's components are min-max scaled over the candidates,

.. math:: \mathrm{mm}(v)_m = \frac{v_m - \min_k v_k}{\max_k v_k - \min_k v_k},

and summed with fixed weights:

* ``"ncti"``: :math:`\mathrm{mm}(\text{seli}) + \mathrm{mm}(\text{ncc}) - \mathrm{mm}(\text{vc})`
  (`ped.scores.ncti.ncti_components`; the official ``evaluate_metric_group1_cpu.py``);
* ``"etran"``: :math:`0.15\,\mathrm{mm}(\text{energy}) + 0.85\,\mathrm{mm}(\text{lda})`
  (`ped.scores.etran`; the official ``tw.py -me etran``).

So a model's value **changes when the candidate set changes** (adding or removing a model
rescales every component); only the order within one set is meaningful. Per-model components
are returned beside the values (`HubScore.components`). A component that takes the same value
on every candidate (or a set of one model) cannot be scaled: the official code divides by zero
(NaN or ``ZeroDivisionError``); here such a component contributes 0 to every model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import check_features_labels
from .scores.ncti import ncti_components
from .scoring import score_many

__all__ = ["HubScore", "HUB_SCORES", "HUB_NOTE", "hub_score", "hub_scores", "minmax"]

#: The set-level scores, with each one's components and their weights.
HUB_SCORES: dict[str, dict[str, float]] = {
    "ncti": {"seli": 1.0, "ncc": 1.0, "vc": -1.0},
    "etran": {"energy": 0.15, "lda": 0.85},
}

#: What a ranking that shows set-level values should tell its reader.
HUB_NOTE = (
    "NCTI and ETran are min-max scaled over the candidate models: their values change when "
    "the set of candidates changes."
)


@dataclass(frozen=True)
class HubScore:
    """A set-level score over candidate models.

    Attributes
    ----------
    name : str
        ``"ncti"`` or ``"etran"``.
    values : dict of str to float
        The score of every model (higher is better), in the order the models were given.
    components : dict of str to dict of str to float
        The raw components of every model (``{"seli": ..., "ncc": ..., "vc": ...}`` or
        ``{"energy": ..., "lda": ...}``), before scaling.
    weights : dict of str to float
        The weight of every scaled component.
    """

    name: str
    values: dict[str, float]
    components: dict[str, dict[str, float]]
    weights: dict[str, float] = field(default_factory=dict)


def minmax(values: Iterable[float]) -> np.ndarray:
    """Min-max scaling to [0, 1]; a constant vector (or a single value) scales to zeros."""
    v = np.asarray(list(values), dtype=np.float64)
    span = v.max() - v.min() if v.size else 0.0
    if not np.isfinite(span) or span == 0:
        return np.zeros_like(v)
    return (v - v.min()) / span


def _check_models(models: Mapping[Any, Any]) -> dict[str, tuple[Any, Any]]:
    if not isinstance(models, Mapping) or len(models) == 0:
        raise ValueError(
            "Expected models as a non-empty mapping {model name: (features, labels)}, "
            f"got {type(models).__name__}."
        )
    out = {}
    for name, pair in models.items():
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(
                f"Expected a (features, labels) pair for model {name!r}, got {type(pair).__name__}."
            )
        out[str(name)] = (pair[0], pair[1])
    return out


def _components(name: str, X: Any, y: Any, params: Mapping[str, Any]) -> dict[str, float]:
    if name == "ncti":
        F, lab = check_features_labels(X, y)
        seli, ncc, vc = ncti_components(F, lab.codes, lab.n_classes, **params)
        return {"seli": seli, "ncc": ncc, "vc": vc}
    energy_params = {k: v for k, v in params.items() if k == "percent"}
    unknown = sorted(set(params) - {"percent"})
    if unknown:
        raise TypeError(f"Unknown parameter(s) {unknown} for hub score 'etran'. Valid: percent.")
    got = score_many(["etran_energy", "etran_lda"], X, y, params={"etran_energy": energy_params})
    return {"energy": got["etran_energy"], "lda": got["etran_lda"]}


def hub_score(name: str, models: Mapping[str, Any], **params: Any) -> HubScore:
    r"""One set-level score (NCTI or ETran) over candidate models.

    Parameters
    ----------
    name : {"ncti", "etran"}
        The score.
    models : mapping of str to (features, labels)
        Every candidate's features of the target data, shape (n_samples, n_features), and
        its labels (usually the same labels for every model).
    **params
        Hyper-parameters of the components: ``n_components``, ``random_state`` for NCTI
        (see `ped.scores.ncti.ncti_components`), ``percent`` for ETran's energy.

    Returns
    -------
    HubScore
        Values (higher is better) and raw components per model. The values depend on the
        whole candidate set (see the module docstring).

    Examples
    --------
    >>> import numpy as np, ped
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 30)
    >>> models = {f"m{s}": (rng.normal(size=(90, 8)) + s * y[:, None], y) for s in (0, 1, 3)}
    >>> h = ped.hub_score("etran", models)
    >>> max(h.values, key=h.values.get)
    'm3'
    """
    if not isinstance(name, str) or name.strip().lower() not in HUB_SCORES:
        raise ValueError(
            f"Unknown set-level score {name!r}. Valid set-level scores: "
            f"{', '.join(sorted(HUB_SCORES))}."
        )
    key = name.strip().lower()
    weights = HUB_SCORES[key]
    pairs = _check_models(models)
    comps = {m: _components(key, X, y, params) for m, (X, y) in pairs.items()}
    names = list(comps)
    total = np.zeros(len(names))
    for comp, w in weights.items():
        total += w * minmax(comps[m][comp] for m in names)
    return HubScore(
        name=key,
        values={m: float(v) for m, v in zip(names, total)},
        components=comps,
        weights=dict(weights),
    )


def hub_scores(
    names: Iterable[str],
    models: Mapping[str, Any],
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, HubScore]:
    """Several set-level scores over the same candidates: ``{name: HubScore}``.

    Parameters
    ----------
    names : iterable of str
        Set-level score names (`HUB_SCORES`).
    models : mapping of str to (features, labels)
        As in `hub_score`.
    params : mapping of str to mapping, optional
        Per-score hyper-parameters, ``{"ncti": {"random_state": 0}}``.

    Returns
    -------
    dict of str to HubScore
    """
    params = dict(params or {})
    return {n: hub_score(n, models, **params.get(n, {})) for n in names}
