"""The ReLN of a trained ReLU network on the contextual task (Jarvis et al. 2025, §4): the
gated deep linear network whose pathways are the ReLU network's own gating patterns.

From a ``contextual_relu`` run (``toymodels multitask train``):

- :func:`pathways`: per seed, the context patterns of its strong units at the end (the
  census's ``unit_contexts``), each with the units of that pattern (strong or not: every
  unit the ReLU network gave it) and the strong units' summed strength;
- :func:`gates_settle_epoch`: per seed, the first recorded epoch after which no strong
  unit's pattern changes; :func:`sample_gates_changed`: how many unit × sample gates
  ``G_k(x)`` still differ from the final ones at each recorded epoch;
- :func:`reln_configs` and :func:`train_reln`: the ReLN of every seed, trained as one
  batch with the run's learning rate, epochs, initial scale and recording, as the
  ``reln`` family: the ReLU network's layer with every unit's gate frozen to its
  pattern, so a step costs what the ReLU network's does.  The pattern on in every
  context is the common pathway (it sees the whole input, as the ReLU units do); every
  other pattern is a gated pathway (object inputs).  Seeds may find different patterns:
  the batch's pathways are the union of every seed's, and a seed gives 0 units to a
  pattern it does not have (``units``), so one batched program trains them all.  Every
  pathway trains on the full loss, as the ReLU network's units do.  Each pathway's units
  train in the basis of the span gradient descent reaches (``basis = "span"``: the same
  network and dynamics in about half the columns; the ReLU network's plain gradient
  descent is what that needs);
- :func:`loss_gap`: the largest relative difference of the two loss curves once the
  gates have settled (Proposition 4.2: with the ReLU network's gates the losses are equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .json_values import listed
from .run_settings import spec_of

if TYPE_CHECKING:
    import xarray as xr

# The ReLU network's loss down to which its context-level gating patterns carry its
# learning (measured on the default task: within 10% of the trained ReLN to here, epoch
# ~2,200 of 8,001; below it the ReLU network also gates within contexts, by object).
EARLY_LOSS = 20.0
# How the ReLN's layer is laid out (``toymodels.families.reln_network``): the span its
# units move in, so that a step costs half of the layer of units (the same numbers to
# float32 rounding: tests/test_reln.py).
BASIS = "span"
# The family a ReLN is read from.
RELU_FAMILY = "contextual_relu"
# Its own name, so that no folder holds a results.nc that is not a sweep's.
RELN_FILE = "reln.nc"


def contexts_of(bits: int, n_contexts: int) -> list[int]:
    """The contexts (from 1) in a pattern bitmask (bit c: context c + 1)."""
    return [c + 1 for c in range(n_contexts) if bits >> c & 1]


def check_relu_run(results: xr.Dataset, where: str = "the run") -> None:
    """Refuse (``ConfigError``) a run that is not a ``contextual_relu`` run with gates."""
    from toymodels.errors import ConfigError

    family = results.attrs.get("family")
    if family != RELU_FAMILY or "pathway_units" not in results:
        raise ConfigError(
            f"{where} is a {family} run; the ReLN's pathways come from a {RELU_FAMILY} run "
            "(toymodels multitask train --model contextual_relu)"
        )


def pathways(results: xr.Dataset) -> list[list[dict]]:
    """Per seed, ``[{"contexts": [...], "units": n, "strong_units": m, "strength": s}]``
    for every pattern held by a strong unit at the end, patterns in bitmask order."""
    check_relu_run(results)
    k = int(results.sizes["pattern"]).bit_length() - 1
    units = results["pathway_units"].transpose("seed", "pattern").values
    strong = results["pathway_strong_units"].transpose("seed", "pattern").values
    strength = results["pathway_strength"].transpose("seed", "pattern").values
    diverged = _diverged(results)
    return [
        [
            {
                "contexts": contexts_of(b, k),
                "units": int(units[i, b]),
                "strong_units": int(strong[i, b]),
                "strength": float(strength[i, b]),
            }
            for b in range(1, 2**k)
            if strong[i, b] > 0
        ]
        if not diverged[i]
        else []  # a diverged seed has no gates: no pathways, no ReLN
        for i in range(units.shape[0])
    ]


def _diverged(results: xr.Dataset) -> np.ndarray:
    """Per seed: its loss or a parameter is not finite (the run's ``diverged``)."""
    if "diverged" not in results:
        return np.zeros(results.sizes["seed"], bool)
    return results["diverged"].transpose("seed", ...).values.reshape(results.sizes["seed"])


def strong_units(strength: np.ndarray) -> np.ndarray:
    """Whether each unit is strong, ``[..., unit]``: the census's rule
    (``toymodels.families.context_census.strong_units``) on stored strengths."""
    from toymodels.families.context_census import STRONG_FRACTION

    top = strength.max(-1, keepdims=True)
    return (strength >= STRONG_FRACTION * top) & (strength > 0)


def gates_settle_epoch(results: xr.Dataset) -> list[int | None]:
    """Per seed, the first recorded epoch from which every final strong unit keeps its
    final context pattern to the end (None for a diverged seed)."""
    steps = results["step"].values
    pattern = results["unit_contexts_trajectory"].transpose("seed", "step", "unit").values
    strength = results["unit_strength"].transpose("seed", "unit").values
    diverged = _diverged(results)
    out = []
    for i in range(pattern.shape[0]):
        if diverged[i]:
            out.append(None)
            continue
        strong = strong_units(strength[i])
        differs = (pattern[i][:, strong] != pattern[i][-1, strong]).any(1)
        changed = np.flatnonzero(differs)
        out.append(int(steps[changed[-1] + 1]) if changed.size else int(steps[0]))
    return out


def sample_gates_changed(results: xr.Dataset) -> np.ndarray:
    """How many of a seed's unit × sample gates differ from its final ones, ``[seed, step]``."""
    gates = results["unit_gates_trajectory"].transpose("seed", "step", "unit", "sample").values
    changed = (gates != gates[:, -1:]).sum((2, 3)).astype(float)
    changed[_diverged(results)] = np.nan  # a diverged seed's gates are NaN: no count
    return changed


def reln_configs(results: xr.Dataset):
    """``(configs, train, seeds, masks)``: the ReLN of every seed of ``results`` (see the
    module docstring; the ``reln`` family, pathways in the order of ``masks``: the common
    one first) with the run's training settings and each model's own seed."""
    from toymodels import ModelConfig
    from toymodels.families.reln_network import pathway_columns
    from toymodels.seeds import model_seed

    found = pathways(results)
    spec = spec_of(results)
    point = spec.cell_point(0)
    relu = spec.model_config(point)
    k = relu.data.n_contexts
    every = list(range(1, k + 1))
    gated = sorted(
        {tuple(p["contexts"]) for seed in found for p in seed if p["contexts"] != every},
        key=lambda m: (-len(m), m),
    )
    masks = [tuple(every), *gated]
    units = []
    for seed in found:
        size = {tuple(p["contexts"]): p["units"] for p in seed}
        units.append(tuple(size.get(m, 0) for m in masks))
    common = {
        "n_contexts": k,
        "structure": relu.data.structure,
        "inputs": relu.data.inputs,
        "init_std": relu.arch.init_std,
        "masks": [list(m) for m in masks],
        "basis": BASIS,
    }
    own = [
        ModelConfig.build("reln", "contextual", **common, n_hidden=max(1, sum(u)), units=list(u))
        for u in units
    ]
    width = max(sum(pathway_columns(c)) for c in own)  # the layer every seed fits in
    configs = [c.replace(n_hidden=max(1, width)) for c in own]
    seeds = [model_seed(spec.root_seed, 0, r) for r in range(len(configs))]
    return configs, spec.train_config(point), seeds, configs[0].arch.masks


def train_reln(results: xr.Dataset, threads: int = 1) -> xr.Dataset:
    """The ReLN of every seed trained (:func:`reln_configs`): its loss trajectory
    ``[seed, step]``, final loss, pathway singular values, and the pathways as attributes.
    Its steps run on ``threads`` cores (the same numbers on any: ``thread_exact_step``)."""
    import json

    import xarray as xr

    import toymodels

    configs, train, seeds, masks = reln_configs(results)
    trained = toymodels.train(configs, train, seeds, step_threads=threads)
    steps = np.asarray(trained.record_steps, dtype=np.int64)
    singular = trained.trajectory["pathway_singular_values"]
    return xr.Dataset(
        {
            "loss_trajectory": (("seed", "step"), trained.trajectory["loss"]),
            "loss": (("seed",), trained.trajectory["loss"][:, -1]),
            "pathway_singular_values_trajectory": (
                ("seed", "step", "pathway", "singular"),
                singular,
            ),
        },
        coords={"seed": np.arange(len(configs)), "step": steps},
        attrs={
            "family": "reln",
            "description": "the ReLN of each seed of a contextual_relu run (summaries.reln)",
            "masks": json.dumps([list(m) for m in masks]),
            "units": json.dumps([list(c.arch.units) for c in configs]),
            "basis": configs[0].arch.basis,
            "n_hidden": configs[0].arch.n_hidden,
        },
    )


def stored_or_trained(results: xr.Dataset, folder: Path, threads: int = 1) -> xr.Dataset:
    """The ReLN in ``folder/reln.nc`` when it is this run's (the same masks, units per seed,
    basis and recorded steps), so a rerun of a finished command trains nothing again; else
    :func:`train_reln` (on ``threads`` cores), written there (:func:`save_reln`)."""
    import json

    import xarray as xr

    from sweeps._dataset import ENGINE

    configs, _, _, masks = reln_configs(results)
    try:
        stored = xr.load_dataset(Path(folder) / RELN_FILE, engine=ENGINE)
        same = (
            json.loads(stored.attrs["masks"]) == [list(m) for m in masks]
            and json.loads(stored.attrs["units"]) == [list(c.arch.units) for c in configs]
            and stored.attrs["basis"] == configs[0].arch.basis
            and np.array_equal(stored["step"].values, results["step"].values)
        )
    except (OSError, ValueError, KeyError):  # missing, unreadable or not ours
        same = False
    if same:
        return stored
    reln = train_reln(results, threads)
    save_reln(reln, folder)
    return reln


def save_reln(ds: xr.Dataset, folder: Path) -> Path:
    """Write a trained ReLN (:func:`train_reln`) to ``folder/reln.nc`` atomically."""
    from sweeps._dataset import ENGINE
    from toymodels.files import atomic_write

    return atomic_write(Path(folder) / RELN_FILE, lambda tmp: ds.to_netcdf(tmp, engine=ENGINE))


def loss_gap(
    relu: xr.Dataset, reln: xr.Dataset, settle: list[int] | None = None, above: float = 0.0
) -> list[float | None]:
    """Per seed, ``max |L_ReLN − L_ReLU| / L_ReLU`` over the recorded epochs from the seed's
    gates settle epoch on (``settle``), or where ``L_ReLU >= above``."""
    steps = relu["step"].values
    a = relu["loss_trajectory"].transpose("seed", "step").values
    b = reln["loss_trajectory"].transpose("seed", "step").values
    diverged = _diverged(relu)
    gap = []
    for i in range(a.shape[0]):
        if diverged[i]:  # no gap to a loss that is not finite
            gap.append(np.nan)
            continue
        kept = (steps >= (settle[i] if settle else steps[0])) & (a[i] >= above)
        gap.append(np.max(np.abs(b[i, kept] - a[i, kept]) / a[i, kept]) if kept.any() else np.nan)
    return listed(np.asarray(gap, float))


def summarise_reln(relu: xr.Dataset, reln: xr.Dataset) -> dict:
    """The ``reln`` entry of ``summary.json``: each seed's pathways (contexts from 1, units),
    the epoch its gates settle, and the largest relative gap of the trained ReLN's loss to
    the ReLU network's after it; the same gap while the ReLU network's loss is at least
    ``EARLY_LOSS``; besides, the strong units and strength per pathway, the
    unit × sample gates that differ from the final ones, and the ReLN's final loss; and
    ``closed_form``, the closed-form ReLN's loss at the run's epochs
    (:func:`summaries.reln_closed_form.reln_closed_form`)."""
    from .reln_closed_form import reln_closed_form

    settle = gates_settle_epoch(relu)
    found = pathways(relu)
    return {
        "pathways": [[{"contexts": p["contexts"], "units": p["units"]} for p in s] for s in found],
        "gates_settle_epoch": settle,
        "trained_loss_gap": loss_gap(relu, reln, settle),
        "trained_loss_gap_early": {
            "while_loss_at_least": EARLY_LOSS,
            "gap": loss_gap(relu, reln, above=EARLY_LOSS),
        },
        "pathway_strong_units": [[p["strong_units"] for p in s] for s in found],
        "pathway_strength": [[p["strength"] for p in s] for s in found],
        "sample_gates_changed": {
            "epoch": relu["step"].values.tolist(),
            "count": listed(sample_gates_changed(relu)),
        },
        "trained_final_loss": listed(np.where(_diverged(relu), np.nan, reln["loss"].values)),
        "closed_form": reln_closed_form(relu),
    }
