"""WᵀW and feature norms across sparsity (paper, "Demonstrating Superposition": n=20
features, m=5 dimensions, ``I_i = 0.7^i``, the linear model beside ReLU output models from
dense to very sparse).

One column per model: the WᵀW heat map on top (diagonal = ‖W_i‖², off-diagonal =
overlaps; blue negative, red positive) and a bar per feature underneath, its length the
norm ‖W_i‖ and its colour the feature's interference (blue = a dimension of its own,
red = superposed), the same hue as the phase diagrams.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from summaries.trained_models import FAMILY_NAMES, TrainedModel

from .colour import INTERFERENCE_FULL, interference_cmap, interference_rgb
from .style import AXIS_LABELS, DIVERGING_CMAP, DOUBLE_COLUMN, house_style, new_figure

HEATMAP_GID = "wtw"
BARS_GID = "norm_bars"
# |WᵀW| entries above this saturate the colour map: represented features have ‖W_i‖² ≈ 1.
WTW_LIMIT = 1.0
HEIGHT = 2.9


def _title(model: TrainedModel) -> str:
    return f"{FAMILY_NAMES.get(model.family, model.family)}\n1−S = {model.density:.3g}"


def wtw_sparsity(models: Sequence[TrainedModel], *, fig=None):
    """Draw the WᵀW / feature-norm columns for ``models`` (left to right); return the Figure."""
    if not models:
        raise ValueError("wtw_sparsity needs at least one model")
    k = len(models)
    n = models[0].W.shape[1]
    norm_max = max(1.0, max(float(np.nanmax(m.norm)) for m in models))
    with house_style():
        if fig is None:
            fig = new_figure(DOUBLE_COLUMN, HEIGHT)
        grid = fig.add_gridspec(2, k + 1, width_ratios=[1] * k + [0.08], height_ratios=[1, 1.15])
        top = bottom = None
        for j, model in enumerate(models):
            top = fig.add_subplot(grid[0, j])
            gram = model.W.T @ model.W
            image = top.imshow(
                gram,
                cmap=DIVERGING_CMAP,
                vmin=-WTW_LIMIT,
                vmax=WTW_LIMIT,
                interpolation="nearest",
                origin="upper",
            )
            image.set_gid(HEATMAP_GID)
            top.set_xticks([])
            top.set_yticks([])
            top.set_title(_title(model))
            bottom = fig.add_subplot(grid[1, j])
            bottom.barh(
                np.arange(n),
                model.norm,
                height=0.8,
                color=interference_rgb(model.interference),
                gid=BARS_GID,
            )
            bottom.set_ylim(n - 0.5, -0.5)  # feature 0 (most important) at the top
            bottom.set_xlim(0, norm_max * 1.05)
            bottom.set_xticks([0, 1])
            bottom.set_yticks([])
            bottom.spines["left"].set_visible(False)
            if j == 0:
                top.set_ylabel("$W^TW$")
                bottom.set_ylabel("feature i (most important on top)")
                bottom.set_xlabel("$\\|W_i\\|$")
        cb_top = fig.colorbar(image, cax=fig.add_subplot(grid[0, k]))
        cb_top.set_ticks([-WTW_LIMIT, 0, WTW_LIMIT])
        cb_top.set_label("$W_i\\cdot W_j$", labelpad=1)
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        mappable = ScalarMappable(Normalize(0, INTERFERENCE_FULL), interference_cmap())
        cb_bot = fig.colorbar(mappable, cax=fig.add_subplot(grid[1, k]))
        cb_bot.set_ticks([0, INTERFERENCE_FULL], labels=["0", "≥1"])
        cb_bot.set_label(AXIS_LABELS["interference"].split(" ")[0], labelpad=1)
    return fig
