"""One symmetric eigensolver for every score that decomposes a D x D Gram-like matrix.

Three measured traps of OpenBLAS's LAPACK on CPUs (docs/agents/perf-notes.md):

1. it is up to 100x slower on a matrix of raw Gram magnitude than on the same matrix divided
   by a power of two (D = 512: 3.4 s against 0.03 s); dividing by ``2**k`` is exact, so the
   eigenpairs are bitwise those of the scaled matrix, rescaled;
2. the divide-and-conquer driver (``evd``) is about 4x faster than the default ``evr`` at
   D = 2048 (1.2 s against 4.9 s), also when only 64 leading pairs are wanted (2.7 s);
3. with another job on the second core, multi-threaded BLAS inside the tridiagonal reduction
   slows down up to 10x; one BLAS thread loses little on an idle machine.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

__all__ = ["sym_eigh"]


def sym_eigh(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, fast on OpenBLAS.

    Parameters
    ----------
    A : ndarray of shape (D, D)
        Symmetric (only the lower triangle is read).

    Returns
    -------
    e : ndarray of shape (D,)
    V : ndarray of shape (D, D)
        ``A = V diag(e) V^T``, as ``scipy.linalg.eigh`` returns them.
    """
    tr = float(np.trace(A))
    D = max(A.shape[0], 1)
    scale = 2.0 ** np.round(np.log2(tr / D)) if tr > 0 and np.isfinite(tr) else 1.0
    with threadpool_limits(limits=1, user_api="blas"):
        e, V = linalg.eigh(A / scale if scale != 1.0 else A, driver="evd", check_finite=False)
    if scale != 1.0:
        e *= scale
    return e, V
