"""The paper's phase diagram (Elhage et al. 2022, "Superposition as a Phase Change").

One row of panels sharing a log density × log importance grid: trained models (coloured
by the extra feature's interference and norm, one panel per aggregation rule; with the
``seeds`` rule, every seed's own phase as a column of the cell), the
candidate theory (coloured by the winning candidate) and, when given, the exact optimum's
phase; the symbolic boundaries between candidates are drawn over every panel.  A row of
legends underneath explains the colours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from summaries.phase_maps import (
    Boundary,
    FeatureMap,
    PhaseMap,
    SeedPhaseMap,
    as_boundaries,
    empirical_maps,
    phase_map,
)
from summaries.superposition_theory import theory_phase_map
from toymodels.phases.base import DIVERGED

from ._layout import draw_boundaries, log_axis, log_edges
from .colour import category_colours, feature_rgb
from .style import (
    AXIS_LABELS,
    DIVERGED_COLOUR,
    DOUBLE_COLUMN,
    PHASE_COLOURS,
    PHASE_NAMES,
    house_style,
    new_figure,
)

# Figure height (inches): the panel row plus the legend row beneath it.
PANEL_ROW_HEIGHT = 1.95
LEGEND_ROW_HEIGHT = 0.95
# Width of the phase legend relative to the 2-D colour key beside it.
KEY_LEGEND_RATIO = 1.6
# Resolution of the 2-D colour legend.
_KEY_STEPS = 64


def display_name(name: str) -> str:
    """Names as a reader expects them: ``[1,-1]`` -> ``W = [1, −1]``, phase labels in words."""
    if name in PHASE_NAMES:
        return PHASE_NAMES[name]
    pretty = name.replace(",", ", ").replace("-", "−")
    return f"W = {pretty}" if pretty.startswith("[") else pretty


def phase_diagram(
    empirical: Sequence[FeatureMap] | object = (),
    theory: PhaseMap | object | None = None,
    optimum: PhaseMap | object | None = None,
    boundaries: Iterable = (),
    *,
    curves: Iterable = (),
    rules: Sequence[str] = ("paper", "best"),
    fig=None,
    title: str | None = None,
):
    """Draw the phase diagram and return the Figure (saving is the caller's job).

    ``empirical`` is a list of :class:`FeatureMap` / :class:`SeedPhaseMap` or a sweep's
    results dataset (then one panel per aggregation rule in ``rules``: ``paper``,
    ``seeds``, ``best``).  ``theory`` is a :class:`PhaseMap` or an
    ``analytics.theory_map`` result (coloured by winning candidate); ``optimum`` a
    :class:`PhaseMap` or anything with ``density``, ``importance`` and a ``phase`` array
    (coloured by phase).  ``boundaries`` (alias ``curves``) are :class:`Boundary` or
    anything with ``between``, ``density``, ``importance``, drawn over every panel.
    ``fig`` is an empty Figure to draw into (a new double-column one by default).
    """
    if not isinstance(empirical, Sequence):
        empirical = empirical_maps(empirical, rules)
    empirical = list(empirical)
    if theory is not None and not isinstance(theory, PhaseMap):
        theory = theory_phase_map(theory)
    if optimum is not None and not isinstance(optimum, PhaseMap):
        optimum = phase_map(optimum.density, optimum.importance, optimum.phase, "exact optimum")
    boundaries = [*boundaries, *curves]
    categorical = [m for m in (theory, optimum) if m is not None]
    panels = [*empirical, *categorical]
    if not panels:
        raise ValueError("phase_diagram needs at least one panel (empirical, theory or optimum)")
    curves = as_boundaries(boundaries)
    with house_style():
        if fig is None:
            fig = new_figure(DOUBLE_COLUMN, PANEL_ROW_HEIGHT + LEGEND_ROW_HEIGHT)
        grid = fig.add_gridspec(2, len(panels), height_ratios=[PANEL_ROW_HEIGHT, LEGEND_ROW_HEIGHT])
        axes = []
        for i, panel in enumerate(panels):
            ax = fig.add_subplot(
                grid[0, i], sharex=axes[0] if axes else None, sharey=axes[0] if axes else None
            )
            if isinstance(panel, FeatureMap):
                _draw_features(ax, panel)
            elif isinstance(panel, SeedPhaseMap):
                _draw_seed_phases(ax, panel)
            else:
                _draw_categories(ax, panel)
            draw_boundaries(ax, curves)
            _frame(ax, panels, first=(i == 0))
            ax.set_title(panel.title)
            axes.append(ax)
        if empirical:
            diverged = any(
                isinstance(p, SeedPhaseMap)
                and DIVERGED in p.names
                and bool((p.codes == p.names.index(DIVERGED)).any())
                for p in empirical
            )
            _feature_key(fig, grid[1, : len(empirical)], diverged)
        for j, panel in enumerate(categorical):
            _category_legend(fig.add_subplot(grid[1, len(empirical) + j]), panel, bool(curves))
        if title:
            fig.suptitle(title)
    return fig


def _frame(ax, panels, first: bool) -> None:
    dens = np.concatenate([p.density for p in panels])
    imp = np.concatenate([p.importance for p in panels])
    # Limits at the grid's extreme coordinates, the lowest density at the bottom (never
    # imshow's default top-left origin, a pitfall of public replications).
    log_axis(ax, "x", imp.min(), imp.max())
    log_axis(ax, "y", dens.min(), dens.max())
    ax.set_box_aspect(1)
    ax.set_xlabel(_wrap(AXIS_LABELS["importance"]))
    if first:
        ax.set_ylabel(AXIS_LABELS["density"])
    else:
        ax.tick_params(labelleft=False)


def _wrap(label: str) -> str:
    # Panels are 1.2-1.5 in wide: the long importance label goes on two lines, broken at
    # the space that makes the longer line shortest.
    words = label.split(" ")
    cut = min(
        range(1, len(words)),
        key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))),
    )
    return " ".join(words[:cut]) + "\n" + " ".join(words[cut:])


def _draw_features(ax, panel: FeatureMap) -> None:
    rgb = feature_rgb(panel.norm, panel.interference)
    ax.pcolormesh(
        log_edges(panel.importance), log_edges(panel.density), rgb, shading="flat", rasterized=True
    )


def _draw_categories(ax, panel: PhaseMap) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap

    k = len(panel.names)
    # code -1 (a missing cell) is masked and drawn white
    cmap = ListedColormap(category_colours(panel.phases)).with_extremes(bad="white")
    codes = np.ma.masked_less(np.asarray(panel.codes), 0)
    ax.pcolormesh(
        log_edges(panel.importance),
        log_edges(panel.density),
        codes,
        cmap=cmap,
        norm=BoundaryNorm(np.arange(-0.5, k), k),
        shading="flat",
        rasterized=True,
    )


def _draw_seed_phases(ax, panel: SeedPhaseMap) -> None:
    """Each cell split into one column per seed (in log space, so every column has the same
    width on the page), coloured by that seed's phase and sorted: a solid cell is one where
    every seed agrees, stripes show the share of seeds in each phase."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    k = panel.codes.shape[-1]
    log_x = np.log10(log_edges(panel.importance))
    steps = np.linspace(0.0, 1.0, k + 1)
    sub = (log_x[:-1, None] + np.diff(log_x)[:, None] * steps[None, :-1]).ravel()
    x_edges = 10.0 ** np.append(sub, log_x[-1])
    colours = [PHASE_COLOURS.get(n, DIVERGED_COLOUR) for n in panel.names]
    cmap = ListedColormap(colours).with_extremes(bad="white")
    codes = np.ma.masked_less(panel.codes.reshape(len(panel.density), -1), 0)
    ax.pcolormesh(
        x_edges,
        log_edges(panel.density),
        codes,
        cmap=cmap,
        norm=BoundaryNorm(np.arange(-0.5, len(colours)), len(colours)),
        shading="flat",
        rasterized=True,
    )


def _feature_key(fig, cell, diverged: bool = False) -> None:
    """The 2-D legend: interference (hue) × norm (saturation), and the three phases (and
    the diverged models' colour when a seed panel shows any)."""
    from matplotlib.patches import Patch

    sub = cell.subgridspec(1, 2, width_ratios=[1, KEY_LEGEND_RATIO])
    key = fig.add_subplot(sub[0, 0])
    t = np.linspace(0, 1, _KEY_STEPS)
    interference, norm = np.meshgrid(t, t)
    key.imshow(
        feature_rgb(norm, interference),
        origin="lower",
        extent=(0, 1, 0, 1),
        interpolation="nearest",
    )
    key.set_box_aspect(1)
    key.set_anchor("E")
    key.set_xticks([0, 1], ["0", "≥1"])
    key.set_yticks([0, 1], ["0", "≥1"])
    key.set_xlabel("interference", labelpad=1)
    key.set_ylabel("norm", labelpad=0)
    key.tick_params(length=2, pad=1)
    key.set_gid("feature_key")
    holder = fig.add_subplot(sub[0, 1])
    holder.set_axis_off()
    handles = [Patch(color=PHASE_COLOURS[k], label=PHASE_NAMES[k]) for k in PHASE_COLOURS]
    if diverged:
        handles.append(Patch(color=DIVERGED_COLOUR, label="diverged"))
    legend = holder.legend(
        handles=handles,
        loc="center left",
        # A fourth entry (diverged) would grow the legend into the axis labels above.
        ncols=1 if len(handles) <= 3 else 2,
        title="extra feature",
        alignment="left",
        handlelength=1.0,
        labelspacing=0.3,
    )
    # The holder only reserves room: its legend must not shrink it (nor the key beside it).
    legend.set_in_layout(False)


def _category_legend(ax, panel: PhaseMap, with_boundary: bool) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.set_axis_off()
    colours = category_colours(panel.phases)
    handles = [
        Patch(color=c, label=display_name(n)) for n, c in zip(panel.names, colours, strict=True)
    ]
    if with_boundary:
        handles.append(Line2D([], [], color="black", lw=0.9, label="candidate boundary"))
    legend = ax.legend(handles=handles, loc="center", handlelength=1.0, labelspacing=0.3)
    legend.set_in_layout(False)


__all__ = ["Boundary", "FeatureMap", "PhaseMap", "SeedPhaseMap", "display_name", "phase_diagram"]
