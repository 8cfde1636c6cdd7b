"""Class statistics computed once and shared by every score and every PED step.

`ClassStats` wraps a validated feature matrix and its label codes, and computes on demand (and
caches) what the scores need: class counts, class means, per-class variances, the total mean,
the centred scatter matrix and the within-class scatter. The features themselves are never
copied or modified: a float32 matrix stays float32 and is upcast to float64 block by block.

One pass over the samples gives everything. Every row is shifted by a sample of its own class,
:math:`z_i = x_i - K_{y_i}` (``K_c`` is the first sample of class ``c``), and the pass
accumulates the class sums :math:`\\sum z`, the class sums of squares :math:`\\sum z^2` (both
through a sparse one-hot product, O(N D)) and the Gram matrix :math:`\\sum z z^T` (a symmetric
rank-k update, the only O(N D^2) work). Because the shift lies inside each class, the class
variances and the within-class scatter come out without the cancellation of
:math:`E[x^2] - E[x]^2`; the total scatter is the within-class scatter plus the (rank C)
between-class scatter.

PED moves every class rigidly (all samples of class ``c`` are shifted by the same vector
``offsets[c]``). `ClassStats.translated` returns the statistics of the moved features without
touching the samples: means shift, per-class variances and the within-class scatter do not
change, and the total scatter receives a correction of rank at most ``2 C``
(O(C D^2) instead of a pass over the N x D samples). The shifted rows ``z`` are the same for
the moved features (the shift moves with the class), so weighted passes (`weighted_sums`)
serve translated statistics without any per-sample offset.

With ``device=`` the passes over the samples (Gram, class sums, projections) run in torch on
that device ("cpu", "cuda", "cuda:1", ...) in float64; everything of size D x D or smaller is
brought back to numpy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

from ._validation import Labels

__all__ = ["ClassStats", "add_rows", "check_device", "feature_scale", "check_scale", "to_units"]

_BLOCK_BYTES = 64 * 2**20  # rows are upcast to float64 in blocks of about this size
_GATHER_ROWS = 512  # rows gathered at a time (add_rows, ClassStats.gather)


def add_rows(
    block: np.ndarray, table: np.ndarray, codes: np.ndarray, *, subtract: bool = False
) -> None:
    """``block += table[codes]`` (``-=`` with ``subtract``) in place, gathering a few hundred
    rows of the table at a time so that no second array of the block's size is made."""
    for start in range(0, block.shape[0], _GATHER_ROWS):
        part = slice(start, start + _GATHER_ROWS)
        rows = table[codes[part]]
        if subtract:
            block[part] -= rows
        else:
            block[part] += rows


#: Features whose largest magnitude lies in [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] are used as
#: they are (squares and Gram matrices stay far from overflow and underflow); others are
#: divided by a power of two (`feature_scale`).
SAFE_EXPONENT = 100


def feature_scale(X: np.ndarray) -> float:
    """The power of two that `ClassStats` divides ``X`` by: 1.0 when the largest magnitude of
    ``X`` lies in ``[2**-100, 2**100]`` (or ``X`` is all zero), else the power of two nearest
    that magnitude, so that the scaled features have a largest magnitude near 1."""
    # max and -min rather than abs: no temporary array of the features' size.
    top = max(float(np.max(X)), -float(np.min(X))) if X.size else 0.0
    if top == 0.0 or 2.0**-SAFE_EXPONENT <= top <= 2.0**SAFE_EXPONENT:
        return 1.0
    exponent = int(np.clip(np.round(np.log2(top)), -1000, 1000))  # 1 / scale stays finite
    return float(2.0**exponent)


def to_units(value: float, scale: float, power: int = 2) -> float:
    """``value / scale**power`` for a power-of-two ``scale``, exact (``ldexp``), without
    intermediate overflow: a constant of a formula in the units of `ClassStats` statistics
    (``power=2`` for a variance). Beyond float64's range the result is 0.0 or infinity."""
    exponent = int(np.frexp(scale)[1]) - 1
    with np.errstate(over="ignore", under="ignore"):
        return float(np.ldexp(float(value), -power * exponent))


def check_scale(scale: Any) -> float:
    """Validate a `ClassStats` scale: a positive finite power of two."""
    s = float(scale)
    if not (np.isfinite(s) and s > 0 and np.frexp(s)[0] == 0.5):
        raise ValueError(f"Expected a power-of-two scale, got {scale!r}.")
    return s


def check_device(device: Any) -> Any:
    """Validate a ``device=`` argument: None (numpy) or a torch device string or object.

    Parameters
    ----------
    device : None, str or torch.device
        ``None`` keeps the numpy path; ``"cpu"``, ``"cuda"``, ``"cuda:0"``, ... run the passes
        over the samples in torch on that device.

    Returns
    -------
    None or torch.device
    """
    if device is None:
        return None
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency here
        raise ValueError(f"device={device!r} needs torch, which is not installed.") from exc
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"Expected device to be None, 'cpu', 'cuda' or 'cuda:<index>', got {device!r}."
            ) from exc
    else:
        raise TypeError(
            f"Expected device to be None, a string or a torch.device, got {type(device).__name__}."
        )
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Expected an available device, got {device!r}: CUDA is not available.")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"Expected a 'cpu' or 'cuda' device, got {device!r}.")
    return dev


class ClassStats:
    """Lazily computed class statistics of ``X + offsets[codes]``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
        Validated features (see `ped._validation.check_features`). Never modified.
    labels : Labels
        Validated labels (see `ped._validation.check_labels`), every class present.
    offsets : ndarray of shape (n_classes, n_features), optional
        Rigid per-class translations applied on top of ``X``. Use `translated` rather than
        passing this directly.
    device : None, str or torch.device, optional
        Run the passes over the samples in torch on this device (see `check_device`).
    fuse : bool, default True
        Compute the scatter in the same pass as the class moments, so that the first request
        for either costs one pass. ``False`` computes class moments alone first (cheaper when
        only means and variances are needed, as for `ped.simulate`), and the scatter in a
        second pass if it is asked for later.
    scale : float, default 1.0
        A power of two (see `feature_scale`): every statistic, `features`, `gather` and
        `project` describe ``X / scale``, and ``offsets`` are in those units. Dividing by a
        power of two is exact, so features of any magnitude (1e-200, 1e200) give statistics
        that neither overflow nor underflow; a score whose formula is not invariant to the
        feature scale reads ``stats.scale`` to express its constants in these units.
    """

    def __init__(
        self,
        X: np.ndarray,
        labels: Labels,
        offsets: np.ndarray | None = None,
        *,
        device: Any = None,
        fuse: bool = True,
        scale: float = 1.0,
    ):
        self.X = X
        self.scale = check_scale(scale)
        self.labels = labels
        self.codes = labels.codes
        self.n_samples, self.n_features = X.shape
        self.n_classes = labels.n_classes
        self.offsets = offsets
        self.device = check_device(device)
        self.fuse = bool(fuse)
        self._root: ClassStats | None = None
        self._cache: dict[str, Any] = {}

    # ----------------------------------------------------------------------------- helpers
    def _upcast(self, rows: np.ndarray) -> np.ndarray:
        """A float64 copy of some rows of ``X``, divided by `scale` (exact: a power of two)."""
        out = np.array(rows, dtype=np.float64)
        if self.scale != 1.0:
            out *= 1.0 / self.scale
        return out

    def _cached(self, key: str, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def root(self) -> ClassStats:
        """The statistics of the untranslated features."""
        return self if self._root is None else self._root

    def block_rows(self) -> int:
        """Rows per block of the passes over the samples (about 64 MB of float64)."""
        return max(256, _BLOCK_BYTES // (8 * max(1, self.n_features)))

    def _slices(self) -> Iterator[slice]:
        step = self.block_rows()
        for start in range(0, self.n_samples, step):
            yield slice(start, min(start + step, self.n_samples))

    def iter_blocks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, block)``: float64 copies of consecutive row blocks of the features
        (translated, if this object carries offsets)."""
        for rows in self._slices():
            block = self._upcast(self.X[rows])
            if self.offsets is not None:
                add_rows(block, self.offsets, self.codes[rows])
            yield rows, block

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """The (translated) features of the samples ``rows`` as a new float64 array of shape
        (len(rows), n_features), read a few hundred rows at a time (no other copy)."""
        rows = np.asarray(rows, dtype=np.intp)
        X = self.root.X
        out = np.empty((rows.shape[0], self.n_features))
        for start in range(0, rows.shape[0], _GATHER_ROWS):
            part = slice(start, start + _GATHER_ROWS)
            out[part] = X[rows[part]]
        if self.scale != 1.0:
            out *= 1.0 / self.scale
        if self.offsets is not None:
            add_rows(out, self.offsets, self.codes[rows])
        return out

    def features(self) -> np.ndarray:
        """The (translated) features as a new float64 array of shape (n_samples, n_features)."""
        out = self._upcast(self.X)
        if self.offsets is not None:
            out += self.offsets[self.codes]
        return out

    def project(self, P: np.ndarray) -> np.ndarray:
        """``features() @ P`` for a (n_features, k) matrix, computed without forming the
        translated features."""
        P = np.asarray(P, dtype=np.float64)
        root = self.root
        if self.device is not None:
            out = root._torch_project(P)
        else:
            out = np.empty((self.n_samples, P.shape[1]), dtype=np.float64)
            for rows, block in root.iter_blocks():
                np.matmul(block, P, out=out[rows])
        if self.offsets is not None:
            out += (self.offsets @ P)[self.codes]
        return out

    # --------------------------------------------------------------------- the sample pass
    @property
    def shift(self) -> np.ndarray:
        """The per-class shift ``K`` of the pass: the first sample of every class (moved with
        its class when translated), shape (n_classes, n_features), float64."""
        root = self.root

        def fn():
            first = np.full(root.n_classes, -1, dtype=np.intp)
            # The first occurrence of every code: reversed assignment keeps the smallest index.
            first[root.codes[::-1]] = np.arange(root.n_samples - 1, -1, -1)
            return root._upcast(root.X[first])

        K = root._cached("shift", fn)
        return K if self.offsets is None else K + self.offsets

    def _onehot(self, rows: slice, weights: np.ndarray | None = None) -> sp.csr_array:
        import scipy.sparse as sp  # loads with the first pass over the rows, not at import

        codes = self.codes[rows]
        n = codes.shape[0]
        data = np.ones(n) if weights is None else weights
        return sp.csr_array((data, (codes, np.arange(n))), shape=(self.n_classes, n))

    def _pass(self, moments: bool, gram: bool) -> None:
        """One pass over the shifted rows ``z``: class sums and sums of squares of ``z``
        (when ``moments``) and ``sum z z^T`` (when ``gram``). Root only."""
        if self.device is not None:
            self._torch_pass(moments, gram)
            return
        C, D = self.n_classes, self.n_features
        K = self.shift
        sz = np.zeros((C, D)) if moments else None
        sz2 = np.zeros((C, D)) if moments else None
        G = np.zeros((D, D)) if gram else None
        for rows in self._slices():
            z = self._upcast(self.X[rows])
            add_rows(z, K, self.codes[rows], subtract=True)
            if gram:
                G += z.T @ z  # symmetric rank-k update (numpy calls syrk for z.T @ z)
            if moments:
                onehot = self._onehot(rows)
                sz += onehot @ z
                np.multiply(z, z, out=z)
                sz2 += onehot @ z
        if moments:
            self._store_moments(sz, sz2)
        if gram:
            self._store_gram(G)

    def _store_moments(self, sz: np.ndarray, sz2: np.ndarray) -> None:
        n = self.counts.astype(np.float64)[:, None]
        mean_z = sz / n
        self._cache["means"] = self.shift + mean_z
        var = sz2 / n - mean_z * mean_z
        np.maximum(var, 0.0, out=var)
        self._cache["class_vars"] = var
        self._cache["class_zsums"] = sz

    def _store_gram(self, G: np.ndarray) -> None:
        # Within-class scatter: sum_i z z^T - sum_c (sum z)(sum z)^T / n_c.
        self._cache["zgram"] = G

    def _ensure(self, moments: bool, gram: bool) -> None:
        root = self.root
        need_m = moments and "means" not in root._cache
        need_g = gram and "zgram" not in root._cache
        if need_m and root.fuse and "zgram" not in root._cache:
            need_g = True
        if need_m or need_g:
            root._pass(need_m, need_g)

    # ------------------------------------------------------------------------ torch backend
    def _torch(self):
        import torch

        return torch

    def _torch_block(self, rows: slice):
        torch = self._torch()
        block = torch.from_numpy(np.array(self.X[rows], copy=True))
        block = block.to(self.device).to(torch.float64)
        return block if self.scale == 1.0 else block.mul_(1.0 / self.scale)

    def _torch_pass(self, moments: bool, gram: bool) -> None:
        torch = self._torch()
        C, D = self.n_classes, self.n_features
        opts = {"dtype": torch.float64, "device": self.device}
        K = torch.from_numpy(self.shift).to(self.device)
        codes = torch.from_numpy(np.asarray(self.codes, dtype=np.int64)).to(self.device)
        sz = torch.zeros((C, D), **opts) if moments else None
        sz2 = torch.zeros((C, D), **opts) if moments else None
        G = torch.zeros((D, D), **opts) if gram else None
        for rows in self._slices():
            c = codes[rows]
            z = self._torch_block(rows)
            z -= K[c]
            if gram:
                G.addmm_(z.T, z)
            if moments:
                sz.index_add_(0, c, z)
                z.mul_(z)
                sz2.index_add_(0, c, z)
        if moments:
            self._store_moments(sz.cpu().numpy(), sz2.cpu().numpy())
        if gram:
            self._store_gram(G.cpu().numpy())

    def _torch_project(self, P: np.ndarray) -> np.ndarray:
        torch = self._torch()
        Pt = torch.from_numpy(np.ascontiguousarray(P)).to(self.device)
        out = np.empty((self.n_samples, P.shape[1]), dtype=np.float64)
        for rows in self._slices():
            out[rows] = (self._torch_block(rows) @ Pt).cpu().numpy()
        return out

    # -------------------------------------------------------------------------- statistics
    @property
    def counts(self) -> np.ndarray:
        """Samples per class, shape (n_classes,), int64."""
        root = self.root
        return root._cached("counts", lambda: np.bincount(root.codes, minlength=root.n_classes))

    @property
    def priors(self) -> np.ndarray:
        """Class frequencies ``n_c / N``, shape (n_classes,)."""
        return self.counts / float(self.n_samples)

    def _class_moments(self) -> tuple[np.ndarray, np.ndarray]:
        self._ensure(moments=True, gram=False)
        root = self.root
        return root._cache["means"], root._cache["class_vars"]

    @property
    def means(self) -> np.ndarray:
        """Class means, shape (n_classes, n_features), float64."""
        if self._root is None:
            return self._class_moments()[0]
        return self._cached("means", lambda: self._class_moments()[0] + self.offsets)

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
    def within_scatter(self) -> np.ndarray:
        """Within-class scatter ``sum_c sum_{i in c} (x_i - m_c)(x_i - m_c)^T``, shape (D, D).
        Unchanged by a rigid translation of the classes."""
        root = self.root

        def fn():
            root._ensure(moments=True, gram=True)
            sz = root._cache["class_zsums"]
            scaled = sz / np.sqrt(root.counts.astype(np.float64))[:, None]
            W = root._cache["zgram"] - scaled.T @ scaled
            return 0.5 * (W + W.T)

        return root._cached("within_scatter", fn)

    @property
    def scatter(self) -> np.ndarray:
        """Centred total scatter ``sum_i (x_i - mean)(x_i - mean)^T``, shape (D, D)."""
        return self._cached("scatter", self._compute_scatter)

    def _compute_scatter(self) -> np.ndarray:
        # Within-class scatter plus the between-class scatter of this object's (possibly
        # moved) class means: sum_c n_c (m_c - mu)(m_c - mu)^T, rank C.
        W = self.within_scatter
        B = (self.means - self.mean) * np.sqrt(self.counts.astype(np.float64))[:, None]
        return W + B.T @ B

    @property
    def covariance(self) -> np.ndarray:
        """Population covariance of the samples, shape (D, D)."""
        return self._cached("covariance", lambda: self.scatter / float(self.n_samples))

    @property
    def gram(self) -> np.ndarray:
        """Uncentred Gram matrix ``X^T X`` of the (translated) features, shape (D, D)."""

        def fn():
            mu = self.mean
            return self.scatter + self.n_samples * np.outer(mu, mu)

        return self._cached("gram", fn)

    def weighted_sums(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted statistics of the shifted rows ``z_i = x_i - shift[y_i]`` in one pass.

        The shifted rows are the same for translated statistics, so this serves moved features
        without any per-sample offset.

        Parameters
        ----------
        weights : ndarray of shape (n_samples,)
            A weight ``w_i`` per sample.

        Returns
        -------
        gram : ndarray of shape (n_features, n_features)
            :math:`\\sum_i w_i^2 z_i z_i^T`.
        sums : ndarray of shape (n_classes, n_features)
            :math:`\\sum_{i \\in c} w_i z_i`.
        sums2 : ndarray of shape (n_classes, n_features)
            :math:`\\sum_{i \\in c} w_i^2 z_i`.
        """
        root = self.root
        w = np.asarray(weights, dtype=np.float64)
        C, D = root.n_classes, root.n_features
        K = root.shift
        if root.device is not None:
            torch = root._torch()
            dev = root.device
            Kt = torch.from_numpy(K).to(dev)
            codes = torch.from_numpy(np.asarray(root.codes, dtype=np.int64)).to(dev)
            wt = torch.from_numpy(w).to(dev)
            G = torch.zeros((D, D), dtype=torch.float64, device=dev)
            s1 = torch.zeros((C, D), dtype=torch.float64, device=dev)
            s2 = torch.zeros((C, D), dtype=torch.float64, device=dev)
            for rows in root._slices():
                c = codes[rows]
                z = root._torch_block(rows)
                z -= Kt[c]
                z.mul_(wt[rows, None])
                G.addmm_(z.T, z)
                s1.index_add_(0, c, z)
                z.mul_(wt[rows, None])
                s2.index_add_(0, c, z)
            return G.cpu().numpy(), s1.cpu().numpy(), s2.cpu().numpy()
        G = np.zeros((D, D))
        s1 = np.zeros((C, D))
        s2 = np.zeros((C, D))
        for rows in root._slices():
            z = root._upcast(root.X[rows])
            add_rows(z, K, root.codes[rows], subtract=True)
            z *= w[rows, None]
            G += z.T @ z
            s1 += root._onehot(rows) @ z
            s2 += root._onehot(rows, w[rows]) @ z
        return G, s1, s2

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
        out = ClassStats(root.X, root.labels, offsets=total, scale=root.scale)
        out.device = root.device
        out.fuse = root.fuse
        out._root = root
        return out
