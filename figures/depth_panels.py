"""The depth experiment (``toymodels multitask depth``): networks with two hidden layers on
the contextual task, a ReLU network beside its gated counterpart (``gdln_deep``).

- :func:`layer_census_trajectories`: per run (row) and hidden layer (column), the strong
  units active in every context, in a subset of contexts and in one context over
  training (mean over seeds thick, each seed thin), with the layer's final shared
  fraction in its title: where the gating sits;
- :func:`depth_losses`: ½·Σ squared error against epochs for each run (mean over seeds,
  band from the lowest to the highest seed), log scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from summaries.depth_summary import KINDS, shared_fractions

from ._layout import log_axis
from .multitask_panels import BAND_GID, COLOURS, MEAN_GID, SEED_GID
from .style import DOUBLE_COLUMN, SINGLE_COLUMN, house_style, new_figure

if TYPE_CHECKING:
    import xarray as xr

KIND_LABELS = {"all": "all contexts", "subset": "a subset", "single": "one context"}
CENSUS_GID = "census_mean"


def _epochs(ds) -> np.ndarray:
    return np.asarray(ds["step"].values, float)


def layer_census_trajectories(runs: Mapping[str, xr.Dataset]):
    """One panel per run (rows) and hidden layer (columns): strong units by the contexts
    they are active in, over training."""
    from matplotlib.lines import Line2D

    if not runs:
        raise ValueError("layer_census_trajectories needs at least one run")
    layers = max(ds.sizes["layer"] for ds in runs.values())
    with house_style():
        fig = new_figure(DOUBLE_COLUMN * (0.35 + 0.3 * layers), 1.5 + 1.45 * len(runs))
        axes = fig.subplots(len(runs), layers, squeeze=False, sharex=True)
        for row, (label, ds) in zip(axes, runs.items(), strict=True):
            x = _epochs(ds)
            kept = ~ds["diverged"].values
            counts = {
                k: ds[v + "_trajectory"].transpose("seed", "step", "layer").values[kept]
                for k, v in KINDS.items()
            }  # [seed, step, layer]
            final = shared_fractions({k: v[:, -1] for k, v in counts.items()})  # [seed, layer]
            top = max(float(v.max(initial=0)) for v in counts.values())
            for layer, ax in enumerate(row):
                if layer >= ds.sizes["layer"]:
                    ax.set_axis_off()
                    continue
                for kind, colour in zip(KINDS, COLOURS, strict=False):
                    values = counts[kind][..., layer]
                    for seed in values:
                        ax.plot(x, seed, color=colour, lw=0.5, alpha=0.4, gid=SEED_GID)
                    ax.plot(x, values.mean(0), color=colour, lw=1.4, gid=CENSUS_GID)
                shared = np.nanmean(final[:, layer]) if final.size else np.nan
                ax.set_title(f"{label}, layer {layer + 1}: {shared:.0%} shared at the end")
                ax.set(xlim=(0, x[-1]), ylim=(0, 1.08 * top + 1))
            row[0].set_ylabel("strong units")
        for ax in axes[-1]:
            ax.set_xlabel("epoch")
        handles = [
            Line2D([], [], color=c, lw=1.4, label=KIND_LABELS[k])
            for k, c in zip(KINDS, COLOURS, strict=False)
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=len(handles),
            title="strong units active in (thick: mean over seeds; thin: each seed)",
        )
    return fig


def depth_losses(runs: Mapping[str, xr.Dataset]):
    """Loss against epochs for each labelled run (mean over seeds, band the seeds' range)."""
    if not runs:
        raise ValueError("depth_losses needs at least one run")
    with house_style():
        fig = new_figure(SINGLE_COLUMN + 0.6, 2.4)
        ax = fig.subplots()
        lo, hi, last = np.inf, 0.0, 0.0
        for (label, ds), colour in zip(runs.items(), COLOURS, strict=False):
            x = _epochs(ds)
            loss = ds["loss_trajectory"].transpose("seed", "step").values
            loss = loss[~ds["diverged"].values]
            if not loss.size:
                continue
            ax.fill_between(
                x, loss.min(0), loss.max(0), color=colour, alpha=0.2, lw=0, gid=BAND_GID
            )
            ax.plot(x, loss.mean(0), color=colour, lw=1.3, gid=MEAN_GID, label=label)
            positive = loss[loss > 0]
            lo, hi = min(lo, positive.min(initial=np.inf)), max(hi, loss.max())
            last = max(last, x[-1])
        if np.isfinite(lo):
            log_axis(ax, "y", 10 ** np.floor(np.log10(lo)), 2 * hi)
        ax.set(xlim=(0, last or 1), xlabel="epoch", ylabel="loss ½·Σ squared error")
        ax.legend(loc="lower left")
    return fig
