"""The summary of ``toymodels competition depth``: for every pair of a first-layer and a
second-layer design of the ``competition_deep`` family, each hidden layer's phases (the
one-layer rule on that layer's metrics, ``toymodels.phases.last_layer_competition``),
distinct units, largest |cos| and effective units, and the loss; and the two answers
side by side: the second layer's redundancy against the first layer's design, and the
first layer's against the second's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from toymodels.phases.base import DIVERGED
from toymodels.phases.last_layer_competition import layer_phases
from toymodels.phases.layer_competition import LABELS, LAYER_COMPETITION_RULE

from .json_values import listed
from .run_settings import spec_of

if TYPE_CHECKING:
    import xarray as xr

#: the per-layer metrics reported, each as its per-seed values and their mean
REPORTED = ("n_distinct", "max_abs_cos", "effective_units", "dead_fraction")
PHASES = (*LABELS, DIVERGED)
#: the fields a design sets in its layer (the second layer's carry ``_layer2``)
LAYER_FIELDS = ("activation", "volume", "volume_strength")


def _mean(values: np.ndarray) -> float | None:
    """The mean of the finite values (None when there is none: every seed diverged)."""
    kept = values[np.isfinite(values)]
    return float(kept.mean()) if kept.size else None


def _standard_error(values: np.ndarray) -> float | None:
    """The standard error of the mean of the finite values (None with fewer than two)."""
    kept = values[np.isfinite(values)]
    return float(kept.std(ddof=1) / np.sqrt(kept.size)) if kept.size > 1 else None


def layer_rows(ds: xr.Dataset) -> list[dict]:
    """Per hidden layer of one run: ``phase`` per seed, ``phase_fraction`` (``{label:
    share of seeds}``, diverged seeds their own label) and each metric of ``REPORTED``
    per seed with its mean and standard error (``_mean``, ``_se``) over the seeds that
    did not diverge."""
    needs = LAYER_COMPETITION_RULE.needs
    metrics = {k: ds[k].transpose("seed", "layer", ...).values for k in {*needs, *REPORTED}}
    diverged = ds["diverged"].values
    codes = layer_phases(metrics)  # [seed, layer]
    rows = []
    for layer in range(codes.shape[1]):
        labels = np.where(diverged, DIVERGED, np.asarray(LABELS)[codes[:, layer]])
        row = {
            "phase": labels.tolist(),
            "phase_fraction": {p: float((labels == p).mean()) for p in PHASES},
        }
        for name in REPORTED:
            values = np.where(diverged, np.nan, metrics[name][:, layer].astype(float))
            row[name] = listed(values)
            row[f"{name}_mean"] = _mean(values)
            row[f"{name}_se"] = _standard_error(values)
        rows.append(row)
    return rows


def pair_row(first: str, second: str | None, ds: xr.Dataset) -> dict:
    """One design pair: its labels, layers, loss and accuracy per seed and mean."""
    diverged = ds["diverged"].values
    loss = np.where(diverged, np.nan, ds["loss"].values.astype(float))
    row = {"first": first, "second": second, "layers": layer_rows(ds)}
    row |= {"loss": listed(loss), "loss_mean": _mean(loss)}
    if "accuracy" in ds:
        accuracy = np.where(diverged, np.nan, ds["accuracy"].values.astype(float))
        row |= {"accuracy_mean": _mean(accuracy)}
    row["diverged_models"] = int(diverged.sum())
    return row


def _table(pairs: list[dict], layer: int, by: str, across: str, value) -> dict:
    """``{<by design>: {<across design>: value(layer row)}}``."""
    out: dict = {}
    for pair in pairs:
        if layer >= len(pair["layers"]):
            continue
        out.setdefault(pair[by], {})[pair[across]] = value(pair["layers"][layer])
    return out


def answers(pairs: list[dict]) -> dict:
    """The depth question in tables: the second layer's redundant share and distinct units
    for each second-layer design (rows) and first-layer design (columns), and the first
    layer's for each first-layer design and second-layer design."""

    def redundant(row):
        return row["phase_fraction"]["redundant"]

    def distinct(row):
        return row["n_distinct_mean"]

    out = {
        "first_layer_redundant": _table(pairs, 0, "first", "second", redundant),
        "first_layer_distinct": _table(pairs, 0, "first", "second", distinct),
    }
    if any(len(p["layers"]) > 1 for p in pairs):
        out |= {
            "second_layer_redundant": _table(pairs, 1, "second", "first", redundant),
            "second_layer_distinct": _table(pairs, 1, "second", "first", distinct),
        }
    return out


def settings_of(ds: xr.Dataset) -> dict:
    """The settings every pair shares (those of any one run but its layer fields)."""
    spec = spec_of(ds).to_dict()
    model = spec["model"]
    shared = {k: v for k, v in model.items() if k.removesuffix("_layer2") not in LAYER_FIELDS}
    return {
        "family": spec["family"],
        "task": spec["task"],
        "n_hidden": spec["n_hidden"],
        "n_layers": spec.get("n_layers", 1),
        "seeds": spec["seeds"],
        "root_seed": spec["root_seed"],
        "data": {k: spec[k] for k in ("n_features", "n_clusters") if k in spec},
        "model": shared,
        "train": spec["train"],
    }


def summarise_depth(runs: Mapping[tuple[str, str | None], xr.Dataset]) -> dict:
    """The summary of every pair's run (``{(first, second): results}``; second None with
    one layer), in the order given."""
    if not runs:
        raise ValueError("summarise_depth needs at least one run")
    pairs = [pair_row(first, second, ds) for (first, second), ds in runs.items()]
    firsts = list(dict.fromkeys(first for first, _ in runs))
    seconds = list(dict.fromkeys(second for _, second in runs))
    designs = {}
    for (first, second), ds in runs.items():
        model = spec_of(ds).to_dict()["model"]
        for label, suffix in ((first, ""), (second, "_layer2")):
            if label is not None:
                designs.setdefault(label, {k: model[f"{k}{suffix}"] for k in LAYER_FIELDS})
    return {
        "first": firsts,
        "second": seconds,
        "designs": designs,
        "pairs": pairs,
        "answers": answers(pairs),
        "diverged_models": sum(p["diverged_models"] for p in pairs),
        # the pairs every seed of which diverged (as every command's summary counts cells)
        "diverged_cells": sum(p["diverged_models"] == len(p["loss"]) for p in pairs),
        "thresholds": dict(LAYER_COMPETITION_RULE.thresholds),
        "settings": settings_of(next(iter(runs.values()))),
    }
