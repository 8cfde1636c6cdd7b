"""How well scores predict fine-tuning: evaluation tables, plots and self-contained reports.

`ped.evaluation.evaluate` measures one dataset's scores against one ground truth (it is
re-exported here, where it has always been importable from); this package presents it:

- `ped.report.load`: reading scores from the JSON layouts the commands take (`load_scores`);
- `ped.report.plots`: the PNG plots, and the public helpers `pyplot`, `label_points` and
  `short_name` that the benchmark's plots reuse;
- `ped.report.ranking`: the part that needs no ground truth (`ranking_rows`, and
  `agreement`: Kendall's tau between the rankings of every pair of scores);
- `ped.report.render`: the report page, HTML (plots inlined, so the one file is the whole
  report) or Markdown beside its PNGs (`write_report`).

Plots are drawn with matplotlib's Agg backend; nothing here prints.
"""

from __future__ import annotations

from ..evaluation import (
    CI_METRICS,
    EVAL_METRICS,
    HEADLINE,
    Evaluation,
    ScoreEvaluation,
    evaluate,
    pair_names,
)
from .load import load_scores
from .plots import (
    label_points,
    panel_axes,
    plot_agreement,
    plot_dynamics,
    plot_heatmap,
    plot_ranking,
    plot_score_bars,
    plot_score_vs_truth,
    pyplot,
    save_figure,
    short_name,
    tail_name,
)
from .ranking import agreement, ranking_rows, unsure_models
from .render import evaluation_rows, write_report

__all__ = [
    "HEADLINE",
    "EVAL_METRICS",
    "CI_METRICS",
    "ScoreEvaluation",
    "Evaluation",
    "evaluate",
    "load_scores",
    "pair_names",
    "plot_score_vs_truth",
    "plot_dynamics",
    "plot_heatmap",
    "plot_ranking",
    "write_report",
    "evaluation_rows",
    "short_name",
    "pyplot",
    "save_figure",
    "label_points",
    "tail_name",
    "panel_axes",
    "plot_agreement",
    "plot_score_bars",
    "agreement",
    "ranking_rows",
    "unsure_models",
]
