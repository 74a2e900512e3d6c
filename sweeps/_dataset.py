"""Chunk files -> one labelled ``xarray.Dataset`` (the results schema), and back.

Dims: the sweep axes in spec order, then ``seed``, ``hidden``, ``feature`` and ``phase``.
Per-model arrays are filled chunk by chunk into preallocated arrays, so consolidation
holds the results once plus one chunk.  When ``n_features`` or ``n_hidden`` is an axis,
``feature``/``hidden`` run to the largest size and smaller models are NaN-padded; the
extra feature is always each model's own last one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from toymodels.errors import ConfigError
from toymodels.phases import PHASE_RULES

from ._plan import plan_chunks
from .spec import SweepSpec
from .storage import atomic_write, package_version

INTERFERENCE_DEFINITION = (
    "sum over j != i of (unit(W_i) . W_j)^2, j = i excluded (an antipodal pair gives 1)"
)
SELECTION_LOSS = "loss_exact where finite, else loss (fresh-sample final loss)"
SEED_RULE = "numpy.random.SeedSequence(root_seed, spawn_key=(cell_index, seed))"

# netCDF4 (HDF5) through h5netcdf: int64, unsigned and variable-length strings round-trip.
ENGINE = "h5netcdf"


def consolidate(spec: SweepSpec, read) -> object:
    """The results dataset of ``spec``; ``read(chunk)`` returns a verified chunk's arrays."""
    import xarray as xr

    K, C = spec.seeds, spec.n_cells
    n_max = max(_values(spec, "n_features"))
    m_max = max(_values(spec, "n_hidden"))
    W = np.full((C * K, m_max, n_max), np.nan, np.float32)
    b = np.full((C * K, n_max), np.nan, np.float32)
    loss = np.full(C * K, np.nan)
    loss_exact = np.full(C * K, np.nan)
    metrics = {k: np.full((C * K, n_max), np.nan, np.float32) for k in _METRICS}
    for chunk in plan_chunks(spec):
        arrays = read(chunk)
        idx = chunk.models
        _, m, n = arrays["W"].shape
        W[idx, :m, :n] = arrays["W"]
        b[idx, :n] = arrays["b"]
        loss[idx] = arrays["loss"]
        loss_exact[idx] = arrays["loss_exact"]
        for k in _METRICS:
            metrics[k][idx, :n] = arrays[k]
        del arrays

    cells = [spec.cell_point(c) for c in range(C)] if spec.axes else [spec.point(())]
    extra = np.array([p["n_features"] - 1 for p in cells])[:, None, None]
    norm_x = np.take_along_axis(metrics["norm"].reshape(C, K, n_max), extra, -1)[..., 0]
    inter_x = np.take_along_axis(metrics["interference"].reshape(C, K, n_max), extra, -1)[..., 0]
    selection = np.where(np.isfinite(loss_exact), loss_exact, loss).reshape(C, K)

    families = np.array([p["family"] for p in cells])
    labels = _labels(spec)
    phase_model = np.empty((C, K), dtype=f"<U{max(map(len, labels))}")
    phase_paper = np.empty(C, dtype=phase_model.dtype)
    phase_best = np.empty(C, dtype=phase_model.dtype)
    fraction = np.zeros((C, len(labels)))
    for family in np.unique(families):
        rule = PHASE_RULES[str(family)]
        rows = families == family
        names = np.asarray(rule.LABELS)
        agg = rule.aggregate(selection[rows], norm_x[rows], inter_x[rows])
        phase_paper[rows] = names[agg["paper"]]
        phase_best[rows] = names[agg["best"]]
        fraction[rows] = agg["fraction"]
        phase_model[rows] = names[rule.classify(norm_x[rows], inter_x[rows])]

    axes = [a.name for a in spec.axes]
    shape = spec.shape
    per_model = (*axes, "seed")
    data_vars = {
        "W": ((*per_model, "hidden", "feature"), W.reshape(*shape, K, m_max, n_max)),
        "b": ((*per_model, "feature"), b.reshape(*shape, K, n_max)),
        "loss": (per_model, loss.reshape(*shape, K)),
        "loss_exact": (per_model, loss_exact.reshape(*shape, K)),
        **{k: ((*per_model, "feature"), v.reshape(*shape, K, n_max)) for k, v in metrics.items()},
        "phase_model": (per_model, phase_model.reshape(*shape, K)),
        "phase_paper": (tuple(axes), phase_paper.reshape(shape)),
        "phase_best": (tuple(axes), phase_best.reshape(shape)),
        "phase_fraction": ((*axes, "phase"), fraction.reshape(*shape, len(labels))),
        "cell_index": (tuple(axes), np.arange(C, dtype=np.int64).reshape(shape)),
    }
    coords = {a.name: np.asarray(a.values) for a in spec.axes}
    coords |= {
        "seed": np.arange(K, dtype=np.int64),
        "hidden": np.arange(m_max, dtype=np.int64),
        "feature": np.arange(n_max, dtype=np.int64),
        "phase": np.asarray(labels),
    }
    attrs = {
        "spec": json.dumps(spec.to_dict()),  # ASCII (escaped), as netCDF3 text needs
        "root_seed": spec.root_seed,
        "toymodels_version": package_version(),
        "thresholds": json.dumps(_thresholds(spec)),
        "interference_definition": INTERFERENCE_DEFINITION,
        "selection_loss": SELECTION_LOSS,
        "seed_rule": SEED_RULE,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


_METRICS = ("norm", "interference", "dimensionality")


def _values(spec: SweepSpec, name: str) -> tuple:
    axis = spec.axis(name)
    return axis.values if axis else (getattr(spec, name),)


def _rules(spec: SweepSpec) -> dict:
    return {f: PHASE_RULES[f] for f in _values(spec, "family")}


def _labels(spec: SweepSpec) -> tuple[str, ...]:
    labels = {tuple(rule.LABELS) for rule in _rules(spec).values()}
    if len(labels) != 1:
        raise ConfigError(
            "the families of this sweep classify into different phases; sweep them separately"
        )
    return labels.pop()


def _thresholds(spec: SweepSpec) -> dict:
    rules = _rules(spec)
    if len({id(r) for r in rules.values()}) == 1:
        return dict(next(iter(rules.values())).THRESHOLDS)
    return {f: dict(r.THRESHOLDS) for f, r in rules.items()}


def write_results(ds, path: Path) -> None:
    atomic_write(Path(path), lambda tmp: ds.to_netcdf(tmp, engine=ENGINE))


def read_results(path: Path):
    """Load ``results.nc`` into memory (file closed), with the schema's dtypes."""
    import xarray as xr

    ds = xr.load_dataset(path, engine=ENGINE)
    for name in list(ds.variables):
        if ds[name].dtype.kind == "O":  # variable-length strings come back as objects
            ds[name] = ds[name].astype(str)
    ds.attrs["root_seed"] = int(ds.attrs["root_seed"])
    return ds
