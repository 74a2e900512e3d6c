"""Helpers shared by the plot functions: log-spaced cell edges, log axes with plain tick
labels, and the gid tags tests use to find what was drawn."""

from __future__ import annotations

import numpy as np

# gid of every boundary curve, so tests and callers can find them among the lines.
BOUNDARY_GID = "boundary"
CROSSING_GID = "crossing"
REFERENCE_GID = "reference"
# Width (in decades) given to an axis that has a single value.
_SINGLE_VALUE_DECADES = 0.1


def linear_edges(values: np.ndarray, single_width: float = 1.0) -> np.ndarray:
    """Cell edges for cell centres ``[k] -> [k + 1]``: midpoints, extended by half a step
    at both ends, so each cell is centred on its coordinate (a single value gets a cell
    ``single_width`` wide)."""
    values = np.asarray(values, float)
    if values.size == 1:
        return np.array([values[0] - single_width / 2, values[0] + single_width / 2])
    mids = (values[1:] + values[:-1]) / 2
    return np.concatenate([[2 * values[0] - mids[0]], mids, [2 * values[-1] - mids[-1]]])


def log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges for log-spaced cell centres: :func:`linear_edges` in log space (geometric
    midpoints), so each cell is centred (in log space) on its coordinate."""
    logs = np.log10(np.asarray(values, float))
    return 10.0 ** linear_edges(logs, _SINGLE_VALUE_DECADES)


def _plain(value: float) -> str:
    return f"{value:g}"


def log_axis(ax, which: str, lo: float, hi: float) -> None:
    """Log scale from ``lo`` to ``hi`` (``lo`` at the bottom/left), labelled at the decades
    in plain numbers (0.01, 0.1, 1) rather than powers of ten."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    (ax.set_xlim if which == "x" else ax.set_ylim)(lo, hi)
    decades = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    decades = decades[(decades >= lo * (1 - 1e-9)) & (decades <= hi * (1 + 1e-9))]
    axis.set_major_locator(FixedLocator(decades))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _plain(v)))
    axis.set_minor_locator(LogLocator(subs=np.arange(2, 10)))
    axis.set_minor_formatter(NullFormatter())


def draw_boundaries(ax, boundaries, **style) -> list:
    """Draw every boundary curve on ``ax`` (``importance`` on x, ``density`` on y)."""
    kw = {"color": "black", "lw": 0.9, "solid_capstyle": "round", **style}
    return [
        ax.plot(b.importance, b.density, gid=BOUNDARY_GID, **kw)[0]
        for b in boundaries
        if len(b.density)
    ]


def ragged_grid(fig, rows) -> list:
    """Panels for rows of unequal length: ``(i, j, ax, item)`` for each ``rows[i][j]``.
    The grid is as wide as the longest row; its unused axes are hidden."""
    ncols = max(len(row) for row in rows)
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for i, row in enumerate(rows):
        for ax in axes[i, len(row) :]:
            ax.set_visible(False)
    return [(i, j, axes[i, j], item) for i, row in enumerate(rows) for j, item in enumerate(row)]


def drawn_texts(fig) -> list:
    """Visible, non-empty texts of ``fig`` as drawn: tick labels only for ticks inside the
    view limits (matplotlib keeps labels for ticks it does not draw)."""
    from matplotlib.axis import Tick
    from matplotlib.text import Text

    tick_labels = {
        id(t)
        for tick in fig.findobj(Tick)
        for t in (tick.label1, tick.label2, getattr(tick, "label", None))
        if t is not None
    }
    texts = [t for t in fig.findobj(Text) if id(t) not in tick_labels]
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if lo <= tick.get_loc() <= hi and tick.get_visible():
                    texts += [tick.label1, tick.label2]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose rendered boxes overlap (a layout defect)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = drawn_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    pairs = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = boxes[i], boxes[j]
            # Touching boxes (sharing an edge) are fine; a 0.5 px margin absorbs rounding.
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5:
                pairs.append((texts[i].get_text(), texts[j].get_text()))
    return pairs
