"""Trained models at high sparsity beside the minimum of the 1-sparse loss (the Thomson
geometry of superposition): how many features each keeps and how their angles agree.

For every number of features N of a sweep over ``n_features`` (uniform importance, one
density), the lowest-loss seed is set beside ``analytics.thomson.minimise(N, M, "free")``,
the minimum of ``Σ_i (1 − ‖W_i‖²)² + Σ_{i≠j} ReLU(W_j·W_i)²`` (b = 0).  They *agree* when
they keep the same number of features and every kept feature's nearest-neighbour angle,
sorted, is within :data:`ANGLE_TOLERANCE` of the minimum's.  Where the minimum is 0
(N ≤ 2M) it is not one configuration but every one whose features have no positive
overlap (all pairs at 90° or more); a trained model then agrees when it keeps as many
features and none of its angles is below 90° by more than the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analytics.thomson import KEPT_NORM, angle_spectrum, few_active_loss, minimise, nearest_angles
from toymodels.errors import ConfigError

from .json_values import listed
from .run_settings import spec_table

# Degrees within which a trained model's sorted nearest-neighbour angles must match the
# minimum's: a pentagon (72°) against a hexagon (60°) or a square (90°) differ by 12° or
# more, while training noise at density 0.01 moves an angle by 1-2°.
ANGLE_TOLERANCE = 5.0
# A minimum below this is 0: no interference at all (the minimiser's zeros are below 1e-13).
ZERO_LOSS = 1e-9
# Random starts and seed of the minimiser for every N (its default starts reached every
# minimum of these sizes from at least 3 of 64 starts).
STARTS = 128
SEED = 0


@dataclass(frozen=True)
class Geometry:
    """One configuration: ``W [dims, features]``, ``b [features]``, its loss, the features
    it keeps, their sorted nearest-neighbour angles and every angle between two of them
    (degrees)."""

    W: np.ndarray
    b: np.ndarray
    loss: float
    kept: int
    nearest: np.ndarray
    spectrum: np.ndarray

    @classmethod
    def of(cls, W: np.ndarray, b: np.ndarray, loss: float) -> Geometry:
        kept = np.linalg.norm(W, axis=0) > KEPT_NORM
        return cls(W, b, loss, int(kept.sum()), nearest_angles(W, kept), angle_spectrum(W, kept))


@dataclass(frozen=True)
class ThomsonRow:
    """One N: the minimum, the best trained seed, and every seed's kept count and loss."""

    features: int
    dims: int
    minimum: Geometry
    trained: Geometry
    seeds_kept: tuple[int, ...]
    seeds_loss: tuple[float, ...]

    @property
    def nearest_gap(self) -> float | None:
        """Largest difference (degrees) between the sorted nearest-neighbour angles, or None
        when the two keep different numbers of features."""
        return _gap(
            self.minimum.nearest, self.trained.nearest, self.minimum.kept, self.trained.kept
        )

    @property
    def spectrum_gap(self) -> float | None:
        """Largest difference (degrees) between the sorted angles of all pairs, or None when
        the two keep different numbers of features."""
        return _gap(
            self.minimum.spectrum, self.trained.spectrum, self.minimum.kept, self.trained.kept
        )

    @property
    def degenerate(self) -> bool:
        """Whether the minimum is 0, reached by a continuum of configurations."""
        return self.minimum.loss < ZERO_LOSS

    @property
    def agrees(self) -> bool:
        if self.minimum.kept != self.trained.kept:
            return False
        if self.degenerate:
            return bool(np.all(self.trained.nearest >= 90.0 - ANGLE_TOLERANCE))
        return self.nearest_gap <= ANGLE_TOLERANCE


def _gap(a: np.ndarray, b: np.ndarray, kept_a: int, kept_b: int) -> float | None:
    if kept_a != kept_b:
        return None
    return float(np.abs(a - b).max()) if len(a) else 0.0


def trained_geometries(ds) -> list[tuple[int, int, Geometry, tuple, tuple]]:
    """Per ``n_features`` of a sweep (an axis, or the spec's single value): N, M, the
    lowest-loss seed's geometry, every seed's kept count and every seed's loss.

    Seeds are ranked by the expected loss over inputs with at most two active features
    (``analytics.thomson.few_active_loss``), not by the stored fresh-sample loss: at
    density 0.01 that one's ~3% error exceeds the gaps between a pentagon and a hexagon.
    """
    spec = spec_table(ds)
    # "phase" holds the phase rule's per-phase fractions stored with every sweep
    extra = sorted(set(ds.dims) - {"n_features", "seed", "hidden", "feature", "phase"})
    if extra:
        raise ConfigError(
            f"the Thomson comparison reads a sweep over n_features alone; this one also has "
            f"the axes {', '.join(extra)}"
        )
    if "n_features" not in ds.dims:
        ds = ds.expand_dims(n_features=[int(spec["n_features"])])
    density = float(spec.get("model", {}).get("density", np.nan))
    if "density" in ds.coords:
        density = float(np.asarray(ds["density"].values).ravel()[0])
    dims = int(ds.sizes["hidden"])
    out = []
    for c, n in enumerate(ds["n_features"].values):
        n = int(n)
        cell = ds.isel(n_features=c)
        # Cells of fewer features are NaN-padded up to the largest N of the sweep.
        Ws = cell["W"].transpose("seed", "hidden", "feature").values[:, :, :n].astype(float)
        bs = cell["b"].transpose("seed", "feature").values[:, :n].astype(float)
        # a diverged seed (non-finite weights) ranks last
        losses = tuple(
            few_active_loss(W, b, density)[0]
            if np.isfinite(W).all() and np.isfinite(b).all()
            else np.inf
            for W, b in zip(Ws, bs, strict=True)
        )
        k = int(np.argmin(losses))
        kept = tuple(int((np.linalg.norm(W, axis=0) > KEPT_NORM).sum()) for W in Ws)
        out.append((n, dims, Geometry.of(Ws[k], bs[k], losses[k]), kept, losses))
    return out


def thomson_rows(results: Mapping) -> list[ThomsonRow]:
    """Every N of every sweep in ``results`` (``{name: Dataset}``), beside the minimum."""
    rows = []
    for ds in results.values():
        for n, m, trained, kept, losses in trained_geometries(ds):
            found = minimise(n, m, "free", starts=STARTS, seed=SEED)
            minimum = Geometry.of(found.W, found.b, found.energy)
            rows.append(ThomsonRow(n, m, minimum, trained, kept, losses))
    return rows


def summarise(rows: list[ThomsonRow]) -> dict:
    """The comparison as strict JSON: per N the kept counts, the angles and the gaps."""
    return {
        "angle_tolerance_degrees": ANGLE_TOLERANCE,
        "kept_norm": KEPT_NORM,
        "rows": [
            {
                "features": r.features,
                "dims": r.dims,
                "minimum_loss": r.minimum.loss,
                "minimum_kept": r.minimum.kept,
                "trained_kept": r.trained.kept,
                "seeds_kept": list(r.seeds_kept),
                "seeds_loss": listed(r.seeds_loss),
                "trained_loss": r.trained.loss,
                "minimum_nearest": listed(r.minimum.nearest),
                "trained_nearest": listed(r.trained.nearest),
                "trained_bias": listed(
                    r.trained.b[np.linalg.norm(r.trained.W, axis=0) > KEPT_NORM]
                ),
                "nearest_gap": r.nearest_gap,
                "spectrum_gap": r.spectrum_gap,
                "minimum_is_zero": r.degenerate,
                "agrees": r.agrees,
            }
            for r in rows
        ],
    }


__all__ = [
    "ANGLE_TOLERANCE",
    "ZERO_LOSS",
    "Geometry",
    "KEPT_NORM",
    "ThomsonRow",
    "summarise",
    "thomson_rows",
    "trained_geometries",
]
