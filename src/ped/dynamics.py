r"""PED: the potential-energy dynamics of class clusters (Li et al., ICCV 2023).

Fine-tuning is seen as lowering a potential energy between overlapping classes. Every class is
a ball in the (rescaled) feature space, centred at its mean :math:`m_c` with radius
:math:`\rho_c = \sqrt{\operatorname{tr}\Sigma_c}`. Two balls overlap by

.. math::
    F_{ab} = \max\big(|n_\sigma|\rho_a + |n_\sigma|\rho_b - \|m_a - m_b\|, 0\big),

and the energy :math:`E = \sum_{a<b} \tfrac12 k F_{ab}^2` pushes them apart. Each step starts
from rest and moves class :math:`a` by

.. math::
    \Delta_a = \sum_{b \ne a} s_{ab} u_{ab}, \quad
    s_{ab} = \min(\tfrac12 \tau^2 k F_{ab}, F_{ab}), \quad
    u_{ab} = \frac{m_a - m_b}{\|m_a - m_b\|},

which, while the clip is inactive, is one gradient step on :math:`E` with learning rate
:math:`\tfrac12\tau^2`. Classes move rigidly, so only class statistics change: this module never
touches the samples. With :math:`W_{ab} = s_{ab}/d_{ab}`, the displacements are
:math:`\Delta = \operatorname{diag}(W\mathbf 1) M - W M`: O(C^2 + C D) per step and no
C x C x D array (the official code builds one: 7.3 GB at C = 397, D = 2048).

References
----------
.. [1] X. Li, Z. Hu, Y. Ge, Y. Shan, L.-Y. Duan. Exploring Model Transferability through the
   Lens of Potential Energy. ICCV 2023. arXiv:2308.15074.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._stats import ClassStats, feature_scale
from ._validation import (
    check_features,
    check_features_labels,
    check_finite,
    check_fraction,
    check_int,
    check_positive,
)

__all__ = [
    "ReferenceStats",
    "Simulation",
    "simulate",
    "simulate_stats",
    "check_reference",
    "check_dynamics_params",
    "DYNAMICS_DEFAULTS",
    "MAX_STEPS_LIMIT",
]

#: The parameters of the dynamics and their defaults (`simulate`, every ``ped+<base>`` score).
DYNAMICS_DEFAULTS: dict[str, float | int] = {
    "nsigma": 0.6,
    "time_step": 0.1,
    "exit_ratio": 0.5,
    "max_steps": 6,
    "constant": 1.0,
    "eps": 1e-3,
}

#: Upper bound of ``max_steps`` (the official code takes at most 6 steps), so that no
#: setting can run without end.
MAX_STEPS_LIMIT = 10_000


def check_dynamics_params(
    *,
    nsigma: Any = 0.6,
    time_step: Any = 0.1,
    exit_ratio: Any = 0.5,
    max_steps: Any = 6,
    constant: Any = 1.0,
    eps: Any = 1e-3,
) -> dict[str, float | int]:
    """Validate the parameters of the dynamics; the one check `simulate` and every
    ``ped+<base>`` score go through.

    Returns
    -------
    dict
        ``nsigma`` (finite, any sign: the dynamics use its absolute value), ``time_step``
        (finite, > 0), ``exit_ratio`` (in [0, 1]), ``max_steps`` (an integer in
        [0, `MAX_STEPS_LIMIT`]), ``constant`` (finite, >= 0) and ``eps`` (finite, > 0), as
        Python numbers.

    Raises
    ------
    ValueError
        A value out of its range (NaN, infinity, ``max_steps=2.5``, ``eps<0``, ...).
    TypeError
        A value that is not a number.
    """
    return {
        "nsigma": check_finite(nsigma, "nsigma"),
        "time_step": check_positive(time_step, "time_step"),
        "exit_ratio": check_fraction(exit_ratio, "exit_ratio"),
        "max_steps": check_int(max_steps, "max_steps", minimum=0, maximum=MAX_STEPS_LIMIT),
        "constant": check_positive(constant, "constant", allow_zero=True),
        "eps": check_positive(eps, "eps"),
    }


@dataclass(frozen=True)
class ReferenceStats:
    """Per-dimension statistics of a reference domain, used to rescale features for PED.

    PED standardises every model's features with that model's feature mean and standard
    deviation on ImageNet val (paper, App. B), so that one ``nsigma`` fits every model.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
        Per-dimension mean of the reference features.
    std : ndarray of shape (n_features,)
        Per-dimension population standard deviation (ddof = 0).
    n_samples : int, optional
        How many reference samples the statistics came from.
    source : str, optional
        What the reference data was (``"imagenet-val"``, ``"target"``, ...).
    """

    mean: np.ndarray
    std: np.ndarray
    n_samples: int | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != std.shape:
            raise ValueError(
                f"Expected mean and std of the same length, got {mean.shape[0]} and {std.shape[0]}."
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError("Expected finite reference mean and std, got NaN or infinity.")
        if (std < 0).any():
            raise ValueError(f"Expected a non-negative reference std, got {std.min():.6g}.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    @classmethod
    def from_features(cls, features: Any, *, source: str | None = None) -> ReferenceStats:
        """Mean and population std of reference-domain features of shape (n, n_features)."""
        X = check_features(features, name="reference")
        # Divided by a power of two first (exact), so that 1e200 features do not overflow.
        scale = feature_scale(X)
        X64 = np.asarray(X, dtype=np.float64)
        if scale != 1.0:
            X64 = X64 / scale
        return cls(
            X64.mean(axis=0) * scale,
            X64.std(axis=0) * scale,
            n_samples=X.shape[0],
            source=source,
        )


def check_reference(reference: Any, n_features: int) -> ReferenceStats:
    """Accept reference-domain features or `ReferenceStats`, of the features' width."""
    if reference is None:
        raise ValueError(
            "Expected reference= (reference-domain features of the same model, or "
            "ped.ReferenceStats), got None. PED rescales with the reference statistics; pass "
            "the target features themselves to rescale with the target's own statistics."
        )
    if not isinstance(reference, ReferenceStats):
        reference = ReferenceStats.from_features(reference)
    if reference.n_features != n_features:
        raise ValueError(
            f"Expected reference statistics of width {n_features} (the features' width), "
            f"got width {reference.n_features}."
        )
    return reference


@dataclass
class Simulation:
    """The outcome of `simulate`.

    Attributes
    ----------
    stats : ClassStats
        Class statistics of the moved features (shares everything with the input statistics
        that a rigid class translation leaves unchanged).
    offsets : ndarray of shape (n_classes, n_features)
        Total translation of every class, in the original feature space.
    energy : ndarray of shape (n_steps_computed,)
        Potential energy :math:`E = \\sum_{a<b} \\tfrac12 k F_{ab}^2` (rescaled space) before
        each computed step, accepted or not.
    displacement : ndarray of shape (n_steps_computed,)
        The official per-step displacement :math:`P = \\sum_a \\|\\Delta_a\\|_1` (rescaled
        space) of each computed step.
    ratio : ndarray of shape (n_steps_computed,)
        ``displacement / displacement[0]``; a step is accepted while this exceeds
        ``exit_ratio``.
    n_steps : int
        Accepted steps.
    classes : ndarray
        The label value of each class row.
    """

    stats: ClassStats
    offsets: np.ndarray
    energy: np.ndarray
    displacement: np.ndarray
    ratio: np.ndarray
    n_steps: int
    classes: np.ndarray
    params: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> np.ndarray:
        """The moved features, a new float64 array of shape (n_samples, n_features)."""
        out = self.stats.features()
        if self.stats.scale != 1.0:
            out *= self.stats.scale
        return out

    @property
    def final_energy(self) -> float:
        """Energy after the last accepted step (recomputed from the final class statistics)."""
        return float(self.params.get("final_energy", np.nan))


def _pair_terms(
    Zm: np.ndarray, radius: np.ndarray, nsigma: float, time_step: float, constant: float
) -> tuple[np.ndarray, float]:
    """Weights ``W_ab = s_ab / d_ab`` (zero on the diagonal and for coinciding centroids) and
    the potential energy, from centroids ``Zm`` (C, D) and radii (C,) in the rescaled space.

    Distances come from the Gram matrix of the centroids (one C x C x D matrix product);
    pairs whose squared distance is small next to the centroids' norms, where that trick
    loses precision, are recomputed from the centroid differences.
    """
    sq = np.einsum("ij,ij->i", Zm, Zm)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (Zm @ Zm.T)
    scale = sq[:, None] + sq[None, :]
    bad = np.argwhere(np.triu(d2 <= 1e-6 * scale, k=1))
    for a, b in bad:
        diff = Zm[a] - Zm[b]
        d2[a, b] = d2[b, a] = float(diff @ diff)
    np.fill_diagonal(d2, 0.0)
    d = np.sqrt(np.clip(d2, 0.0, None))
    reach = abs(nsigma) * radius
    F = np.clip(reach[:, None] + reach[None, :] - d, 0.0, None)
    np.fill_diagonal(F, 0.0)
    energy = 0.25 * constant * float(np.sum(F * F))  # sum over a<b of k F^2 / 2
    step = np.minimum(0.5 * time_step**2 * constant * F, F)
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(d > 0, step / d, 0.0)
    np.fill_diagonal(W, 0.0)
    return W, energy


def simulate_stats(
    stats: ClassStats,
    reference: ReferenceStats,
    *,
    nsigma: float = 0.6,
    time_step: float = 0.1,
    exit_ratio: float = 0.5,
    max_steps: int = 6,
    constant: float = 1.0,
    eps: float = 1e-3,
) -> Simulation:
    """Run the PED dynamics on class statistics (see `simulate` for the parameters, checked
    here by `check_dynamics_params`)."""
    p = check_dynamics_params(
        nsigma=nsigma,
        time_step=time_step,
        exit_ratio=exit_ratio,
        max_steps=max_steps,
        constant=constant,
        eps=eps,
    )
    nsigma, time_step, exit_ratio = p["nsigma"], p["time_step"], p["exit_ratio"]
    max_steps, constant, eps = p["max_steps"], p["constant"], p["eps"]
    # In the units of the statistics (features / stats.scale, a power of two: exact).
    unit = stats.scale
    s_mean = reference.mean / unit
    s_std = np.maximum(reference.std / unit, eps / unit)
    # Radii are translation invariant: rho_c = sqrt(sum_d var_cd / s_std_d^2).
    radius = np.sqrt(np.sum(stats.class_vars / s_std**2, axis=1))
    C, D = stats.n_classes, stats.n_features
    base_means = stats.means
    total = np.zeros((C, D))  # accumulated offsets, rescaled space
    energies: list[float] = []
    disps: list[float] = []
    ratios: list[float] = []
    n_steps = 0
    p0 = None
    final_energy = np.nan
    while n_steps < max_steps:
        Zm = (base_means - s_mean) / s_std + total
        W, energy = _pair_terms(Zm, radius, nsigma, time_step, constant)
        delta = W.sum(axis=1)[:, None] * Zm - W @ Zm
        P = float(np.abs(delta).sum())
        energies.append(energy)
        disps.append(P)
        if p0 is None:
            p0 = P
        ratio = P / p0 if p0 > 0 else 0.0  # official: 0/0 = NaN, which also rejects
        ratios.append(ratio)
        if ratio > exit_ratio:
            total = total + delta
            n_steps += 1
        else:
            break
    Zm = (base_means - s_mean) / s_std + total
    final_energy = _pair_terms(Zm, radius, nsigma, time_step, constant)[1]
    offsets = total * s_std
    moved = stats.translated(offsets) if n_steps else stats
    return Simulation(
        stats=moved,
        offsets=offsets * unit,
        energy=np.asarray(energies),
        displacement=np.asarray(disps),
        ratio=np.asarray(ratios),
        n_steps=n_steps,
        classes=stats.labels.classes,
        params={
            "nsigma": nsigma,
            "time_step": time_step,
            "exit_ratio": exit_ratio,
            "max_steps": max_steps,
            "constant": constant,
            "eps": eps,
            "final_energy": final_energy,
        },
    )


def simulate(
    features: Any,
    labels: Any,
    *,
    reference: Any,
    nsigma: float = 0.6,
    time_step: float = 0.1,
    exit_ratio: float = 0.5,
    max_steps: int = 6,
    constant: float = 1.0,
    eps: float = 1e-3,
    device: Any = None,
) -> Simulation:
    r"""Move class clusters apart by descending PED's potential energy.

    The features are standardised with the reference statistics,
    :math:`Z = (X - \mu_{ref}) / \max(\sigma_{ref}, \epsilon)`; up to ``max_steps`` steps
    then translate every class by :math:`\Delta_a` (see the module docstring). A step is
    accepted while its displacement :math:`P = \sum_a \|\Delta_a\|_1`, relative to the first
    step's, exceeds ``exit_ratio``; the first rejected step ends the dynamics. The moved
    features are :math:`X' = X + \Delta_y \odot \max(\sigma_{ref}, \epsilon)`.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Target features of one model.
    labels : array-like of shape (n_samples,)
        Class labels of any hashable type.
    reference : array-like of shape (n_ref, n_features) or ReferenceStats
        Reference-domain features of the same model (PED uses ImageNet val), or their
        per-dimension mean and std.
    nsigma : float, default=0.6
        Radius multiplier :math:`n_\sigma`, finite (its absolute value is used; 0.6 is the
        official command-line default, the official function default is 2.0, and 0.3 is the
        other value the authors name).
    time_step : float, default=0.1
        :math:`\tau > 0`; one step moves a pair by :math:`\tfrac12\tau^2 k F_{ab}`.
    exit_ratio : float in [0, 1], default=0.5
        Stop when a step's displacement falls to this fraction of the first step's.
    max_steps : int in [0, 10000], default=6
        Hard cap on accepted steps (6 in the official code).
    constant : float >= 0, default=1.0
        Force constant :math:`k`.
    eps : float > 0, default=1e-3
        Floor of the reference std.
    device : None, str or torch.device, optional
        Run the pass over the samples (class means and variances) in torch on this device
        (``"cpu"``, ``"cuda"``); None uses numpy.

    Returns
    -------
    Simulation
        ``.features`` (moved, float64), ``.energy``, ``.displacement``, ``.ratio`` per
        computed step, ``.n_steps`` accepted, ``.offsets`` per class, ``.stats``.

    Notes
    -----
    Deviations from the official code (reference-behaviour.md §1, B10): when no classes
    overlap at the first step the official ratio is 0/0 (NaN, a RuntimeWarning) and no step is
    taken; here the same outcome is reached without the warning. Coinciding centroids give the
    official code NaN directions that spread into every feature; here such a pair exerts no
    force (its direction is undefined). Reference statistics are kept in float64 (the official
    code keeps float32 ones for float32 features). The input is never modified.

    Examples
    --------
    >>> import numpy as np, ped
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (50, 4)), rng.normal(1, 1, (50, 4))]
    >>> y = np.r_[np.zeros(50), np.ones(50)]
    >>> sim = ped.simulate(X, y, reference=X)
    >>> sim.n_steps, bool(sim.energy[-1] < sim.energy[0])
    (6, True)
    """
    p = check_dynamics_params(
        nsigma=nsigma,
        time_step=time_step,
        exit_ratio=exit_ratio,
        max_steps=max_steps,
        constant=constant,
        eps=eps,
    )
    X, lab = check_features_labels(features, labels)
    ref = check_reference(reference, X.shape[1])
    # Only class means and variances are needed: one light pass, no Gram matrix (fuse=False).
    stats = ClassStats(X, lab, device=device, fuse=False, scale=feature_scale(X))
    return simulate_stats(stats, ref, **p)
