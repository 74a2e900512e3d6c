"""The seeds' picture of a competing layer: the points of a 2-D task and every unit's line
``w·x + b = 0`` in the plane, one panel per trained layer
(:func:`summaries.hyperplane_layers.hyperplane_layers`).

Points are grey, one marker per class.  A unit's line is coloured by its usage ``p̄_k``
(sequential map, 0 to the largest usage in the figure); a dead unit's line is dotted grey.
Alike units (the metrics' rule: a group of duplicates) carry one letter per group at the
line's point nearest the data's centre, and are drawn thicker, so a copied cut reads at a
glance.  For activations that ignore a shift common to the units' rows the lines are
those of the centred rows (the panel title says so).
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

import numpy as np

from .style import DOUBLE_COLUMN, SEQUENTIAL_CMAP, house_style, new_figure

if TYPE_CHECKING:
    from summaries.hyperplane_layers import HyperplaneLayer

CLASS_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "h", "<", ">", "p")
DEAD_COLOUR = "0.6"
POINT_COLOUR = "0.6"
# Where along its drawn segment a duplicate's letter sits (from one end), and the step
# between members of one group, so letters of lines crossing near the centre stay apart.
MARK_AT = 0.1
MARK_STEP = 0.07
# Half-width of the drawn window beyond the data's extent (data units).
MARGIN = 0.6
DUPLICATE_WIDTH = 2.2
LINE_WIDTH = 1.2
COLUMNS = 4


def _segment(w: np.ndarray, b: float, box: tuple[float, float, float, float]):
    """The part of the line ``w·x + b = 0`` inside ``box`` (x0, x1, y0, y1), or None."""
    x0, x1, y0, y1 = box
    if not np.all(np.isfinite(w)) or np.hypot(*w) < 1e-12:
        return None
    points = []
    if abs(w[1]) > 1e-12:
        for x in (x0, x1):
            y = -(b + w[0] * x) / w[1]
            if y0 <= y <= y1:
                points.append((x, y))
    if abs(w[0]) > 1e-12:
        for y in (y0, y1):
            x = -(b + w[1] * y) / w[0]
            if x0 <= x <= x1:
                points.append((x, y))
    if len(points) < 2:
        return None
    points = np.array(points)
    far = np.argmax(((points[:, None] - points[None]) ** 2).sum(-1).ravel())
    i, j = divmod(int(far), len(points))
    return points[[i, j]]


def _panel_title(layer: HyperplaneLayer) -> str:
    control = "" if layer.volume == "none" else f" + {layer.volume} {layer.strength:g}"
    centred = " (centred)" if layer.centred else ""
    return (
        f"{layer.activation}{control}{centred}\n"
        f"{layer.n_distinct}/{int(layer.alive.sum())} alive distinct · {layer.phase}"
    )


def hyperplane_panel(layer: HyperplaneLayer, ax, top_usage: float):
    """One layer's lines over its data on ``ax``; returns ``ax``."""
    from matplotlib import colormaps

    cmap = colormaps[SEQUENTIAL_CMAP]
    lo, hi = layer.x.min(0) - MARGIN, layer.x.max(0) + MARGIN
    box = (lo[0], hi[0], lo[1], hi[1])
    for c in np.unique(layer.label):
        pts = layer.x[layer.label == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=4, marker=CLASS_MARKERS[c % len(CLASS_MARKERS)],
                   color=POINT_COLOUR, linewidths=0, zorder=1)  # fmt: skip
    duplicated = layer.duplicated
    groups = [g for g in dict.fromkeys(layer.group[duplicated].tolist())]
    letters = {g: string.ascii_lowercase[i % 26] for i, g in enumerate(groups)}
    placed: dict[int, int] = {}
    for k in range(layer.W.shape[0]):
        seg = _segment(layer.W[k], layer.b[k], box)
        if seg is None:
            continue
        if not layer.alive[k]:
            ax.plot(seg[:, 0], seg[:, 1], color=DEAD_COLOUR, lw=0.8, ls=":", zorder=2,
                    gid="dead")  # fmt: skip
            continue
        colour = cmap(min(1.0, layer.usage[k] / top_usage))
        width = DUPLICATE_WIDTH if duplicated[k] else LINE_WIDTH
        ax.plot(seg[:, 0], seg[:, 1], color=colour, lw=width, zorder=3,
                gid="duplicate" if duplicated[k] else "unit")  # fmt: skip
        if duplicated[k]:
            g = layer.group[k]
            at = MARK_AT + MARK_STEP * placed.get(g, 0)
            placed[g] = placed.get(g, 0) + 1
            mark = seg[0] + at * (seg[1] - seg[0])
            ax.text(mark[0], mark[1], letters[g], fontsize=7, ha="center",
                    va="center", zorder=4, gid="duplicate_mark",
                    bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": colour,
                          "lw": 0.8})  # fmt: skip
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_panel_title(layer), fontsize=7)
    return ax


def hyperplane_figure(layers: list[HyperplaneLayer], title: str = ""):
    """One panel per layer (:func:`hyperplane_panel`), a shared usage colour bar and a
    key to the line styles."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    if not layers:
        raise ValueError("no layers to draw")
    top = float(max(np.max(layer.usage) for layer in layers)) or 1.0
    rows = -(-len(layers) // COLUMNS)
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 0.6 + 2.0 * rows)
        axes = np.atleast_1d(fig.subplots(rows, COLUMNS)).ravel()
        for ax, layer in zip(axes, layers, strict=False):
            hyperplane_panel(layer, ax, top)
        for ax in axes[len(layers) :]:
            ax.set_axis_off()
        bar = fig.colorbar(
            ScalarMappable(Normalize(0.0, top), SEQUENTIAL_CMAP), ax=list(axes),
            fraction=0.02, pad=0.01,
        )  # fmt: skip
        bar.set_label("usage p̄ of the unit")
        handles = [
            Line2D([], [], color="0.3", lw=LINE_WIDTH, label="a unit's line w·x + b = 0"),
            Line2D([], [], color="0.3", lw=DUPLICATE_WIDTH, marker="o", mfc="white",
                   label="duplicates (one letter per group of alike units)"),
            Line2D([], [], color=DEAD_COLOUR, lw=0.8, ls=":", label="dead unit"),
        ]  # fmt: skip
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        if title:
            fig.suptitle(title)
    return fig
