"""Class statistics computed once and shared by every score and every PED step.

`ClassStats` wraps a validated feature matrix and its label codes, and computes on demand (and
caches) what the scores need: class counts, class means, per-class variances, the total mean,
the centred scatter matrix and the within-class scatter. The features themselves are never
copied or modified: a float32 matrix stays float32 and is upcast to float64 block by block.

PED moves every class rigidly (all samples of class ``c`` are shifted by the same vector
``offsets[c]``). `ClassStats.translated` returns the statistics of the moved features without
touching the samples: means shift, per-class variances and the within-class scatter do not
change, and the total scatter receives a correction of rank at most ``2 C``
(O(C D^2) instead of a pass over the N x D samples).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._validation import Labels

__all__ = ["ClassStats"]

_BLOCK_BYTES = 64 * 2**20  # rows are upcast to float64 in blocks of about this size


class ClassStats:
    """Lazily computed class statistics of ``X + offsets[codes]``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
        Validated features (see `ped._validation.check_features`). Never modified.
    labels : Labels
        Validated labels (see `ped._validation.check_labels`).
    offsets : ndarray of shape (n_classes, n_features), optional
        Rigid per-class translations applied on top of ``X``. Use `translated` rather than
        passing this directly.
    """

    def __init__(self, X: np.ndarray, labels: Labels, offsets: np.ndarray | None = None):
        self.X = X
        self.labels = labels
        self.codes = labels.codes
        self.n_samples, self.n_features = X.shape
        self.n_classes = labels.n_classes
        self.offsets = offsets
        self._root: ClassStats | None = None
        self._cache: dict[str, np.ndarray] = {}

    # ----------------------------------------------------------------------------- helpers
    def _cached(self, key: str, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def root(self) -> ClassStats:
        """The statistics of the untranslated features."""
        return self if self._root is None else self._root

    def block_rows(self) -> int:
        return max(256, _BLOCK_BYTES // (8 * max(1, self.n_features)))

    def iter_blocks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, block)``: float64 copies of consecutive row blocks of the features
        (translated, if this object carries offsets)."""
        step = self.block_rows()
        for start in range(0, self.n_samples, step):
            rows = slice(start, min(start + step, self.n_samples))
            block = np.array(self.X[rows], dtype=np.float64)
            if self.offsets is not None:
                block += self.offsets[self.codes[rows]]
            yield rows, block

    def features(self) -> np.ndarray:
        """The (translated) features as a new float64 array of shape (n_samples, n_features)."""
        out = np.array(self.X, dtype=np.float64)
        if self.offsets is not None:
            out += self.offsets[self.codes]
        return out

    def project(self, P: np.ndarray) -> np.ndarray:
        """``features() @ P`` for a (n_features, k) matrix, computed without forming the
        translated features."""
        P = np.asarray(P, dtype=np.float64)
        out = np.empty((self.n_samples, P.shape[1]), dtype=np.float64)
        root = self.root
        for rows, block in root.iter_blocks():
            out[rows] = block @ P
        if self.offsets is not None:
            out += (self.offsets @ P)[self.codes]
        return out

    # -------------------------------------------------------------------------- statistics
    @property
    def counts(self) -> np.ndarray:
        """Samples per class, shape (n_classes,), int64."""
        return self._cached("counts", lambda: np.bincount(self.codes, minlength=self.n_classes))

    @property
    def priors(self) -> np.ndarray:
        """Class frequencies ``n_c / N``, shape (n_classes,)."""
        return self.counts / float(self.n_samples)

    def _class_moments(self) -> tuple[np.ndarray, np.ndarray]:
        root = self.root
        if "means" not in root._cache:
            C, D = root.n_classes, root.n_features
            means = np.empty((C, D))
            var = np.empty((C, D))
            order = np.argsort(root.codes, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(root.counts)])
            for c in range(C):
                idx = order[bounds[c] : bounds[c + 1]]
                Xc = np.asarray(root.X[idx], dtype=np.float64)
                m = Xc.mean(axis=0)
                Xc -= m
                means[c] = m
                var[c] = np.einsum("ij,ij->j", Xc, Xc) / Xc.shape[0]
            root._cache["means"] = means
            root._cache["class_vars"] = var
        return root._cache["means"], root._cache["class_vars"]

    @property
    def means(self) -> np.ndarray:
        """Class means, shape (n_classes, n_features), float64."""

        def fn():
            m = self._class_moments()[0]
            return m if self.offsets is None else m + self.offsets

        return self._cached("means", fn) if self._root is not None else self._class_moments()[0]

    @property
    def class_vars(self) -> np.ndarray:
        """Per-class, per-dimension population variances, shape (n_classes, n_features).
        Unchanged by a rigid translation of the classes."""
        return self._class_moments()[1]

    @property
    def sums(self) -> np.ndarray:
        """Class sums, shape (n_classes, n_features)."""
        return self.means * self.counts[:, None]

    @property
    def mean(self) -> np.ndarray:
        """The mean of all samples, shape (n_features,)."""
        return self._cached("mean", lambda: self.priors @ self.means)

    @property
    def scatter(self) -> np.ndarray:
        """Centred total scatter ``sum_i (x_i - mean)(x_i - mean)^T``, shape (D, D)."""
        return self._cached("scatter", self._compute_scatter)

    def _compute_scatter(self) -> np.ndarray:
        root = self.root
        if self is not root:
            # Rank-2C update of the untranslated scatter: with e_c = offsets_c - a,
            # a = sum_c pi_c offsets_c, the moved scatter is
            # G + A + A^T + E^T diag(n) E, A = (M - mu)^T diag(n) E.
            G = root.scatter
            n = root.counts.astype(np.float64)
            E = self.offsets - root.priors @ self.offsets
            B = (root.means - root.mean) * n[:, None]
            A = B.T @ E
            out = G + A + A.T + (E * n[:, None]).T @ E
            return out
        mu = self.mean
        D = self.n_features
        G = np.zeros((D, D))
        for _, block in self.iter_blocks():
            block -= mu
            G += block.T @ block
        return G

    @property
    def covariance(self) -> np.ndarray:
        """Population covariance of the samples, shape (D, D)."""
        return self.scatter / float(self.n_samples)

    @property
    def gram(self) -> np.ndarray:
        """Uncentred Gram matrix ``X^T X`` of the (translated) features, shape (D, D)."""

        def fn():
            mu = self.mean
            return self.scatter + self.n_samples * np.outer(mu, mu)

        return self._cached("gram", fn)

    @property
    def within_scatter(self) -> np.ndarray:
        """Within-class scatter ``sum_c sum_{i in c} (x_i - m_c)(x_i - m_c)^T``, shape (D, D).
        Unchanged by a rigid translation of the classes."""
        root = self.root

        def fn():
            B = root.means - root.mean
            return root.scatter - (B * root.counts[:, None]).T @ B

        return root._cached("within_scatter", fn)

    # -------------------------------------------------------------------------- translation
    def translated(self, offsets: np.ndarray) -> ClassStats:
        """Statistics of the features with class ``c`` moved by ``offsets[c]`` (added to any
        offsets this object already carries). Shares every translation-invariant statistic."""
        offsets = np.asarray(offsets, dtype=np.float64)
        if offsets.shape != (self.n_classes, self.n_features):
            raise ValueError(
                f"Expected offsets of shape {(self.n_classes, self.n_features)}, "
                f"got {offsets.shape}."
            )
        root = self.root
        total = offsets if self.offsets is None else self.offsets + offsets
        out = ClassStats(root.X, root.labels, offsets=total)
        out._root = root
        return out
