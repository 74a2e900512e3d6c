"""Task conflict: the phase diagram from "learn everything" to "winner-take-all" between the
two pathways of the two-view network (``conflict`` task), beside the linear theory of
``analytics.conflict_theory`` (``summaries.conflict_summary``).

:func:`conflict_diagram` draws, over conflict κ (x) and the second axis (y: the shared
layer's width, or view 2's strength relative to view 1's, log scale), six panels: the
trained phase (best of N seeds), the fraction of seeds in ``winner_take_all`` and the
theory's phase; view 1's dominance (mean over seeds), its spread over seeds (standard
deviation) and the theory's dominance.  The theory's boundary (its balance crossing the
rule's threshold, on a fine κ grid) is drawn over every panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from summaries.conflict_summary import boundary_line, second_axis
from toymodels.phases.base import DIVERGED

from ._layout import BOUNDARY_GID, linear_edges, log_axis, log_edges
from .style import (
    DIVERGED_KEY,
    DOUBLE_COLUMN,
    NOT_REPRESENTED_GREY,
    OKABE_ITO,
    house_style,
    new_figure,
)

if TYPE_CHECKING:
    import xarray as xr

PHASE_COLOURS = {
    "learn_everything": OKABE_ITO["bluish_green"],
    "winner_take_all": OKABE_ITO["vermillion"],
    "not_learned": NOT_REPRESENTED_GREY,
}
PHASE_NAMES = {
    "learn_everything": "learn everything",
    "winner_take_all": "winner-take-all",
    "not_learned": "not learned",
}
AXIS_TEXT = {"n_hidden": "shared-layer width H", "view_ratio": "view strength ratio ρ = g₂/g₁"}
# The spread of dominance over seeds is drawn on a scale of at least this (a reader compares
# it with the 0.01 of "every seed alike").
SPREAD_SCALE = 0.1


def conflict_diagram(ds: xr.Dataset, theory: dict, title: str | None = None):
    """The six-panel diagram of one conflict sweep (see module docstring) beside
    ``theory``, ``summaries.conflict_summary.theory_for`` of ``ds``."""
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from toymodels.phases import task_conflict

    axis = second_axis(ds)
    log = axis == "view_ratio"
    labels = list(task_conflict.LABELS)
    cmap = ListedColormap([PHASE_COLOURS[k] for k in labels])

    def codes(names) -> np.ndarray:
        # A diverged cell has no phase: NaN, left blank.
        code = {k: float(i) for i, k in enumerate(labels)}
        return np.vectorize(lambda n: code.get(n, np.nan))(np.asarray(names, str))

    best = ds["phase_best"].transpose("conflict", axis).values
    wta = ds["phase_fraction"].sel(phase="winner_take_all").transpose("conflict", axis).values
    # Diverged models are NaN here, so the mean and spread are over the others.
    dom = ds["dominance"].where(~ds["diverged"]).transpose("conflict", axis, "seed")
    spread = dom.std("seed").values
    # Spreads below SPREAD_SCALE stay near white: seed-to-seed noise of 1e-8 is not drawn
    # as structure.
    top = max(SPREAD_SCALE, float(np.nanmax(spread, initial=0.0)))
    kappa, fine, balance = boundary_line(ds)
    x_edges = linear_edges(ds["conflict"].values)
    y_edges = (log_edges if log else linear_edges)(ds[axis].values)
    panels = [
        ("trained phase (best of N)", codes(best), {"cmap": cmap, "vmin": -0.5, "vmax": 2.5}),
        ("fraction of seeds winner-take-all", wta, {"cmap": "Reds", "vmin": 0, "vmax": 1}),
        ("theory phase", codes(theory["phase"]), {"cmap": cmap, "vmin": -0.5, "vmax": 2.5}),
        (
            "dominance of view 1 (mean)",
            dom.mean("seed").values,
            {"cmap": "RdBu_r", "vmin": 0, "vmax": 1},
        ),
        ("dominance spread (std over seeds)", spread, {"cmap": "Greys", "vmin": 0, "vmax": top}),
        (
            "theory dominance of view 1",
            theory["dominance"],
            {"cmap": "RdBu_r", "vmin": 0, "vmax": 1},
        ),  # noqa: E501
    ]
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 4.8)
        grid = fig.subplots(2, 3, sharex=True, sharey=True)
        for ax, (name, values, style) in zip(grid.flat, panels, strict=True):
            mesh = ax.pcolormesh(x_edges, y_edges, np.asarray(values, float).T, **style)
            line = ax.contour(
                kappa, fine, balance.T, levels=[task_conflict.BALANCED], colors="black",
                linewidths=1.0,
            )  # fmt: skip
            line.set_gid(BOUNDARY_GID)
            ax.set_title(name)
            if "phase" not in name:
                fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02)
        for ax in grid[1]:
            ax.set_xlabel("conflict κ")
        for ax in grid[:, 0]:
            ax.set_ylabel(AXIS_TEXT[axis])
        if log:
            lo, hi = float(y_edges[0]), float(y_edges[-1])
            log_axis(grid[0, 0], "y", lo, hi)
            # Ratios read best in powers of two (1/4, 1/2, 1, 2, 4) around the tie at 1.
            ticks = 2.0 ** np.arange(np.ceil(np.log2(lo)), np.floor(np.log2(hi)) + 1)
            grid[0, 0].set_yticks(ticks, [f"{t:g}" for t in ticks])
        handles = [Patch(color=PHASE_COLOURS[k], label=PHASE_NAMES[k]) for k in labels]
        handles.append(Line2D([], [], color="black", lw=1.0, label="theory boundary"))
        if (best == DIVERGED).any():
            handles.append(Patch(facecolor="white", edgecolor="0.6", label=DIVERGED_KEY))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        if title:
            fig.suptitle(title)
    return fig
