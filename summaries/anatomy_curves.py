"""The loss's anatomy against density as plain data for the figures: the candidate
solutions' feature benefit, interference and loss by number of active features (from
``analytics.loss_anatomy``), and the same two totals of trained models (the
``feature_benefit`` and ``interference_loss`` metrics of a run)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Densities per candidate curve (log-spaced): smooth curves of closed forms.
CURVE_POINTS = 200


@dataclass(frozen=True)
class CandidateAnatomy:
    """The candidates of ``n_features`` at relative importance ``importance``, each
    ``[candidate, density]``; ``weighted[c, k]`` is ``p^k (1 - p)^(n - k) L_k``."""

    n_features: int
    importance: float
    density: np.ndarray  # [D]
    names: tuple[str, ...]
    phases: tuple[str, ...]
    benefit: np.ndarray  # [C, D]
    interference: np.ndarray  # [C, D]
    weighted: np.ndarray  # [C, n + 1, D]


@dataclass(frozen=True)
class TrainedAnatomy:
    """Trained models' two totals ``[density, seed]`` and each density's lowest-loss seed."""

    importance: float
    density: np.ndarray  # [D]
    benefit: np.ndarray  # [D, S]
    interference: np.ndarray  # [D, S]
    best: np.ndarray  # [D] index of the seed with the lowest loss


def candidate_anatomy(
    n_features: int = 2,
    importance: float = 1.0,
    density_range: tuple[float, float] = (0.01, 1.0),
    points: int = CURVE_POINTS,
) -> CandidateAnatomy:
    """Every candidate's feature benefit, interference (1-sparse, ``x_i = 1``) and
    weighted loss terms on ``points`` log-spaced densities."""
    from analytics.loss_anatomy import candidate_anatomy_values

    density = np.geomspace(*density_range, points)
    found = candidate_anatomy_values(n_features, importance, density)
    return CandidateAnatomy(
        n_features,
        importance,
        density,
        found.names,
        found.phases,
        found.benefit,
        found.interference,
        found.weighted,
    )


def trained_anatomy(results, importance: float = 1.0) -> TrainedAnatomy:
    """The two totals of a run's models over its density axis; a run with an importance
    axis is read at the value nearest ``importance``."""
    ds = results
    if "importance" in ds.dims:
        ds = ds.sel(importance=importance, method="nearest")
        importance = float(ds["importance"])
    missing = {"feature_benefit", "interference_loss"} - set(ds.data_vars)
    if missing:
        from toymodels.errors import ConfigError

        raise ConfigError(
            f"the run has no {', '.join(sorted(missing))}: it was trained before the "
            "superposition families stored the loss's anatomy; train it again"
        )
    ds = ds.transpose("density", "seed", ...)
    # the exact loss where the run has it, else the loss on fresh samples
    loss = ds["loss_exact"].values if "loss_exact" in ds else ds["loss"].values
    if np.isnan(loss).all():
        loss = ds["loss"].values
    loss = np.where(np.isfinite(loss), loss, np.inf)
    return TrainedAnatomy(
        importance,
        ds["density"].values.astype(float),
        ds["feature_benefit"].values.astype(float),
        ds["interference_loss"].values.astype(float),
        loss.argmin(axis=1),
    )
