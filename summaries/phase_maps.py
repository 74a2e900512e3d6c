"""Plain data behind a phase-diagram panel, and its extraction from a sweep's results.

Panels are drawn from three kinds of data on a density × importance grid, so the plotting
code never cares how they were produced (trained, derived, or made up in a test):

- :class:`FeatureMap`: the extra feature's norm and interference per cell (trained models);
- :class:`PhaseMap`: a category per cell (the winning candidate, or a phase label);
- :class:`SeedPhaseMap`: every seed's phase per cell (how the seeds of a cell split);
- :class:`Boundary`: a curve ``density(importance)`` between two categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from toymodels.errors import ConfigError
from toymodels.phases import extra_feature

from .seed_selection import selection_loss

GRID_AXES = ("density", "importance")


@dataclass(frozen=True)
class FeatureMap:
    """The extra feature's ``norm`` and ``interference``, both ``[density, importance]``."""

    density: np.ndarray  # [D]
    importance: np.ndarray  # [R]
    norm: np.ndarray  # [D, R]
    interference: np.ndarray  # [D, R]
    title: str = ""


@dataclass(frozen=True)
class PhaseMap:
    """A category per cell: ``codes[d, r]`` indexes ``names``; ``phases[c]`` is the phase of
    the extra feature in category ``c`` (it picks the colour); ``-1`` marks a missing cell."""

    density: np.ndarray  # [D]
    importance: np.ndarray  # [R]
    codes: np.ndarray  # [D, R] int
    names: tuple[str, ...]
    phases: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True)
class SeedPhaseMap:
    """Every seed's phase per cell: ``codes[d, r, k]`` indexes ``names``, sorted along the
    seed axis so a cell reads as the share of its seeds in each phase."""

    density: np.ndarray  # [D]
    importance: np.ndarray  # [R]
    codes: np.ndarray  # [D, R, seed] int, ascending along seed
    names: tuple[str, ...]
    title: str = ""

    @property
    def fraction(self) -> np.ndarray:
        """``[D, R, len(names)]``: the share of each cell's seeds in each phase."""
        k = self.codes.shape[-1]
        return np.stack([(self.codes == c).sum(-1) / k for c in range(len(self.names))], -1)


@dataclass(frozen=True)
class Boundary:
    """A phase boundary: points ``(importance[k], density[k])`` between two categories."""

    between: tuple[str, str]
    density: np.ndarray  # [k]
    importance: np.ndarray  # [k]


def phase_map(
    density: Sequence[float],
    importance: Sequence[float],
    labels: np.ndarray,
    title: str = "",
    names: Sequence[str] | None = None,
    phases: Sequence[str] | None = None,
) -> PhaseMap:
    """A :class:`PhaseMap` from a ``[density, importance]`` array of category names
    (e.g. ``theory_map(...).phase`` or an optimum's phase labels).  ``names`` fixes the
    order of the categories (default: the phase rule's ``LABELS``); ``phases`` their
    phases (default: the names themselves)."""
    labels = np.asarray(labels).astype(str)
    names = tuple(names if names is not None else extra_feature.LABELS)
    unknown = sorted(set(np.unique(labels)) - set(names) - {"", "nan"})
    if unknown:
        raise ConfigError(f"labels {unknown} are not among the categories {list(names)}")
    lookup = {name: c for c, name in enumerate(names)}
    codes = np.vectorize(lambda s: lookup.get(s, -1), otypes=[int])(labels)
    return PhaseMap(
        np.asarray(density, float),
        np.asarray(importance, float),
        codes,
        names,
        tuple(phases if phases is not None else names),
        title,
    )


def as_boundaries(curves: Iterable) -> list[Boundary]:
    """Boundaries from anything with ``between``, ``density`` and ``importance`` (attributes
    or mapping keys), e.g. the curves of ``analytics.boundary_curves``."""

    def get(curve, key):
        return curve[key] if isinstance(curve, dict) else getattr(curve, key)

    out = []
    for curve in curves:
        if isinstance(curve, Boundary):
            out.append(curve)
            continue
        density = np.asarray(get(curve, "density"), float)
        importance = np.asarray(get(curve, "importance"), float)
        if density.shape != importance.shape:
            raise ValueError(f"boundary density {density.shape} and importance {importance.shape}")
        out.append(Boundary(tuple(get(curve, "between")), density, importance))
    return out


def grid_results(ds):
    """``ds`` reduced to the density × importance grid: other sweep axes must have one value
    (they are dropped); dims ordered ``density, importance, seed, ...``."""
    missing = [a for a in GRID_AXES if a not in ds.dims]
    if missing:
        raise ConfigError(f"results need sweep axes density and importance; missing {missing}")
    extra = [d for d in ds.dims if d not in (*GRID_AXES, "seed", "hidden", "feature", "phase")]
    for d in extra:
        if ds.sizes[d] != 1:
            raise ConfigError(
                f"results have a sweep axis {d!r} with {ds.sizes[d]} values; "
                "select one value before drawing a phase diagram"
            )
    ds = ds.isel({d: 0 for d in extra}).sortby(list(GRID_AXES))
    return ds.transpose(*GRID_AXES, "seed", ...)


RULES = ("paper", "seeds", "best")


def panel_rules(features: int) -> tuple[str, ...]:
    """The trained panels of a phase diagram of ``features`` features: the paper rule and
    best-of-N, and for n >= 3, where a third of the seeds miss the optimum's phase, each
    seed's own phase between them, so the paper rule's speckle can be read."""
    return ("paper", "best") if features <= 2 else ("paper", "seeds", "best")


def empirical_maps(ds, rules: Sequence[str] = ("paper", "best")) -> list[FeatureMap | SeedPhaseMap]:
    """The extra (last) feature per cell of a sweep's results, one map per aggregation rule.

    - ``paper``: drop each cell's highest-loss model and average the rest's norm and
      interference (the paper's rule; ``extra_feature.aggregate_extra_feature``);
    - ``seeds``: every seed's own phase (:func:`seed_phase_map`), which shows where the
      seeds of a cell disagree and so where the paper rule's average mixes phases;
    - ``best``: the lowest-loss model's norm and interference (best-of-N).
    """
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ConfigError(f'unknown aggregation rule "{unknown[0]}"; allowed: {", ".join(RULES)}')
    ds = grid_results(ds)
    k = ds.sizes["seed"]
    sel = selection_loss(ds)  # [D, R, seed]
    norm = ds["norm"].isel(feature=-1).values.astype(float)
    interference = ds["interference"].isel(feature=-1).values.astype(float)
    density, importance = ds["density"].values, ds["importance"].values
    maps = []
    for rule in rules:
        if rule == "paper":
            agg = extra_feature.aggregate_extra_feature(sel, norm, interference)
            kept = f"mean of best {k - 1} of {k}" if k > 1 else "1 seed"
            maps.append(
                FeatureMap(
                    density,
                    importance,
                    agg["paper_norm"],
                    agg["paper_interference"],
                    f"trained: paper rule\n({kept})",
                )
            )
        elif rule == "seeds":
            maps.append(seed_phase_map(ds))
        elif rule == "best":
            best = np.argmin(sel, axis=-1)[..., None]
            norm_b = np.take_along_axis(norm, best, -1)[..., 0]
            interference_b = np.take_along_axis(interference, best, -1)[..., 0]
            maps.append(
                FeatureMap(
                    density,
                    importance,
                    norm_b,
                    interference_b,
                    f"trained: best of {k}\n(lowest loss)",
                )
            )
    return maps


def seed_phase_map(ds) -> SeedPhaseMap:
    """Every seed's phase (``phase_model``, the phase rule applied to each model alone) per
    cell of a density × importance sweep, sorted within each cell."""
    ds = grid_results(ds)
    if "phase_model" not in ds:
        raise ConfigError("results have no per-model phases (phase_model); no phase rule ran")
    names = tuple(str(v) for v in ds["phase"].values)
    lookup = {name: c for c, name in enumerate(names)}
    labels = ds["phase_model"].transpose("density", "importance", "seed").values.astype(str)
    codes = np.vectorize(lambda s: lookup.get(s, -1), otypes=[int])(labels)
    k = ds.sizes["seed"]
    title = f"trained: per seed\n({k} columns a cell)"
    return SeedPhaseMap(
        ds["density"].values, ds["importance"].values, np.sort(codes, -1), names, title
    )
