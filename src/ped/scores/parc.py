"""PARC: pairwise annotation representation comparison (Bolya et al., NeurIPS 2021)."""

from __future__ import annotations

import numpy as np

from .._stats import ClassStats
from .._validation import Labels, check_bool, check_int, check_positive, check_seed
from ._registry import register

__all__ = ["parc", "parc_correlation"]

_BLOCK_ELEMENTS = 1 << 22  # entries of one (rows x n) block of the RDM (32 MB in float64)


def _randomized_pca(F: np.ndarray, n_components: int, random_state: int, n_iter: int) -> np.ndarray:
    """``PCA(n_components, svd_solver='randomized', random_state, iterated_power=n_iter)
    .fit_transform(F)`` of scikit-learn (Halko et al. range finder, 10 oversamples, no
    normaliser between the power iterations, scikit-learn's sign convention). ``F`` is
    centred in place."""
    from scipy import linalg  # scipy.linalg loads only when the score runs

    F -= F.mean(axis=0)
    transpose = F.shape[0] < F.shape[1]
    A = F.T if transpose else F
    rng = np.random.RandomState(random_state)
    Q = rng.normal(size=(A.shape[1], n_components + 10))
    for _ in range(n_iter):
        Q = A.T @ (A @ Q)
    Q, _ = linalg.qr(A @ Q, mode="economic", check_finite=False)
    Uhat, s, Vt = linalg.svd(Q.T @ A, full_matrices=False, check_finite=False)
    U = Q @ Uhat
    if transpose:
        U, Vt = Vt[:n_components].T, U[:, :n_components].T
    else:
        U, Vt = U[:, :n_components], Vt[:n_components]
    s = s[:n_components]
    # svd_flip(u_based_decision=False): the largest loading of each component is positive.
    signs = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)])
    signs[signs == 0] = 1.0
    return U * (s * signs)


def _standardise_rows(Z: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit population variance (StandardScaler), then rows to zero
    mean and unit norm, so that ``R @ R.T`` is the matrix of row correlations. A row that is
    constant gets norm 0 and correlation 0 with every other row."""
    n = Z.shape[0]
    mean = Z.mean(axis=0)
    Z = Z - mean
    var = np.mean(Z * Z, axis=0)
    eps = np.finfo(np.float64).eps
    # StandardScaler treats a column as constant when its variance is at round-off level.
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    std = np.where(constant, 1.0, np.sqrt(var))
    Z /= std
    Z -= Z.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Z, axis=1)
    Z /= np.where(norms > 0, norms, 1.0)[:, None]
    return Z


def _upper_blocks(n: int):
    """Row blocks ``(start, stop, upper)`` covering the strict upper triangle of an n x n
    matrix in row-major order; ``upper`` masks the block ``[start:stop, start:]``."""
    rows_per_block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    cols = np.arange(n)
    for start in range(0, n - 1, rows_per_block):
        stop = min(n - 1, start + rows_per_block)
        yield start, stop, cols[start:stop, None] < cols[None, start:]


def _label_levels(codes: np.ndarray, faithful: bool) -> tuple[np.ndarray, np.ndarray]:
    """Level of every strict-upper-triangle pair of the label RDM (row-major), as uint8
    indices into the ascending array of distinct RDM values.

    ``faithful=False``: the exact label RDM, 0 within a class and 1 across. ``faithful=True``:
    the values of the official ``1 - np.corrcoef(np.eye(C)[y])``, computed the same way, whose
    round-off splits the two exact values into a few distinct floats (see `parc`).
    """
    n = codes.shape[0]
    M = n * (n - 1) // 2
    out = np.empty(M, dtype=np.uint8)
    if not faithful:
        pos = 0
        for start, stop, upper in _upper_blocks(n):
            diff = (codes[start:stop, None] != codes[None, start:])[upper]
            out[pos : pos + diff.shape[0]] = diff
            pos += diff.shape[0]
        return out, np.array([0.0, 1.0])
    _, compact = np.unique(codes, return_inverse=True)
    corr = np.corrcoef(np.eye(int(compact.max()) + 1)[compact])  # n x n, as the official
    levels = np.unique(
        np.concatenate([np.unique(1.0 - corr[a:b, a:][u]) for a, b, u in _upper_blocks(n)])
    )
    if levels.shape[0] > 255:  # pragma: no cover - one-hot rows give a handful of values
        raise ValueError(f"Expected a few distinct label dissimilarities, got {levels.shape[0]}.")
    pos = 0
    for start, stop, upper in _upper_blocks(n):
        vals = 1.0 - corr[start:stop, start:][upper]
        out[pos : pos + vals.shape[0]] = np.searchsorted(levels, vals)
        pos += vals.shape[0]
    return out, levels


def parc_correlation(R: np.ndarray, level_ids: np.ndarray, n_levels: int) -> float:
    r"""Spearman correlation between the strict upper triangle of the feature RDM
    :math:`1 - R R^T` and a label RDM that takes ``n_levels`` distinct values.

    The label RDM's tie-averaged ranks are fixed by its level counts, so only the rank sums
    of the feature RDM within each level are needed: the feature RDM's upper triangle is built
    block by block (one float64 array of :math:`n(n-1)/2` values, sorted in place) and the
    values of every level but the most populous are ranked against it by binary search. Ranks
    and ties are exact; no n x n matrix is formed.

    Parameters
    ----------
    R : ndarray of shape (n, k)
        Rows of zero mean and unit (or zero) norm.
    level_ids : ndarray of shape (n (n - 1) / 2,), uint8
        Level (ascending label-RDM value) of every pair, row-major.
    n_levels : int
        Number of levels.

    Returns
    -------
    float
        Spearman's rho; 0.0 when it is undefined (a constant RDM).
    """
    n = R.shape[0]
    M = n * (n - 1) // 2
    counts = np.bincount(level_ids, minlength=n_levels).astype(np.float64)
    if M == 0 or np.count_nonzero(counts) < 2:
        return 0.0
    values = np.empty(M)
    pos = 0
    for start, stop, upper in _upper_blocks(n):
        G = R[start:stop] @ R[start:].T  # correlations with every later row
        np.clip(G, -1.0, 1.0, out=G)
        np.subtract(1.0, G, out=G)
        vals = G[upper]
        values[pos : pos + vals.shape[0]] = vals
        pos += vals.shape[0]
        del G, vals
    largest = int(np.argmax(counts))
    groups = {
        lev: np.sort(values[level_ids == lev])
        for lev in range(n_levels)
        if lev != largest and counts[lev] > 0
    }
    values.sort()
    mid = (M + 1) / 2.0
    centred = np.zeros(n_levels)  # sum over the level of (feature rank - mean rank)
    for lev, g in groups.items():
        lo = np.searchsorted(values, g, side="left")
        hi = np.searchsorted(values, g, side="right")
        centred[lev] = float(np.sum((lo + hi + 1) / 2.0 - mid))
    centred[largest] = -centred.sum()
    # Tie correction: sum of t^3 - t over runs of equal feature dissimilarities.
    eq = np.flatnonzero(values[1:] == values[:-1])
    ties = 0.0
    if eq.size:
        breaks = np.flatnonzero(np.diff(eq) != 1)
        runs = np.diff(np.concatenate([[-1], breaks, [eq.size - 1]])) + 1.0
        ties = float(np.sum(runs**3 - runs))
    del values
    label_rank = np.cumsum(counts) - counts + (counts + 1.0) / 2.0 - mid
    Mf = float(M)
    ss_features = Mf * (Mf * Mf - 1.0) / 12.0 - ties / 12.0
    ss_labels = Mf * (Mf * Mf - 1.0) / 12.0 - float(np.sum(counts**3 - counts)) / 12.0
    denom = np.sqrt(ss_features * ss_labels)
    if not denom > 0:
        return 0.0
    return float(np.dot(label_rank, centred) / denom)


@register(
    "parc",
    scale_invariant=True,
    bounds=(-100.0, 100.0),
    summary="Spearman correlation between the pairwise dissimilarities of PCA-reduced "
    "features and of one-hot labels (x100).",
    reference="Bolya et al., Scalable Diverse Model Selection for Accessible Transfer "
    "Learning, NeurIPS 2021 (arXiv:2111.06977).",
)
def parc(
    *,
    stats: ClassStats,
    labels: Labels | None = None,
    source_probs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    ratio: float = 2,
    max_samples: int = 15000,
    random_state=0,
    faithful: bool = True,
) -> float:
    r"""PARC (Bolya et al., NeurIPS 2021), as the PED repository's ``PARC_Score``.

    The features are reduced to :math:`k` dimensions (:math:`k = 32` when ``ratio > 1``,
    else :math:`\lfloor D\cdot\text{ratio}\rfloor`) by scikit-learn's randomized PCA
    (``svd_solver='randomized'``, ``random_state=1919``, ``iterated_power=1``, reproduced
    exactly) and standardised per dimension. With :math:`\rho_{ij}` the Pearson correlation
    between samples :math:`i` and :math:`j` of the reduced features, and :math:`\ell_i` the
    one-hot labels,

    .. math::
        \mathrm{PARC} = 100\cdot\mathrm{Spearman}\Big(\{1 - \rho_{ij}\}_{i<j},\,
        \{1 - \mathrm{corr}(\ell_i, \ell_j)\}_{i<j}\Big),

    in [-100, 100]; higher is better. Invariant to the feature scale: PCA directions,
    the per-dimension standardisation and correlations ignore a constant factor.

    The label RDM of one-hot labels takes two values (0 within a class,
    :math:`1 + 1/(C-1)` across), but the official ``1 - np.corrcoef(one_hot)`` carries
    round-off that splits them into a few distinct floats (for example 1.2 and 1.2 + 1 ulp),
    and ``spearmanr`` ranks those as different values: the official score moves by up to a
    few percent with that noise, and by about 1e-6 relative with the BLAS thread count.
    ``faithful=True`` (the default) reproduces it by computing that n x n matrix exactly as
    the official code (8 n^2 bytes: 1.8 GB at n = 15000) and keeping only the level of every
    pair (1 byte per pair); ``faithful=False`` uses the exact two-valued label RDM and forms no
    n x n matrix.

    Memory: the official code forms both n x n RDMs and their ranks (several GB at
    n = 15000). Here the feature RDM's upper triangle is built block by block and sorted in
    place (4 n^2 bytes, 0.9 GB at n = 15000), with exact float64 ranks and ties; the peak is
    about 2 GB at n = 15000 with ``faithful=True``, 1.5 GB without.

    Deviations from the official code:

    * ``k`` is capped at ``min(k, n_samples, n_features)`` (the official PCA raises when there
      are fewer than 32 features or samples).
    * Above ``max_samples`` (15000) samples, ``floor(n_c * max_samples / N)`` samples of each
      class are drawn without replacement, seeded by ``random_state``, and scored with
      **their labels**; the official code scores them against their own features (bug B1)
      and is unseeded.
    * A sample whose reduced features are constant gets correlation 0 with every other
      sample (the official code gives NaN), and an undefined correlation (no pair, or all
      pairs, within a class) gives 0.0.

    Parameters
    ----------
    stats : ClassStats
        Class statistics of the features.
    ratio : float, default 2
        PCA dimensions: 32 when above 1, else this fraction of the feature dimensions.
    max_samples : int, default 15000
        Subsample above this many samples.
    random_state : int, Generator or None, default 0
        Seed of the subsampling.
    faithful : bool, default True
        Reproduce the round-off of the official label RDM (see above).

    Returns
    -------
    float
        100 times Spearman's rho; higher is better.

    References
    ----------
    .. [1] D. Bolya, R. Mittapalli, J. Hoffman. Scalable Diverse Model Selection for
       Accessible Transfer Learning. NeurIPS 2021. arXiv:2111.06977.
    """
    ratio = check_positive(ratio, "ratio")
    max_samples = check_int(max_samples, "max_samples", minimum=2)
    faithful = check_bool(faithful, "faithful")
    random_state = check_seed(random_state, generator=np.random.Generator)
    N, D = stats.n_samples, stats.n_features
    codes = stats.codes
    rows = None
    if N > max_samples:
        rng = np.random.default_rng(random_state)
        p = max_samples / N
        picks = []
        for c in range(stats.n_classes):
            members = np.flatnonzero(codes == c)
            take = int(np.floor(p * members.shape[0]))
            if take:
                picks.append(rng.choice(members, size=take, replace=False))
        rows = np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.intp)
        codes = codes[rows]
        if rows.shape[0] < 2:
            return 0.0
    F = stats.features() if rows is None else stats.gather(rows)
    n = F.shape[0]
    k = 32 if ratio > 1 else int(D * ratio)
    k = max(1, min(k, n, D))
    Z = _randomized_pca(F, k, random_state=1919, n_iter=1)
    del F
    R = _standardise_rows(Z)
    del Z
    level_ids, levels = _label_levels(codes, faithful)
    return 100.0 * parc_correlation(R, level_ids, levels.shape[0])
