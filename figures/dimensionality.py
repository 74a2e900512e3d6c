"""Feature dimensionality against sparsity (paper, "The Geometry of Superposition",
"Feature Dimensionality"): uniform importance, n features in m dimensions, one model per
density.

Top: dimensions per feature ``m/‖W‖_F²`` against ``1/p`` (it sticks at 1/2 while features
sit in antipodal pairs).  Bottom: every feature's ``D_i = ‖W_i‖² / Σ_j (Ŵ_i·W_j)²``
against ``1/p``, with the fractions it sticks at drawn as reference lines: 1 (a dedicated
dimension), 3/4 (tetrahedron), 2/3 (triangle), 1/2 (digon, an antipodal pair),
2/5 (pentagon), 3/8 (square antiprism).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from summaries.trained_models import DimensionalityData

from ._layout import REFERENCE_GID
from .style import AXIS_LABELS, OKABE_ITO, SINGLE_COLUMN, house_style, new_figure

# The uniform polytopes' dimensionalities (paper, "Feature Dimensionality").
STICKY_FRACTIONS = {
    Fraction(1): "dedicated",
    Fraction(3, 4): "tetrahedron",
    Fraction(2, 3): "triangle",
    Fraction(1, 2): "digon",
    Fraction(2, 5): "pentagon",
    Fraction(3, 8): "square antiprism",
}
POINTS_GID = "feature_dimensionality"
HEIGHT = 3.9


def dimensionality(data: DimensionalityData, *, fig=None):
    """Two stacked panels sharing the ``1/(1−S)`` log axis; returns the Figure."""
    inv = 1.0 / np.asarray(data.density, float)
    with house_style():
        if fig is None:
            fig = new_figure(SINGLE_COLUMN, HEIGHT)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.6])
        top.plot(inv, data.dims_per_feature, "o-", color=OKABE_ITO["blue"], ms=3, lw=1.0)
        top.axhline(0.5, color="#888888", lw=0.6, ls="--", gid=REFERENCE_GID)
        top.set_ylabel(AXIS_LABELS["dims_per_feature"].replace(" $", "\n$"))
        top.set_ylim(0, max(1.05, float(np.nanmax(data.dims_per_feature)) * 1.05))
        top.set_title(f"n = {data.n_features} features in m = {data.n_hidden} dimensions")
        for frac in STICKY_FRACTIONS:
            bottom.axhline(float(frac), color="#888888", lw=0.6, ls="--", gid=REFERENCE_GID)
        d = np.asarray(data.dimensionality, float)
        xs = np.repeat(inv[:, None], d.shape[1], axis=1)
        bottom.scatter(
            xs.ravel(),
            d.ravel(),
            s=4,
            color=OKABE_ITO["vermillion"],
            alpha=0.35,
            linewidths=0,
            gid=POINTS_GID,
            rasterized=True,
        )
        bottom.set_ylim(-0.03, 1.08)
        bottom.set_ylabel(AXIS_LABELS["dimensionality"])
        bottom.set_xlabel(AXIS_LABELS["inverse_density"])
        bottom.set_xscale("log")
        _label_fractions(bottom)
        from matplotlib.ticker import FuncFormatter

        bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    return fig


def _label_fractions(ax) -> None:
    """Fraction labels just right of the axes; 2/5 and 3/8 are 0.025 apart, so they are
    nudged up and down to keep the text apart."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transAxes, ax.transData)
    nudge = {Fraction(2, 5): "bottom", Fraction(3, 8): "top"}
    for frac in STICKY_FRACTIONS:
        label = (
            str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"
        )
        ax.text(
            1.01,
            float(frac),
            label,
            transform=trans,
            fontsize=6,
            va=nudge.get(frac, "center"),
            ha="left",
            color="#555555",
        )
