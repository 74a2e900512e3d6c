"""Trained superposition models picked out of a sweep's results, as plain arrays: what the
model figures draw (WᵀW heat maps, the intro arrows, feature dimensionality)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .run_settings import spec_table
from .seed_selection import selection_loss

# Sweep axes the model figures know how to lay out (others must have a single value).
MODEL_AXES = ("family", "density")
FAMILY_NAMES = {"relu": "ReLU", "linear": "linear"}


@dataclass(frozen=True)
class TrainedModel:
    """One trained model: ``W [hidden, feature]``, ``b [feature]`` and its per-feature
    metrics (``norm``, ``interference``, ``dimensionality``, each ``[feature]``)."""

    family: str
    density: float
    W: np.ndarray
    b: np.ndarray
    norm: np.ndarray
    interference: np.ndarray
    dimensionality: np.ndarray
    importance: np.ndarray | None = None  # [feature], when known

    @property
    def label(self) -> str:
        return f"{FAMILY_NAMES.get(self.family, self.family)}, 1−S = {self.density:.3g}"


def _importance(spec: dict, n: int) -> np.ndarray:
    """Per-feature importances ``I_i = decay**i`` (the last times ``r``), as in
    ``ModelConfig.superposition``."""
    model = spec.get("model", {})
    weights = float(model.get("importance_decay", 1.0)) ** np.arange(n, dtype=float)
    weights[-1] *= float(model.get("importance", 1.0))
    return weights


def trained_models(ds, best: bool = True) -> list[TrainedModel]:
    """One model per cell of a ``family`` × ``density`` sweep (either axis may be absent),
    the lowest-loss replicate when ``best`` (else replicate 0); ordered family by family
    (as in the results), densities from dense to sparse."""
    axes = [a for a in MODEL_AXES if a in ds.dims]
    extra = [d for d in ds.dims if d not in (*axes, "seed", "hidden", "feature", "phase")]
    ds = ds.isel({d: 0 for d in extra})
    if "density" in axes:
        ds = ds.sortby("density", ascending=False)
    sel = selection_loss(ds)  # [*axes, seed]
    spec = spec_table(ds)
    out = []
    for idx in itertools.product(*(range(ds.sizes[a]) for a in axes)):
        cell = ds.isel(dict(zip(axes, idx, strict=True)))
        k = int(np.argmin(sel[idx])) if best else 0
        model = cell.isel(seed=k)
        family = (
            str(model["family"].values) if "family" in model.coords else spec.get("family", "relu")
        )
        density = (
            float(model["density"].values)
            if "density" in model.coords
            else float(spec.get("model", {}).get("density", "nan"))
        )
        out.append(
            TrainedModel(
                family=family,
                density=density,
                W=model["W"].transpose("hidden", "feature").values.astype(float),
                b=model["b"].values.astype(float),
                norm=model["norm"].values.astype(float),
                interference=model["interference"].values.astype(float),
                dimensionality=model["dimensionality"].values.astype(float),
                importance=_importance(spec, ds.sizes["feature"]),
            )
        )
    return out


@dataclass(frozen=True)
class DimensionalityData:
    """``density [P]``, per-feature ``dimensionality [P, F]`` and ``dims_per_feature [P]``
    (``m/‖W‖_F²``) of one model per density."""

    density: np.ndarray
    dimensionality: np.ndarray
    dims_per_feature: np.ndarray
    n_features: int
    n_hidden: int


def dimensionality_data(models: list[TrainedModel]) -> DimensionalityData:
    """From one trained model per density (any order)."""
    models = sorted(models, key=lambda m: -m.density)
    m, n = models[0].W.shape
    frob = np.array([float((mod.W**2).sum()) for mod in models])
    return DimensionalityData(
        density=np.array([mod.density for mod in models]),
        dimensionality=np.stack([mod.dimensionality for mod in models]),
        dims_per_feature=np.where(frob > 0, m / np.where(frob > 0, frob, 1.0), np.nan),
        n_features=n,
        n_hidden=m,
    )
