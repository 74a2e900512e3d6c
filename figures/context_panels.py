"""More contexts (``toymodels multitask contexts``): one column per number of contexts K.

- top: the ReLU network's strong units active in every context, in K − 1, in another
  subset, in one (bars the mean over seeds, points the seeds);
- middle: the top singular value of each trained GDLN pathway over training (common
  black, K − 1-context pathways coloured, single-context ones dashed grey; mean over
  seeds) and the closed-form ReLN's (dotted, same colour);
- bottom: the loss of the ReLU network, the GDLN and the closed-form ReLN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from summaries.context_scaling import all_but_one_names, closed_form, pathway_name
from summaries.run_settings import run_setting

from ._layout import log_axis
from .style import DOUBLE_COLUMN, OKABE_ITO, house_style, new_figure

if TYPE_CHECKING:
    import xarray as xr

BARS_GID, POINTS_GID = "census_bars", "census_seeds"
TRAINED_GID, CLOSED_GID, LOSS_GID = "gdln_pathway", "closed_form_pathway", "loss"
CENSUS = {"all": "all", "all_but_one": "K−1", "other_subsets": "other\nsubsets", "single": "one"}
COLOURS = [
    OKABE_ITO[k]
    for k in ("blue", "vermillion", "bluish_green", "reddish_purple", "orange", "sky_blue")
]
THEORY_POINTS = 300


def contexts_figure(runs: Mapping[int, tuple], summary: dict):
    """The figure of ``multitask contexts``: ``runs[K] = (relu, gdln)`` and its summary
    (``summaries.context_scaling.summarise_contexts``)."""
    per = {entry["contexts"]: entry for entry in summary["per_contexts"]}
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 6.6)
        axes = fig.subplots(3, len(runs), squeeze=False)
        top_sv = 0.0
        for col, (k, (relu, gdln)) in enumerate(runs.items()):
            _census(axes[0, col], per[k]["census"], k)
            top_sv = max(top_sv, _pathways(axes[1, col], gdln, k))
            _loss(axes[2, col], relu, gdln, k)
        for ax in axes[1]:
            ax.set_ylim(0, 1.08 * top_sv)
        axes[0, 0].set_ylabel("strong ReLU units")
        axes[1, 0].set_ylabel("top singular value\nof pathway")
        axes[2, 0].set_ylabel("loss ½·Σ squared error")
    return fig


def _census(ax, census: dict, k: int) -> None:
    counts = np.array([census[name] for name in CENSUS], float)  # [kind, seed]
    where = np.arange(len(CENSUS))
    ax.bar(where, counts.mean(1), width=0.65, color=COLOURS[:4], alpha=0.75, gid=BARS_GID)
    jitter = np.linspace(-0.15, 0.15, counts.shape[1]) if counts.shape[1] > 1 else [0.0]
    ax.scatter(
        (where[:, None] + jitter).ravel(),
        counts.ravel(),
        s=7,
        color="black",
        zorder=3,
        gid=POINTS_GID,
        clip_on=False,
    )
    ax.set_xticks(where, list(CENSUS.values()))
    ax.set_ylim(0, counts.max() * 1.1 + 1)
    ax.set_title(f"K = {k} contexts")


def _pathways(ax, gdln: xr.Dataset, k: int) -> float:
    """Trained and closed-form top singular values per pathway; the largest drawn."""
    from toymodels.families.gdln import pathway_names

    names = pathway_names(k, run_setting(gdln, "gating"), run_setting(gdln, "masks"))
    x = np.asarray(gdln["step"].values, float)
    top = gdln["pathway_singular_values_trajectory"].isel(singular=0)
    top = top.transpose("pathway", "seed", "step").values.mean(1)
    colour = {"common": "black"} | dict(zip(all_but_one_names(k), COLOURS, strict=False))
    for p, name in enumerate(names):
        c = colour.get(name, "grey")
        ax.plot(x, top[p], color=c, lw=1.2, ls="-" if name in colour else "--", gid=TRAINED_GID)
    prediction = closed_form(k)
    t = np.linspace(0, x[-1], THEORY_POINTS)
    every = tuple(range(1, k + 1))
    drawn = top.max(initial=0.0)
    for pathway in prediction.pathways:
        name = "common" if pathway.contexts == every else pathway_name(pathway.contexts)
        strength = pathway.strength(t, prediction.tau).max(1)
        ax.plot(t, strength, ":", color=colour.get(name, "grey"), lw=1.4, gid=CLOSED_GID)
        drawn = max(drawn, strength.max())
    ax.set(xlim=(0, x[-1]), xlabel="epoch")
    # The K − 1-context pathways of one K learn the same values: their lines coincide.
    note = "solid: GDLN (mean of seeds)\ndotted: closed form\nblack: common\n"
    note += "colour: each K−1 pathway"
    if len(names) > 1 + k:
        note += "\ndashed grey: one context"
    ax.text(
        0.97,
        0.04,
        note,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=6,
    )
    return float(drawn)


def _loss(ax, relu: xr.Dataset, gdln: xr.Dataset, k: int) -> None:
    lo, hi = np.inf, 0.0
    for ds, label, colour in ((relu, "ReLU", COLOURS[0]), (gdln, "GDLN", COLOURS[1])):
        x = np.asarray(ds["step"].values, float)
        mean = ds["loss_trajectory"].transpose("seed", "step").values.mean(0)
        ax.plot(x, mean, color=colour, lw=1.2, label=label, gid=LOSS_GID)
        lo, hi = min(lo, mean[mean > 0].min(initial=np.inf)), max(hi, mean.max())
    prediction = closed_form(k)
    t = np.linspace(0, x[-1], THEORY_POINTS)
    theory = prediction.loss(t)
    ax.plot(t, theory, "--", color="black", lw=1.0, label="closed form (ReLN)", gid=CLOSED_GID)
    lo = min(lo, theory[theory > 0].min(initial=lo))
    lo = 10 ** np.floor(np.log10(lo)) if np.isfinite(lo) and lo > 0 else 1e-3
    log_axis(ax, "y", lo, 2 * max(hi, theory.max()))
    ax.set(xlim=(0, x[-1]), xlabel="epoch")
    ax.legend(loc="lower left", fontsize=6, handlelength=1.6)
