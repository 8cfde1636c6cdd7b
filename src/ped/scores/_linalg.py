"""Dense linear algebra shared by the scores: a symmetric eigensolver, log-determinants of
positive definite matrices, and the optional BLAS thread limit.

Measured traps of LAPACK on CPUs (docs/agents/perf-notes.md):

1. SciPy's ``linalg.eigh``/``cholesky`` (SciPy's own OpenBLAS 0.3.30 here) took 5-10x longer
   than NumPy's ``linalg.eigh``/``cholesky`` (NumPy's OpenBLAS 0.3.31) on the same matrices
   at D = 208-512 (one thread: eigh at D = 512 1.0-2.4 s against 0.20-0.28 s; Cholesky at
   D = 208 0.4 s against 0.4 ms), and about as long at D = 2048; every factorisation here
   goes through NumPy;
2. older OpenBLAS builds were up to 100x slower on a matrix of raw Gram magnitude than on the
   same matrix divided by a power of two; dividing by ``2**k`` is exact (the eigenpairs are
   bitwise those of the scaled matrix, rescaled), so it is kept;
3. the divide-and-conquer driver (``syevd``, NumPy's ``eigh``) is about 4x faster than the
   MRRR driver ``evr`` at D = 2048, also when only 64 leading pairs are wanted.

Threads: every routine here uses the threads the BLAS library is configured with (the user's
environment: ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, or all cores). On a machine whose
cores are busy with other jobs, multi-threaded BLAS can be much slower than one thread (threads
wait on each other at every call); setting the environment variable ``PED_BLAS_THREADS`` to a
positive integer limits the BLAS and OpenMP thread pools to that many threads while `ped`
computes a score (`blas_threads`). It is unset, and nothing is limited, by default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

__all__ = ["sym_eigh", "logdet_identity_plus", "blas_threads", "blas_thread_limit"]

#: Environment variable that limits the BLAS/OpenMP threads of every score (unset: no limit).
BLAS_THREADS_ENV = "PED_BLAS_THREADS"


def blas_thread_limit() -> int | None:
    """The thread limit asked for by ``PED_BLAS_THREADS``, or None when it is unset or empty.

    Returns
    -------
    int or None
        A positive number of threads, or None (use the BLAS library's own setting).

    Raises
    ------
    ValueError
        If the variable is set to anything but a positive integer.
    """
    raw = os.environ.get(BLAS_THREADS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"Expected the environment variable {BLAS_THREADS_ENV} to be a positive integer "
            f"(a number of threads), got {raw!r}; unset it to use every thread BLAS is given."
        )
    return value


@contextmanager
def blas_threads() -> Iterator[int | None]:
    """Limit the BLAS and OpenMP thread pools to ``PED_BLAS_THREADS`` inside the block.

    Does nothing (and imports nothing) when the variable is unset, so by default every score
    runs with the threads of the user's environment.

    Yields
    ------
    int or None
        The limit in force, or None.
    """
    limit = blas_thread_limit()
    if limit is None:
        yield None
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit):
        yield limit


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
    # NumPy's eigh is LAPACK's divide-and-conquer syevd, reading the lower triangle.
    e, V = np.linalg.eigh(A / scale if scale != 1.0 else A)
    if scale != 1.0:
        e *= scale
    return e, V


def logdet_identity_plus(G: np.ndarray, c: float) -> float:
    r""":math:`\log\det(I + c\,G)` of a symmetric positive semi-definite ``G`` and ``c > 0``.

    :math:`I + cG` has every eigenvalue at least 1, so its Cholesky factor :math:`L` exists
    and :math:`\log\det = 2\sum_i \ln L_{ii}` (about :math:`D^3/3` flops, several times
    cheaper than the eigenvalues). If round-off has made ``G`` indefinite enough for the
    factorisation to fail, the eigenvalues are used instead, with negative ones clipped to 0.

    Parameters
    ----------
    G : ndarray of shape (D, D)
        Symmetric positive semi-definite (a Gram or scatter matrix); only its lower triangle
        is read. Not modified.
    c : float
        Positive scale.

    Returns
    -------
    float
    """
    D = G.shape[0]
    if D == 0:
        return 0.0
    M = G * c
    M.flat[:: D + 1] += 1.0
    try:
        L = np.linalg.cholesky(M)  # reads the lower triangle
    except np.linalg.LinAlgError:
        e = np.linalg.eigvalsh(G)
        return float(np.sum(np.log1p(np.clip(e, 0.0, None) * c)))
    return 2.0 * float(np.sum(np.log(np.diagonal(L))))
