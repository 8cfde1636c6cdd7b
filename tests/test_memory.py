"""Memory: no score expands float32 features to a float64 N x D copy where it can work in blocks.

Peaks are measured with `tracemalloc`, which sees numpy's allocations (BLAS work buffers are
not counted). Issue 6's rule: no score keeps more than two N x D float64 copies alive, and a
Gram of the float64 upcast is formed block by block.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from blobs_helper import make_blobs

import ped
import ped._stats

N_PER_CLASS, N_CLASSES, DIM = 800, 10, 512
COPY = N_PER_CLASS * N_CLASSES * DIM * 8  # bytes of one float64 N x D copy

# PACTran-ndir/ngamma fit a mixture of max(C, N / 10) full-covariance components (the official
# gmm_estimator): its N x K posteriors are O(N^2) by definition (800 x 8000 here). linear_cv
# holds one fold's rows (one copy) while scikit-learn's L-BFGS logistic regression keeps its own
# working arrays: not under this bound (not measured yet; issue 12's note says so).
FEATURE_SCORES = [
    n
    for n in ped.list_scores()
    if ped.describe_score(n)["needs_features"]
    and "parc" not in n
    and "pactran_n" not in n
    and "linear_cv" not in n
]
# Scores whose every pass over the samples goes through ClassStats' row blocks.
BLOCKWISE = [
    n for n in FEATURE_SCORES if n.removeprefix("ped+") in ("gbc", "hscore", "logme", "sfda")
] + ["reg_hscore", "ped+reg_hscore"]


@pytest.fixture(scope="module")
def data():
    X, y = make_blobs(
        n_per_class=N_PER_CLASS, n_classes=N_CLASSES, dim=DIM, seed=5, dtype=np.float32
    )
    ref = make_blobs(n_per_class=100, n_classes=4, dim=DIM, seed=6)[0]
    return X, y, ref


def _peak(name, X, y, ref) -> int:
    kw = {"reference": ref} if name.startswith("ped+") else {}
    # One small call first: modules a score imports lazily (scikit-learn for NCTI) would
    # otherwise count towards the peak of whichever test runs first.
    small = np.r_[: len(y) : len(y) // 200]
    ped.score(name, X[small], y[small], **kw)
    tracemalloc.start()
    try:
        ped.score(name, X, y, **kw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_at_most_two_float64_copies(name, data):
    X, y, ref = data
    assert X.nbytes * 2 == COPY
    peak = _peak(name, X, y, ref)
    assert peak < 2 * COPY, f"{name}: peak {peak / COPY:.2f} float64 copies of the features"


@pytest.mark.parametrize("name", BLOCKWISE)
def test_blockwise_scores_never_expand_the_features(name, data, monkeypatch):
    # Blocks of 1 MB: a float64 copy of the features (33 MB) can only appear if a score forms
    # it. What remains is a few D x D matrices (2 MB each) and N x 64 projections (4 MB).
    monkeypatch.setattr(ped._stats, "_BLOCK_BYTES", 2**20)
    X, y, ref = data
    peak = _peak(name, X, y, ref)
    assert peak < COPY, f"{name}: peak {peak / COPY:.2f} float64 copies of the features"
