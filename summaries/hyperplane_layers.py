"""The seeds' picture of a competing layer, as data: the points of a 2-D task and every
unit's line ``w·x + b = 0``, per trained layer (:func:`hyperplane_layers`).

One layer per activation (and volume control) of a run, its lowest-loss seed.  Each unit
carries its usage ``p̄_k`` (for colour), whether it is alive, and its group of alike units
(the metrics' rule, ``toymodels.unit_metrics``: a group of two or more is a set of
duplicates).  Where the activation ignores a shift common to the units' rows (softmax,
log-softmax; grouped softmax per block), the lines are those of the centred rows, where a
unit's logit equals the mean of its layer's (block's): the common part moves every line
and computes nothing.  Weight-normalised layers use ``w = g v/‖v‖``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .run_settings import run_setting, spec_of
from .seed_selection import best_seed

if TYPE_CHECKING:
    import xarray as xr

# Points drawn per class for the picture (a fixed stream: the figure is reproducible).
POINTS_PER_CLASS = 120
POINTS_SEED = 0


@dataclass(frozen=True)
class HyperplaneLayer:
    """One trained layer in the plane: ``W [unit, 2]``, ``b [unit]`` (centred where the
    activation ignores a common shift), ``usage [unit]``, ``alive [unit]``, ``group
    [unit]`` (alike alive units share a group; -1 for dead units), the data ``x [point, 2]``
    with ``label [point]``, and what was trained."""

    activation: str
    volume: str
    strength: float
    temperature: float
    W: np.ndarray
    b: np.ndarray
    usage: np.ndarray
    alive: np.ndarray
    group: np.ndarray
    x: np.ndarray
    label: np.ndarray
    phase: str
    centred: bool

    @property
    def duplicated(self) -> np.ndarray:
        """``[unit]``: alive units with at least one alike partner."""
        groups, counts = np.unique(self.group[self.group >= 0], return_counts=True)
        many = set(groups[counts > 1].tolist())
        return np.array([g in many for g in self.group])

    @property
    def n_distinct(self) -> int:
        return len(set(self.group[self.group >= 0].tolist()))


def _groups(same: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Connected groups of alive units linked by ``same [unit, unit]``; -1 for dead."""
    k = same.shape[0]
    group = np.full(k, -1)
    next_id = 0
    for start in range(k):
        if not alive[start] or group[start] >= 0:
            continue
        stack = [start]
        group[start] = next_id
        while stack:
            i = stack.pop()
            for j in np.flatnonzero(same[i] & alive):
                if group[j] < 0:
                    group[j] = next_id
                    stack.append(j)
        next_id += 1
    return group


def _points(config) -> tuple[np.ndarray, np.ndarray]:
    centres = np.asarray(config.center_matrix(), float)[:, :2]
    rng = np.random.default_rng(POINTS_SEED)
    label = np.repeat(np.arange(len(centres)), POINTS_PER_CLASS)
    x = centres[label] + config.spread * rng.standard_normal((label.size, 2))
    return x, label


def hyperplane_layers(ds: xr.Dataset) -> list[HyperplaneLayer]:
    """The lowest-loss layer of each activation of a run on a 2-D task (a run over the
    ``activation`` axis, or of one activation), in the run's order."""
    import torch

    from toymodels.activations import ACTIVATIONS
    from toymodels.phases.layer_competition import SAME_DIRECTION
    from toymodels.unit_metrics import alive as alive_units
    from toymodels.unit_metrics import centred_rows, signed_cos

    if "activation" not in ds.dims:
        ds = ds.expand_dims(activation=[str(run_setting(ds, "activation"))])
    extra = [d for d in ds["loss"].dims if d not in ("activation", "seed")]
    if any(ds.sizes[d] > 1 for d in extra):
        raise ValueError(f"one layer per activation: the axes {extra} must have one value")
    ds = ds.isel({d: 0 for d in extra}).transpose("activation", "seed", ...)
    spec = spec_of(ds)
    config = spec.model_config(spec.cell_point(0))
    if config.data.n_features != 2:
        raise ValueError(f"lines in the plane need a 2-D task; n_features={config.data.n_features}")
    x, label = _points(config.data)
    volume = str(run_setting(ds, "volume"))
    strength = float(run_setting(ds, "volume_strength"))
    temperature = float(run_setting(ds, "temperature"))
    best = best_seed(ds)
    layers = []
    for i, name in enumerate(ds["activation"].values):
        cell = ds.isel(activation=i, seed=int(best[i]))
        W = cell["W1"].values.astype(float)
        if volume == "weightnorm":
            W = cell["gain"].values[:, None] * W / np.linalg.norm(W, axis=1, keepdims=True)
        b = cell["b1"].values.astype(float)
        rows = torch.as_tensor(np.concatenate([W, b[:, None]], 1)[None])
        cls = ACTIVATIONS[str(name)]
        arch = spec.model_config(spec.cell_point(0)).arch
        block = cls([arch]).shift_block(W.shape[0]) if cls.shift_invariant else None
        if block is not None:
            rows = centred_rows(rows, block)
            same = (signed_cos(rows) > SAME_DIRECTION)[0].numpy()
        else:
            same = (signed_cos(rows).abs() > SAME_DIRECTION)[0].numpy()
        usage = cell["usage"].values.astype(float)
        alive = alive_units(torch.as_tensor(usage[None]))[0].numpy()
        rows = rows[0].numpy()
        layers.append(
            HyperplaneLayer(
                activation=str(name), volume=volume, strength=strength,
                temperature=temperature, W=rows[:, :2], b=rows[:, 2], usage=usage,
                alive=alive, group=_groups(same, alive), x=x, label=label,
                phase=str(cell["phase_model"].values), centred=block is not None,
            )
        )  # fmt: skip
    return layers
