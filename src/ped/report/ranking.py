"""The ranking part of a report, which needs no ground truth: a table of every stored score,
the models in the order of the first, and how far the scores agree with one another."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..evaluation import kendall_tau, rank_values, saturated_models, tie_groups

__all__ = ["agreement", "ranking_rows", "unsure_models"]


def agreement(
    values: Mapping[str, Mapping[str, float]], *, min_models: int = 3
) -> dict[str, dict[str, float]]:
    """Kendall's τ between the model rankings of every pair of scores.

    For scores ``a`` and ``b`` with values :math:`a_i, b_i` on the :math:`n` models both
    scored, :math:`\\tau_b = (P - Q) / \\sqrt{(P + Q + T_a)(P + Q + T_b)}` with :math:`P` and
    :math:`Q` the concordant and discordant pairs and :math:`T` the pairs tied in one score
    only (Kendall, "A new measure of rank correlation", Biometrika 1938): 1 when the two
    scores order the models alike, -1 when one reverses the other.

    Parameters
    ----------
    values : mapping of str to mapping of str to float
        ``{score: {model: value}}``; non-finite values are left out.
    min_models : int, default 3
        Fewer common models than this give NaN (two models agree or not by chance).

    Returns
    -------
    dict of str to dict of str to float
        A symmetric ``{score: {score: tau}}`` with 1 on the diagonal.
    """
    clean = {
        s: {m: float(v) for m, v in vals.items() if v is not None and math.isfinite(float(v))}
        for s, vals in values.items()
    }
    out: dict[str, dict[str, float]] = {s: {} for s in clean}
    for a in clean:
        for b in clean:
            common = sorted(set(clean[a]) & set(clean[b]))
            if a == b:
                tau = 1.0
            elif len(common) < min_models:
                tau = math.nan
            else:
                xa = [clean[a][m] for m in common]
                xb = [clean[b][m] for m in common]
                constant = len(set(xa)) == 1 or len(set(xb)) == 1
                tau = math.nan if constant else kendall_tau(xa, xb)
            out[a][b] = tau
    return out


def unsure_models(values: Mapping[str, Mapping[str, float]], *, digits: int = 4) -> dict:
    """Per score, the models it does not order: tied within `digits` or at the score's bound.

    Returns
    -------
    dict of str to list of str
    """
    out = {}
    for s, vals in values.items():
        tied = [m for g in tie_groups(vals, digits=digits) for m in g]
        out[s] = tied + [m for m in saturated_models(s, vals) if m not in tied]
    return out


def ranking_rows(
    values: Mapping[str, Mapping[str, float]], *, digits: int = 4
) -> tuple[list[str], list[list[str]]]:
    """Header and text rows of the ranking table: models best first by the first score.

    Each cell reads ``value #rank``; a model a score has no value for reads ``n/a``, and
    sorts after the others.

    Parameters
    ----------
    values : mapping of str to mapping of str to float
        ``{score: {model: value}}``, the first score orders the rows.
    digits : int, default 4
        Significant digits shown, and within which models tie.

    Returns
    -------
    header : list of str
    rows : list of list of str
    """
    scores: Sequence[str] = list(values)
    models: list[str] = []
    for vals in values.values():
        models += [m for m in vals if m not in models]
    ranks = {s: rank_values(values[s], digits=digits) for s in scores}
    first = scores[0]
    order = sorted(models, key=lambda m: (ranks[first].get(m, len(models) + 1), models.index(m)))
    rows = []
    for m in order:
        cells = [str(ranks[first].get(m, "n/a")), m]
        for s in scores:
            v = values[s].get(m)
            cells.append("n/a" if v is None else f"{v:.{digits}g} #{ranks[s][m]}")
        rows.append(cells)
    return ["rank", "model", *scores], rows
