"""Candidate solutions' expected losses against density (paper, "Superposition as a Phase
Change": "there's crossover between the functions, causing a discontinuity in the
derivative of the optimal loss").

Each panel shows, at one relative importance ``r``, every candidate's closed-form loss,
the optimal loss (the lowest candidate, plus the exact optimum when given) and the
crossings where the winner changes: the first-order transitions.  Losses are drawn per
unit density, ``L/p``: every loss vanishes like ``p`` as features get sparse, and dividing
by ``p > 0`` keeps each crossing at the same density and each kink a kink, while keeping
the low-density crossings readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from summaries.superposition_theory import LossCurves

from ._layout import CROSSING_GID, log_axis, ragged_grid
from .colour import category_colours
from .phase_diagram import display_name
from .style import AXIS_LABELS, DOUBLE_COLUMN, OKABE_ITO, house_style, new_figure

# Line styles cycled over candidates so curves stay apart in greyscale too.
_DASHES = ["-", "--", "-.", ":"]
OPTIMAL_GID = "optimal"
EXACT_GID = "exact_optimum"
PANEL_HEIGHT = 1.6


def loss_crossings(curves: Sequence[LossCurves], *, fig=None):
    """One row per model size, one column per importance; returns the Figure."""
    sizes = list(dict.fromkeys((c.n_features, c.n_hidden) for c in curves))
    rows = [[c for c in curves if (c.n_features, c.n_hidden) == s] for s in sizes]
    with house_style():
        if fig is None:
            fig = new_figure(DOUBLE_COLUMN, PANEL_HEIGHT * len(rows) + 0.4)
        for i, j, ax, curve in ragged_grid(fig, rows):
            handles = _panel(ax, curve)
            if i == len(rows) - 1 or j >= len(rows[i + 1]):
                ax.set_xlabel(AXIS_LABELS["density"])
            if j == len(rows[i]) - 1:
                ax.legend(
                    handles=handles,
                    loc="center left",
                    bbox_to_anchor=(1.02, 0.5),
                    handlelength=2.2,
                    labelspacing=0.3,
                    title=f"n={curve.n_features}, m={curve.n_hidden}",
                )
        # One shared label: the per-panel one is taller than a panel.
        fig.supylabel(AXIS_LABELS["loss_per_density"], fontsize="medium")
    return fig


def _panel(ax, c: LossCurves) -> list:
    from matplotlib.lines import Line2D

    p = np.asarray(c.density, float)
    per_p = np.asarray(c.losses, float) / p
    best = per_p.min(axis=0)
    handles = [
        ax.plot(
            p,
            best,
            color=OKABE_ITO["yellow"],
            lw=5.0,
            alpha=0.9,
            solid_capstyle="butt",
            gid=OPTIMAL_GID,
            label="optimal (lowest candidate)",
        )[0]
    ]
    colours = category_colours(c.phases)
    for k, name in enumerate(c.names):
        handles += ax.plot(
            p,
            per_p[k],
            color=colours[k],
            ls=_DASHES[k % len(_DASHES)],
            lw=1.1,
            label=display_name(name),
        )
    if c.exact_optimum is not None:
        q = np.asarray(c.optimum_density, float)
        handles += ax.plot(
            q,
            np.asarray(c.exact_optimum) / q,
            color="black",
            lw=0.8,
            marker="o",
            ms=1.5,
            gid=EXACT_GID,
            label="exact optimum (free W, b)",
        )
    crossings = [t[0] for t in c.transitions if p.min() <= t[0] <= p.max()]
    if crossings:
        xs = np.asarray(crossings, float)
        # The optimal loss at a crossing: interpolate the lower envelope in log density.
        ys = np.interp(np.log(xs), np.log(p), best)
        ax.plot(xs, ys, "o", ms=4, mfc="white", mec="black", mew=0.9, gid=CROSSING_GID)
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                ms=4,
                mfc="white",
                mec="black",
                mew=0.9,
                label="crossing (phase change)",
            )
        )
    log_axis(ax, "x", p.min(), p.max())
    ax.set_title(f"r = {c.importance:g}")
    ax.margins(y=0.05)
    return handles
