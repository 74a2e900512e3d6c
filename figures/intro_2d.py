"""Five features in two dimensions (paper, introduction and "Demonstrating
Superposition": ``I_i = 0.9^i``; the linear model keeps the two most important features,
the ReLU output model packs more of them as they get sparser: a pentagon when very sparse).

Each feature's column ``W_i`` of ``W`` (a point of the 2-D hidden space) is drawn as an
arrow from the origin, darker for more important features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from summaries.trained_models import FAMILY_NAMES, TrainedModel

from ._layout import ragged_grid
from .style import DOUBLE_COLUMN, SEQUENTIAL_CMAP, house_style, new_figure

ARROW_GID = "feature_arrow"
# Axis half-width: represented features have ‖W_i‖ ≈ 1; leave room for the arrow heads.
EXTENT = 1.35
PANEL_SIZE = 0.95  # inches per panel
# Shorter arrows get no head: ~2 head lengths at this panel size.
MIN_HEAD_NORM = 0.15
# Darkest-to-lightest range of the sequential map used for features (the map's lightest
# end is too pale on white).
_SHADE_RANGE = (0.0, 0.9)


def feature_colours(n: int) -> list:
    """Colours of features ``0..n-1``: most important (feature 0) darkest."""
    from matplotlib import colormaps

    cmap = colormaps[SEQUENTIAL_CMAP]
    return [cmap(v) for v in np.linspace(*_SHADE_RANGE, n)]


def intro_2d(models: Sequence[TrainedModel], *, fig=None):
    """One panel per model, one row per family (in the order given), densities across."""
    if not models:
        raise ValueError("intro_2d needs at least one model")
    if any(m.W.shape[0] != 2 for m in models):
        raise ValueError("intro_2d draws models with 2 hidden dimensions")
    families = list(dict.fromkeys(m.family for m in models))
    rows = [[m for m in models if m.family == f] for f in families]
    n = models[0].W.shape[1]
    colours = feature_colours(n)
    with house_style():
        if fig is None:
            fig = new_figure(DOUBLE_COLUMN, PANEL_SIZE * len(rows) + 0.75)
        for i, j, ax, model in ragged_grid(fig, rows):
            _panel(ax, model, colours)
            if j == 0:
                ax.set_ylabel(FAMILY_NAMES.get(families[i], families[i]))
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=c, lw=2, label=f"$W_{{{i}}}$") for i, c in enumerate(colours)
        ]
        importance = models[0].importance
        title = "feature (darker = more important"
        if importance is not None and n > 1 and importance[0] > 0:
            title += f", $I_i = {importance[1] / importance[0]:g}^i$"
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=n,
            title=title + ")",
            handlelength=1.5,
            columnspacing=1.2,
        )
    return fig


def _panel(ax, model: TrainedModel, colours) -> None:
    # Least important first, so the important arrows are drawn on top.
    for i in reversed(range(model.W.shape[1])):
        x, y = model.W[:, i]
        # A feature that is not represented would leave an arrow head stuck at the origin.
        head = "-|>" if np.hypot(x, y) >= MIN_HEAD_NORM else "-"
        ax.annotate(
            "",
            xy=(x, y),
            xytext=(0, 0),
            gid=ARROW_GID,
            arrowprops={
                "arrowstyle": head,
                "color": colours[i],
                "lw": 1.2,
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": 7,
            },
        )
    ax.set_xlim(-EXTENT, EXTENT)
    ax.set_ylim(-EXTENT, EXTENT)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    for spine in ax.spines.values():
        spine.set_linewidth(0.4)
        spine.set_color("#999999")
    ax.axhline(0, color="#DDDDDD", lw=0.4, zorder=0)
    ax.axvline(0, color="#DDDDDD", lw=0.4, zorder=0)
    ax.set_title(f"1−S = {model.density:.2g}")
