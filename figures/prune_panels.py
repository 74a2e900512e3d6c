"""Pruning and width of a layer of units (``toymodels competition prune`` and ``width``).

:func:`pruning_figure` draws, from :func:`summaries.prune_summary.prune_summary`, one
panel per removal order: the task loss (mean over seeds) against the fraction of units
kept, one line per activation, with the read-out bias's loss (every unit removed) as a
dotted line.  ReLU and softmax, the two the question is about, are drawn thick.

:func:`width_figure` draws, from :func:`summaries.width_summary.width_summary`, the loss
and the distinct units against the width K (log₂ axis), one line per layer with each
seed's value as a dot; the reference layer's loss at its largest K is a dotted line.
"""

from __future__ import annotations

import numpy as np

from summaries.prune_summary import ORDERS

from .style import DOUBLE_COLUMN, OKABE_ITO, house_style, new_figure

# ReLU black and softmax vermillion (the question's pair), the others in the remaining
# Okabe–Ito colours (yellow last: it is faint on white), then grey.
_LEAD = {"relu": OKABE_ITO["black"], "softmax": OKABE_ITO["vermillion"]}
_OTHERS = [OKABE_ITO[c] for c in ("blue", "orange", "bluish_green", "reddish_purple",
                                  "sky_blue", "yellow")]  # fmt: skip
# Past the palette the colours come round again with square markers, so twelve
# activations stay apart (grey would merge them).
_MARKERS = ["o", "s", "^"]
_DASHES = ["-", "--", "-.", ":"]
ORDER_TITLES = {
    "usage": "least used removed first",
    "outgoing_norm": "smallest ‖W₂[:, k]‖ removed first",
}


def _styles(names: list[str]) -> dict[str, dict]:
    """Line style per name: the lead activations thick, the others thin and dashed."""
    out, other = {}, 0
    for i, name in enumerate(names):
        if name in _LEAD:
            out[name] = {"color": _LEAD[name], "lw": 2.0, "ls": "-", "zorder": 3, "marker": "o"}
            continue
        turn, place = divmod(other, len(_OTHERS))
        out[name] = {
            "color": _OTHERS[place],
            "lw": 1.0,
            "ls": _DASHES[i % len(_DASHES)],
            "zorder": 2,
            "marker": _MARKERS[turn % len(_MARKERS)],
        }
        other += 1
    return out


def _values(row) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in row])


def pruning_figure(summary: dict, title: str = ""):
    """Loss against the fraction of units kept, a panel per order (module docstring)."""
    activations = summary["activations"]
    if not activations:
        raise ValueError("no activations to draw")
    names = list(activations)
    styles = _styles(names)
    kept = np.asarray(summary["fraction_kept"], dtype=float)
    orders = [o for o in ORDERS if all(o in activations[a] for a in names)]
    bias = _values([activations[a]["bias_loss_mean"] for a in names])
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 3.0)
        axes = fig.subplots(1, len(orders), sharey=True, squeeze=False)[0]
        for ax, order in zip(axes, orders, strict=True):
            for name in names:
                loss = _values(activations[name][order]["loss_mean"])
                ax.plot(kept, loss, ms=2.5, label=name, gid=f"{order}:{name}",
                        **styles[name])  # fmt: skip
            if np.isfinite(bias).any():
                ax.axhline(float(np.nanmean(bias)), color="0.5", lw=0.8, ls=":", gid="bias")
            ax.set_title(ORDER_TITLES.get(order, order))
            ax.set_xlabel("fraction of units kept")
            ax.set_xlim(1.02, -0.02)  # from the whole layer (left) to none (right)
            ax.set_yscale("log")
        axes[0].set_ylabel("task loss (mean over seeds)")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center",
                   title="activation", fontsize=7)  # fmt: skip
        if title:
            fig.suptitle(f"{title}; dotted: the read-out bias alone")
    return fig


def width_figure(summary: dict, title: str = ""):
    """Loss and distinct units against the width K, one line per layer (module
    docstring)."""
    layers = summary["layers"]
    if not layers:
        raise ValueError("no layers to draw")
    colours = [OKABE_ITO["black"], OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["orange"]]
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 2.8)
        ax_loss, ax_units = fig.subplots(1, 2)
        for i, layer in enumerate(layers):
            colour = colours[i % len(colours)]
            width = np.asarray(layer["width"], dtype=float)
            ax_loss.plot(width, _values(layer["loss_mean"]), color=colour, marker="o",
                         label=layer["label"], gid=f"loss:{layer['label']}")  # fmt: skip
            for k, seeds in zip(width, layer["loss"], strict=True):
                ys = _values(seeds)
                ax_loss.scatter(np.full(ys.shape, k), ys, s=6, color=colour, alpha=0.4, lw=0)
            if "n_distinct_mean" in layer:
                ax_units.plot(width, _values(layer["n_distinct_mean"]), color=colour,
                              marker="o", label=f"{layer['label']}: distinct",
                              gid=f"distinct:{layer['label']}")  # fmt: skip
            if "effective_units_mean" in layer:
                ax_units.plot(width, _values(layer["effective_units_mean"]), color=colour,
                              ls="--", marker="s", ms=3, label=f"{layer['label']}: exp H(p̄)",
                              gid=f"effective:{layer['label']}")  # fmt: skip
        target = summary.get("reference_loss")
        if target is not None:
            ax_loss.axhline(target, color="0.5", lw=0.8, ls=":", gid="reference")
        for ax in (ax_loss, ax_units):
            ax.set_xscale("log", base=2)
            ticks = sorted({k for layer in layers for k in layer["width"]})
            ax.set_xticks(ticks, [str(k) for k in ticks])
            ax.set_xlabel("units K")
        ax_loss.set_yscale("log")
        ax_loss.set_ylabel("task loss (dots: seeds)")
        ax_loss.set_title(f"dotted: {summary['reference']} at K = {summary['reference_width']}")
        k_max = max(max(layer["width"]) for layer in layers)
        ax_units.plot([1, k_max], [1, k_max], color="0.7", lw=0.8, ls=":", gid="diagonal")
        ax_units.set_yscale("log", base=2)
        ax_units.set_ylabel("units (mean over seeds)")
        ax_units.set_title("distinct units and exp H(p̄); dotted: K")
        ax_loss.legend(fontsize=7)
        ax_units.legend(fontsize=6)
        if title:
            fig.suptitle(title)
    return fig
