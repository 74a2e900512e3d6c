"""What ``competition phase-diagram`` and ``competition compare`` write next to their runs:
``summary.json`` (or ``compare.json``) and the figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from toymodels.files import atomic_write
from toymodels.phases import layer_competition
from toymodels.phases.base import DIVERGED
from toymodels.phases.layer_competition import LABELS

from .json_arrays import listed
from .phase_report import agreement

# Cells within this factor of the critical temperature either way are left out of the
# agreement: the split grows from zero there (as √(τ_c − τ)) and relaxes slowest, so a
# finite run cannot be expected to have settled.
BAND = 0.1


def theory_phase(temperature: np.ndarray, tc: float) -> np.ndarray:
    """The annealing theory's phase per temperature: redundant (every prototype at the
    data mean) above ``tc``, split (specialised) below."""
    return np.where(np.asarray(temperature) > tc, "redundant", "specialised")


def summarise(results: xr.Dataset, spec, tc: float | None) -> dict:
    """The summary of one τ × λ sweep (arrays ``[temperature][strength]``)."""
    from figures.competition_data import DIAGRAM_AXES, METRICS, diagram_arrays

    arrays = diagram_arrays(results)
    temperature = results["temperature"].values
    strength = results["volume_strength"].values
    config = spec.model_config(spec.cell_point(0))
    arch = config.arch
    summary: dict = {
        "temperature": temperature.tolist(),
        "strength": strength.tolist(),
        "phase": arrays["phase"].tolist(),
        "phase_fraction": {
            label: arrays[f"fraction_{label}"].tolist() for label in (*LABELS, DIVERGED)
        },
        "diverged_models": int(results["diverged"].sum()),
        "metrics": {m: listed(arrays[m]) for m in (*METRICS, "distinct_share")},
        "metrics_mean": {m: listed(arrays[f"mean_{m}"]) for m in (*METRICS, "distinct_share")},
        "critical_temperature": tc,
    }
    if tc is not None:
        per_model = results["phase_model"].transpose(*DIAGRAM_AXES, "seed").values.astype(str)
        theory = np.broadcast_to(theory_phase(temperature, tc)[:, None], arrays["phase"].shape)
        outside = np.abs(np.log(temperature / tc)) > np.log1p(BAND)
        outside = np.broadcast_to(outside[:, None], theory.shape)
        summary["theory_phase"] = theory.tolist()
        summary["band"] = BAND
        summary["agreement_outside_band"] = agreement(arrays["phase"][outside], theory[outside])
        summary["agreement_per_seed_outside_band"] = agreement(
            per_model[outside], np.broadcast_to(theory[..., None], per_model.shape)[outside]
        )
    summary["thresholds"] = layer_competition.THRESHOLDS
    summary["settings"] = {
        "task": spec.task,
        "activation": arch.activation,
        "volume": arch.volume,
        "n_hidden": arch.n_hidden,
        "group_size": arch.group_size,
        "k_active": arch.k_active,
        "seeds": spec.seeds,
        "root_seed": spec.root_seed,
        "steps": spec.train.steps,
        "lr": spec.train.lr,
        "batch_size": spec.train.batch_size,
        "data": config.data.values(),
        "metrics_from": "the lowest-loss seed of each cell (metrics_mean: mean over seeds)",
    }
    return summary


def write_phase_report(results: xr.Dataset, spec, out: Path, tc: float | None) -> dict:
    """Write ``summary.json`` and the figure into ``out``; returns the summary."""
    from figures import save
    from figures.competition_panels import competition_diagram

    summary = summarise(results, spec, tc)
    s = summary["settings"]
    title = (
        f"{s['activation']} + {s['volume']} on {s['task']}, K = {s['n_hidden']}, "
        f"{s['seeds']} seeds, {s['steps']} steps"
    )
    fig = competition_diagram(results, title=title, critical_temperature=tc)
    summary["figures"] = [str(p) for p in save(fig, out / "phase_diagram")]
    atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2)))
    return summary


def write_compare_report(results: xr.Dataset, spec, out: Path) -> list[dict]:
    """Write ``compare.json`` and the comparison figure into ``out``; returns the rows."""
    from figures import save
    from figures.competition_data import compare_rows
    from figures.competition_panels import comparison_figure

    rows = compare_rows(results)
    config = spec.model_config(spec.cell_point(0))
    title = (
        f"{spec.task}, K = {config.arch.n_hidden}, τ = {config.arch.temperature:g}, "
        f"{spec.seeds} seeds, {spec.train.steps} steps"
    )
    figures = [str(p) for p in save(comparison_figure(rows, title=title), out / "compare")]
    report = {
        "rows": rows,
        "figures": figures,
        "settings": {"task": spec.task, "seeds": spec.seeds},
    }
    atomic_write(out / "compare.json", lambda p: p.write_text(json.dumps(report, indent=2)))
    return rows
