"""``toymodels competition depth``: each hidden layer of the ``competition_deep`` family for
every pair of a first-layer design (rows) and a second-layer design (columns).

:func:`depth_figure`, from the command's summary (``summaries.competition_layers``): one
column of panels per hidden layer, then one for the network: the mean distinct units
of the layer (colour, out of K) with the share of seeds redundant / specialised /
collapsed written in each cell, the mean largest |cos| between its units, and the mean
loss and accuracy.
"""

from __future__ import annotations

import numpy as np

from .style import DOUBLE_COLUMN, SEQUENTIAL_CMAP, house_style, new_figure

# The image artists' ids, one per quantity (tests find panels by them).
DISTINCT_GID, COS_GID, LOSS_GID, ACCURACY_GID = "distinct", "max_abs_cos", "loss", "accuracy"
# Below this share of the colour range, cell text is white (it sits on a dark colour).
DARK_SHARE = 0.45


def _grid(summary: dict, value) -> np.ndarray:
    """``[first, second]`` of ``value(pair)`` (NaN where None)."""
    rows, cols = summary["first"], summary["second"]
    out = np.full((len(rows), len(cols)), np.nan)
    for pair in summary["pairs"]:
        found = value(pair)
        if found is not None:
            out[rows.index(pair["first"]), cols.index(pair["second"])] = found
    return out


def _phase_note(summary: dict, layer: int) -> np.ndarray:
    rows, cols = summary["first"], summary["second"]
    out = np.full((len(rows), len(cols)), "", dtype=object)
    for pair in summary["pairs"]:
        share = pair["layers"][layer]["phase_fraction"]
        out[rows.index(pair["first"]), cols.index(pair["second"])] = "/".join(
            f"{100 * share[p]:.0f}" for p in ("redundant", "specialised", "collapsed")
        )
    return out


def _heatmap(ax, values, lo, hi, gid, title, summary, notes=None, fmt="{:.2f}", rows=True):
    image = ax.imshow(
        values, cmap=SEQUENTIAL_CMAP, vmin=lo, vmax=hi, origin="upper", aspect="auto", gid=gid
    )
    for (i, j), v in np.ndenumerate(values):
        text = "diverged" if not np.isfinite(v) else fmt.format(v)
        if notes is not None:
            text += "\n" + notes[i, j]
        dark = np.isfinite(v) and (v - lo) < DARK_SHARE * (hi - lo)
        ax.text(j, i, text, ha="center", va="center", fontsize=6,
                color="white" if dark else "black")  # fmt: skip
    ax.set_title(title)
    second = ["(none)" if s is None else s for s in summary["second"]]
    ax.set_xticks(range(len(second)), second, rotation=20, ha="right")
    ax.set_xlabel("second layer")
    if rows:  # the first-layer designs name the rows of the leftmost column only
        ax.set_yticks(range(len(summary["first"])), summary["first"])
        ax.set_ylabel("first layer")
    else:
        ax.set_yticks(range(len(summary["first"])), [])
    return image


def depth_figure(summary: dict, title: str | None = None):
    """The panels described in the module docstring, from ``summary``."""
    if not summary["pairs"]:
        raise ValueError("depth_figure needs at least one pair")
    layers = len(summary["pairs"][0]["layers"])
    k = summary["settings"]["n_hidden"]
    cols = layers + 1
    with house_style():
        fig = new_figure(DOUBLE_COLUMN * (0.42 + 0.29 * cols), 1.0 + 2.2 * 2)
        axes = fig.subplots(2, cols, squeeze=False)
        for layer in range(layers):
            distinct = _grid(summary, lambda p, m=layer: p["layers"][m]["n_distinct_mean"])
            image = _heatmap(
                axes[0, layer], distinct, 0, k, DISTINCT_GID,
                f"layer {layer + 1}: distinct units (of {k});\n% of seeds R/S/C",
                summary, _phase_note(summary, layer), "{:.1f}", layer == 0,
            )  # fmt: skip
            if layer == layers - 1:
                fig.colorbar(image, ax=axes[0, :layers], shrink=0.8, label="distinct units")
            cos = _grid(summary, lambda p, m=layer: p["layers"][m]["max_abs_cos_mean"])
            image = _heatmap(
                axes[1, layer],
                cos,
                0,
                1,
                COS_GID,
                f"layer {layer + 1}: largest |cos|",
                summary,
                rows=layer == 0,
            )
            if layer == layers - 1:
                fig.colorbar(image, ax=axes[1, :layers], shrink=0.8, label="|cos|")
        loss = _grid(summary, lambda p: p["loss_mean"])
        finite = loss[np.isfinite(loss)]
        _heatmap(
            axes[0, -1], loss, 0, float(finite.max()) if finite.size else 1.0, LOSS_GID,
            "loss (mean over seeds)", summary, fmt="{:.3f}", rows=False,
        )  # fmt: skip
        accuracy = _grid(summary, lambda p: p.get("accuracy_mean"))
        _heatmap(axes[1, -1], accuracy, 0, 1, ACCURACY_GID, "accuracy (mean)", summary, rows=False)
        s = summary["settings"]
        fig.suptitle(
            title
            or f"competition depth: {s['task']}, K = {k} per layer, {s['seeds']} seeds, "
            f"{s['train']['steps']} steps; R redundant, S specialised, C collapsed"
        )
    return fig
