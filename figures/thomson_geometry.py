"""The Thomson geometry of superposition: the minimum of the 1-sparse loss beside trained
models at high sparsity (paper, "Superposition as a Phase Change" and "The Geometry of
Superposition": uniform importance, the polygons and polytopes of sparse features).

For each number of features N (one column), the minimum of ``Σ_i (1 − ‖W_i‖²)² +
Σ_{i≠j} ReLU(W_j·W_i)²`` (b = 0) above the lowest-loss trained model, in the plane and
in three dimensions; each feature ``W_i`` drawn as a line from the origin (kept features
dark, the others grey), each configuration turned to its principal axes so the two read
alike.  Below: the features each keeps against N, and every kept feature's angle to its
nearest kept neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from summaries.thomson_comparison import ANGLE_TOLERANCE, KEPT_NORM, Geometry, ThomsonRow

from .style import DOUBLE_COLUMN, NOT_REPRESENTED_GREY, OKABE_ITO, house_style, new_figure

FEATURE_GID = "thomson_feature"
MINIMUM_COLOUR = OKABE_ITO["blue"]
TRAINED_COLOUR = OKABE_ITO["vermillion"]
DIMS_MARKERS = {2: "o", 3: "s"}
# Axis half-width of a geometry panel, relative to its longest feature (kept features
# have norm 0.9-1; trained ones grow past 1 with a negative bias, up to ~1.3).
EXTENT = 1.1
ROW_HEIGHT = 0.95  # inches per row of geometry panels


def thomson_figure(rows: Sequence[ThomsonRow], *, fig=None):
    """Two rows of geometry panels (minimum, trained) per number of dimensions, then the
    kept counts and the nearest-neighbour angles against N."""
    if not rows:
        raise ValueError("thomson_figure needs at least one row")
    dims = sorted({r.dims for r in rows})
    if any(m not in (2, 3) for m in dims):
        raise ValueError("thomson_figure draws 2 or 3 dimensions")
    by_dims = {m: sorted((r for r in rows if r.dims == m), key=lambda r: r.features) for m in dims}
    columns = max(len(v) for v in by_dims.values())
    with house_style():
        if fig is None:
            fig = new_figure(DOUBLE_COLUMN, ROW_HEIGHT * 2 * len(dims) + 2.0)
        grid = fig.add_gridspec(
            2 * len(dims) + 1, columns, height_ratios=[1] * 2 * len(dims) + [2.3]
        )
        for k, m in enumerate(dims):
            for c, row in enumerate(by_dims[m]):
                for j, (geometry, colour, label) in enumerate(
                    (
                        (row.minimum, MINIMUM_COLOUR, "minimum"),
                        (row.trained, TRAINED_COLOUR, "trained"),
                    )
                ):
                    spec = grid[2 * k + j, c]
                    ax = fig.add_subplot(spec, projection="3d") if m == 3 else fig.add_subplot(spec)
                    _geometry(ax, geometry, colour, m)
                    text = f"{geometry.kept} kept"
                    if j == 1 and row.nearest_gap is not None and not row.degenerate:
                        text += f", Δ{row.nearest_gap:.1f}°"
                    if j == 0:
                        ax.set_title(f"N = {row.features}", pad=1)
                    _caption(ax, text, m)
                    if c == 0:
                        _row_label(ax, f"{label}\nm = {m}", m)
        inner = grid[2 * len(dims), :].subgridspec(1, 2, wspace=0.1)
        _kept_panel(fig.add_subplot(inner[0, 0]), by_dims)
        _angle_panel(fig.add_subplot(inner[0, 1]), by_dims)
    return fig


def _principal(W: np.ndarray) -> np.ndarray:
    """``W`` turned to the principal axes of its kept features (largest spread along the
    first axis), the sign of each axis fixed by its largest component: the same shape
    found in two orientations reads alike."""
    kept = np.linalg.norm(W, axis=0) > KEPT_NORM
    if kept.sum() == 0:
        return W
    U, _, _ = np.linalg.svd(W[:, kept], full_matrices=True)
    out = U.T @ W
    for a in range(out.shape[0]):
        big = np.argmax(np.abs(out[a]))
        if out[a, big] < 0:
            out[a] *= -1
    return out


def _geometry(ax, g: Geometry, colour: str, m: int) -> None:
    W = _principal(g.W)
    norms = np.linalg.norm(W, axis=0)
    kept = norms > KEPT_NORM
    extent = EXTENT * max(1.0, float(norms.max()))
    # Dropped features first, so the kept ones are drawn on top.
    for i in sorted(range(W.shape[1]), key=lambda i: kept[i]):
        c, lw = (colour, 1.2) if kept[i] else (NOT_REPRESENTED_GREY, 0.8)
        if m == 2:
            ax.plot([0, W[0, i]], [0, W[1, i]], color=c, lw=lw, gid=FEATURE_GID)
            ax.plot([W[0, i]], [W[1, i]], "o", color=c, ms=2.2 if kept[i] else 1.2)
        else:
            ax.plot([0, W[0, i]], [0, W[1, i]], [0, W[2, i]], color=c, lw=lw, gid=FEATURE_GID)
            ax.plot([W[0, i]], [W[1, i]], [W[2, i]], "o", color=c, ms=2.2 if kept[i] else 1.2)
    if m == 2:
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_linewidth(0.4)
            spine.set_color("#999999")
        ax.axhline(0, color="#EEEEEE", lw=0.4, zorder=0)
        ax.axvline(0, color="#EEEEEE", lw=0.4, zorder=0)
    else:
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(-extent * 0.75, extent * 0.75)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=25, azim=35)
        ax.set_axis_off()


def _caption(ax, text: str, m: int) -> None:
    if m == 2:
        ax.text(0.5, -0.02, text, transform=ax.transAxes, ha="center", va="top", fontsize=6)
    else:
        ax.text2D(0.5, 0.0, text, transform=ax.transAxes, ha="center", va="top", fontsize=6)


def _row_label(ax, text: str, m: int) -> None:
    if m == 2:
        ax.set_ylabel(text, fontsize=7)
    else:
        ax.text2D(-0.12, 0.5, text, transform=ax.transAxes, ha="right", va="center", fontsize=7)


def _kept_panel(ax, by_dims: dict) -> None:
    for m, rows in by_dims.items():
        n = [r.features for r in rows]
        marker = DIMS_MARKERS[m]
        ax.plot(
            n,
            [r.minimum.kept for r in rows],
            "-",
            marker=marker,
            color=MINIMUM_COLOUR,
            mfc="white",
            ms=4,
            label=f"minimum, m = {m}",
        )
        ax.plot(
            n,
            [r.trained.kept for r in rows],
            ls="none",
            marker=marker,
            color=TRAINED_COLOUR,
            ms=3,
            label=f"trained (best seed), m = {m}",
        )
        # every seed, as small ticks beside the best one
        for r in rows:
            ax.plot(
                [r.features + 0.18] * len(r.seeds_kept),
                r.seeds_kept,
                "_",
                color=TRAINED_COLOUR,
                ms=3,
                alpha=0.6,
            )
    ax.set_xlabel("features N")
    ax.set_ylabel(f"features kept (‖W_i‖ > {KEPT_NORM:g})")
    ax.legend(loc="upper left", fontsize=6)


def _angle_panel(ax, by_dims: dict) -> None:
    for m, rows in by_dims.items():
        marker = DIMS_MARKERS[m]
        shift = -0.12 if m == 2 else 0.12
        for r in rows:
            ax.plot(
                [r.features + shift] * len(r.minimum.nearest),
                r.minimum.nearest,
                ls="none",
                marker=marker,
                color=MINIMUM_COLOUR,
                mfc="white",
                ms=4,
            )
            ax.plot(
                [r.features + shift] * len(r.trained.nearest),
                r.trained.nearest,
                ls="none",
                marker="x",
                color=TRAINED_COLOUR,
                ms=3,
            )
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            mfc="white",
            color=MINIMUM_COLOUR,
            label="minimum (○ m = 2, □ m = 3)",
        ),
        Line2D([], [], ls="none", marker="x", color=TRAINED_COLOUR, label="trained, best seed"),
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=6)
    ax.set_xlabel("features N (m = 2 left of m = 3)")
    ax.set_ylabel("nearest-neighbour angle (°)")
    ax.set_title(
        f"agreement: same kept count and every angle within {ANGLE_TOLERANCE:g}°", fontsize=7
    )
