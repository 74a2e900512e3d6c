"""Competition in a hidden layer (the ``competition`` and ``prototypes`` families): the
phase diagram over temperature τ × volume strength λ, and the comparison across
activations.

:func:`competition_diagram` draws, over λ (x, linear) and τ (y, log scale), seven panels
and a colour key, from :func:`summaries.competition_summary.diagram_arrays`:

1. the majority phase: the phase most of a cell's seeds have
   (``summaries.majority_phase``), not the best seed's, which flickers between
   neighbouring cells wherever the seeds split (speckle; the best-of-N phase stays in
   ``summary.json``).  Hue is the phase (Okabe–Ito orange = redundant, blue = specialised,
   reddish purple = collapsed); lightness is the share of seeds in it: full colour when
   every seed agrees, palest at a three-way split (1/3), so a boundary shows as a pale
   band where the seeds' balance tips.  A discrete phase with its agreement rather than a
   continuous order parameter: the rule is three-way (redundant, specialised, collapsed)
   and no one number orders all three;
2. the fraction of seeds redundant; 3. the fraction of seeds collapsed;
4. the mean effective units exp H(p̄) (1 to K); 5. the mean distinct share;
6. the mean largest |cos| between unit rows; 7. the mean dead fraction;
8. the key of panel 1: each phase's colour against the share of seeds in it.

For the ``annealing`` task the theory's critical temperature τ_c = 2 λ_max(Σ_x)
(``analytics.annealing_theory``, ``summaries.competition_summary.critical_temperature``) is drawn
over every panel, with a ±10 % band.

:func:`comparison_figure` draws one small panel per quantity (loss, max |cos|, effective
rank, usage entropy, dead fraction, distinct units) with one horizontal bar per
activation, coloured by its best-of-N phase; the loss panel notes the share of seeds in
that phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from summaries.competition_summary import BAND, DIAGRAM_AXES, diagram_arrays
from summaries.run_settings import run_setting
from toymodels.phases.base import DIVERGED

from ._layout import linear_edges, log_axis, log_edges
from .style import (
    DIVERGED_KEY,
    DOUBLE_COLUMN,
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    house_style,
    new_figure,
)

if TYPE_CHECKING:
    import xarray as xr

PHASES = ("redundant", "specialised", "collapsed")
# Three Okabe–Ito hues far apart in hue and in lightness, so they stay apart when panel 1
# pales them (orange/vermillion or blue/bluish green would merge once pale).
PHASE_COLOURS = {
    "redundant": OKABE_ITO["orange"],
    "specialised": OKABE_ITO["blue"],
    "collapsed": OKABE_ITO["reddish_purple"],
}
COLOUR_NAMES = {"redundant": "orange", "specialised": "blue", "collapsed": "purple"}
# Mixing towards white at the lowest agreement; at most 0.7 so the palest cell still shows
# its hue (and differs from the white background).
PALEST = 0.7
# The smallest share of seeds a majority phase can have: a three-way split.
LEAST_MAJORITY = 1.0 / 3.0
CRITICAL_GID = "critical_temperature"
BAND_GID = "critical_band"
# The λ axis's meaning depends on the volume control (short: four panels share a row).
VOLUME_LABELS = {
    "none": "volume strength λ",
    "entropy": "usage-entropy bonus λ",
    "anneal": "annealing strength λ",
    "weightnorm": "normalisation exponent λ",
    "gain_norm": "gain pull λ",
    "learned_tau": "speed of log τ, λ",
    "batchnorm": "batch-norm share λ",
    "logdet": "log-det bonus λ",
    "orthogonality": "orthogonality λ",
    "dropout": "dropout rate λ",
    "revival": "revival share λ",
}
TEMPERATURE_LABEL = "temperature τ"
# Comparison panels: (row key, panel title with units).
QUANTITIES = (
    ("loss", "task loss (best seed)"),
    ("max_abs_cos", "max |cos| between units"),
    ("effective_rank", "effective rank of the rows"),
    ("usage_entropy", "usage entropy H(p̄) (nats)"),
    ("dead_fraction", "dead fraction of units"),
    ("n_distinct", "distinct alive units"),
)
TASK_TEXT = {
    "clusters": "{n_clusters} clusters",
    "annealing": "{n_clusters} clusters (free energy)",
    "features": "{n_features} sparse features",
}


def run_title(ds: xr.Dataset) -> str:
    """What was trained, in a few words: ``8 softmax units on 2 clusters``."""
    units = ds.sizes["unit"]
    text = TASK_TEXT.get(ds.attrs.get("task"), str(ds.attrs.get("task")))
    task = text.format(
        n_clusters=run_setting(ds, "n_clusters") if "cluster" in text else 0,
        n_features=run_setting(ds, "n_features"),
    )
    if "activation" in ds.dims:
        return f"{units} units on {task}: activations compared"
    return f"{units} {run_setting(ds, 'activation')} units on {task}"


def agreement_strength(share: np.ndarray) -> np.ndarray:
    """A majority's share of seeds ``[1/3, 1]`` mapped onto ``[0, 1]`` for :func:`phase_rgb`."""
    share = np.asarray(share, float)
    return (share - LEAST_MAJORITY) / (1.0 - LEAST_MAJORITY)


def phase_rgb(phases: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Panel 1's colours ``[...] -> [..., 3]``: the phase's hue, mixed towards white by
    ``PALEST·(1 − share)``, ``share`` in [0, 1] (see module docstring); unknown phases and
    NaN are white."""
    from matplotlib.colors import to_rgb

    phases = np.asarray(phases, str)
    share = np.asarray(share, float)
    base = np.ones((*phases.shape, 3))
    for name, colour in PHASE_COLOURS.items():
        base[phases == name] = to_rgb(colour)
    pale = (PALEST * (1.0 - np.clip(np.nan_to_num(share, nan=1.0), 0.0, 1.0)))[..., None]
    rgb = base + (1.0 - base) * pale
    return np.where(np.isfinite(share)[..., None], rgb, 1.0)


def _fraction_cmap(colour: str):
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(f"to_{colour}", ["#FFFFFF", colour])


def _with_volume_axis(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with both diagram axes (a run without a λ axis gets its one value)."""
    if "temperature" not in ds.dims:
        raise ValueError("a competition diagram needs a temperature axis")
    if "volume_strength" not in ds.dims:
        ds = ds.expand_dims(volume_strength=[float(run_setting(ds, "volume_strength"))])
    return ds


def _temperature_axis(ax, lo: float, hi: float) -> None:
    """Log τ axis from ``lo`` to ``hi``; a range of under two decades is also labelled at
    2× and 5× (one decade tick alone does not tell a reader the scale)."""
    from matplotlib.ticker import FixedLocator

    log_axis(ax, "y", lo, hi)
    if np.log10(hi / lo) < 2:
        decades = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
        ticks = np.outer(decades, [1, 2, 5]).ravel()
        ax.yaxis.set_major_locator(FixedLocator(ticks[(ticks >= lo) & (ticks <= hi)]))


def _free_height(y_edges: np.ndarray, tau_c: float | None) -> float:
    """A height (axes fraction) for a note that keeps clear of the τ_c line."""
    if tau_c is None:
        return 0.5
    lo, hi = np.log(y_edges[0]), np.log(y_edges[-1])
    return 0.25 if (np.log(tau_c) - lo) / (hi - lo) > 0.5 else 0.75


def _draw_critical(ax, tau_c: float) -> None:
    from matplotlib import patheffects

    ax.axhspan(
        tau_c * (1 - BAND), tau_c * (1 + BAND), facecolor="none", edgecolor="black",
        hatch="////", linewidth=0, alpha=0.35, gid=BAND_GID,
    )  # fmt: skip
    # Black with a white halo: visible on the darkest and the palest cells alike.
    ax.axhline(
        tau_c, color="black", lw=1.0, ls="--", gid=CRITICAL_GID,
        path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")],
    )  # fmt: skip


def _key(ax) -> None:
    """Panel 8: each phase's colour (rows) against the share of seeds in it (x)."""
    shares = np.linspace(LEAST_MAJORITY, 1.0, 41)
    strength = agreement_strength(shares)
    rgb = phase_rgb(np.array(PHASES)[:, None].repeat(shares.size, 1), strength[None, :])
    extent = (LEAST_MAJORITY, 1, len(PHASES) - 0.5, -0.5)
    ax.imshow(rgb, aspect="auto", extent=extent, origin="upper")
    # Names inside the ramps, not as tick labels: long labels would squeeze the column.
    for i, p in enumerate(PHASES):
        ax.text((1 + LEAST_MAJORITY) / 2, i, p, ha="center", va="center", fontsize=7)
    ax.set_yticks([])
    ax.set_xticks([LEAST_MAJORITY, 2 / 3, 1], ["⅓", "⅔", "1"])
    ax.set_xlabel("share of seeds in the phase")
    ax.set_title("key to panel 1:\nphase × seeds agreeing")
    for spine in ax.spines.values():
        spine.set_visible(False)


def competition_diagram(ds: xr.Dataset, title: str = "", critical_temperature: float | None = None):
    """The phase diagram of one τ × λ sweep of a competing layer (see module
    docstring); ``critical_temperature`` draws τ_c over every panel."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ds = _with_volume_axis(ds)
    data = diagram_arrays(ds)  # [temperature, volume_strength]
    units = ds.sizes["unit"]
    tau, lam = (ds[a].values.astype(float) for a in DIAGRAM_AXES)
    x_edges = linear_edges(lam)
    y_edges = log_edges(tau)
    seq = {"cmap": SEQUENTIAL_CMAP, "vmin": 0.0, "vmax": 1.0}
    panels = [
        (
            "majority phase of the seeds\nlightness: share of seeds",
            phase_rgb(data["majority_phase"], agreement_strength(data["majority_share"])),
            None,
            None,
        ),
        (
            "fraction of seeds\nredundant",
            data["fraction_redundant"],
            {"cmap": _fraction_cmap(PHASE_COLOURS["redundant"]), "vmin": 0, "vmax": 1},
            "share of seeds",
        ),
        (
            "fraction of seeds\ncollapsed",
            data["fraction_collapsed"],
            {"cmap": _fraction_cmap(PHASE_COLOURS["collapsed"]), "vmin": 0, "vmax": 1},
            "share of seeds",
        ),
        (
            "effective units\nexp H(p̄) (mean)",
            data["mean_effective_units"],
            {**seq, "vmin": 1.0, "vmax": float(units)},
            "units",
        ),
        ("distinct / alive\nunits (mean)", data["mean_distinct_share"], seq, "share"),
        ("max |cos| between\nunits (mean)", data["mean_max_abs_cos"], seq, "|cos|"),
        ("dead fraction\nof units (mean)", data["mean_dead_fraction"], seq, "share of units"),
    ]
    volume = str(run_setting(ds, "volume"))
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 4.4)
        grid = fig.subplots(2, 4)
        axes = list(grid.flat)
        for ax, (name, values, style, unit) in zip(axes, panels, strict=False):
            # The arrays are [temperature, volume_strength] = [y, x], as pcolormesh wants.
            if style is None:  # RGB cells [y, x, 3]
                mesh = ax.pcolormesh(x_edges, y_edges, values)
            else:
                mesh = ax.pcolormesh(x_edges, y_edges, np.asarray(values, float), **style)
                bar = fig.colorbar(mesh, ax=ax, fraction=0.08, pad=0.03)
                bar.set_label(unit, labelpad=1)
                if name.startswith("effective units"):  # whole units only
                    bar.set_ticks(sorted({1, max(1, units // 2), units}))
            ax.set_title(name)
            _temperature_axis(ax, float(y_edges[0]), float(y_edges[-1]))
            if name.startswith("fraction") and not np.nanmax(values, initial=0.0) > 0:
                # An all-white panel reads as missing data; say that it is zero.
                phase = name.split("\n")[-1]
                ax.text(0.5, _free_height(y_edges, critical_temperature), f"no seed {phase}",
                        transform=ax.transAxes, ha="center", va="center", fontsize=7,
                        color="0.35")  # fmt: skip
            ax.set_xlim(x_edges[0], x_edges[-1])
            if lam.size == 1:
                ax.set_xticks(lam)
            if critical_temperature is not None:
                _draw_critical(ax, critical_temperature)
        for ax in axes[:7]:
            ax.set_ylabel(TEMPERATURE_LABEL if ax in (grid[0, 0], grid[1, 0]) else "")
            ax.set_xlabel(
                # a list of controls ("anneal+entropy"): the λ axis is the first one's
                VOLUME_LABELS.get(volume.split("+")[0], f"{volume} strength λ")
                if ax in grid[1]
                else ""
            )
            if ax not in (grid[0, 0], grid[1, 0]):
                ax.tick_params(labelleft=False)
            if ax in grid[0]:
                ax.tick_params(labelbottom=False)
        _key(axes[7])
        handles = [Patch(color=PHASE_COLOURS[p], label=f"{p} ({COLOUR_NAMES[p]})") for p in PHASES]
        if critical_temperature is not None:
            handles.append(
                Line2D(
                    [],
                    [],
                    color="black",
                    ls="--",
                    lw=1.0,
                    label=f"τ_c (theory) = {critical_temperature:.3g}",
                )
            )
            handles.append(
                Patch(
                    facecolor="none",
                    edgecolor="black",
                    hatch="////",
                    lw=0,
                    label=f"τ_c ± {BAND:.0%}",
                )
            )
        if (data["majority_phase"] == DIVERGED).any():
            handles.append(Patch(facecolor="white", edgecolor="0.6", label=DIVERGED_KEY))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        if title:
            fig.suptitle(title)
    return fig


def comparison_figure(rows: list[dict], title: str = "", n_units: int | None = None):
    """Small multiples across activations (``rows`` from
    :func:`summaries.competition_summary.compare_rows`, drawn top to bottom in their order):
    one panel per quantity, one bar per activation coloured by its best-of-N phase.
    ``n_units`` (K) marks log K, the largest usage entropy, and K distinct units."""
    from matplotlib.patches import Patch

    if not rows:
        raise ValueError("no rows to compare")
    names = [r["activation"] for r in rows]
    y = np.arange(len(rows))
    colours = [PHASE_COLOURS.get(r["phase"], "#777777") for r in rows]
    with house_style():
        fig = new_figure(DOUBLE_COLUMN, 1.2 + 0.42 * len(rows))
        grid = fig.subplots(2, 3, sharey=True)
        for ax, (key, name) in zip(grid.flat, QUANTITIES, strict=True):
            # A diverged row's numbers are NaN (null in JSON) or an infinite loss: no bar.
            values = np.array([np.nan if r[key] is None else float(r[key]) for r in rows])
            finite = np.isfinite(values)
            ax.barh(y, np.where(finite, values, 0.0), color=colours, height=0.7, gid=key)
            ax.set_title(name)
            ax.set_yticks(y, names)
            ax.set_ylim(len(rows) - 0.5, -0.5)  # first row at the top
            ax.tick_params(axis="y", length=0)
            top = float(np.max(values[finite], initial=0.0))
            if key == "usage_entropy" and n_units:
                ax.axvline(np.log(n_units), color="black", lw=0.8, ls=":")
                top = max(top, np.log(n_units))
                ticks = [t for t in range(int(np.log(n_units))) if np.log(n_units) - t > 0.5]
                ax.set_xticks(
                    [*ticks, np.log(n_units)], [*map(str, ticks), f"log K = {np.log(n_units):.2f}"]
                )
            if key == "n_distinct" and n_units:
                ax.axvline(n_units, color="black", lw=0.8, ls=":")
                ax.set_title(f"{name} (dotted: K)")
                top = max(top, n_units)
            if not np.any(values[finite]) and finite.any():  # no bars reads as missing data
                ax.text(0.5, 0.5, "0 for every activation", transform=ax.transAxes,
                        ha="center", va="center", fontsize=7, color="0.35")  # fmt: skip
            if key in ("max_abs_cos", "dead_fraction"):
                top = 1.0
            if key == "loss":
                # The share of seeds in the row's phase: how typical the best seed is.
                for yi, v, r, ok in zip(y, values, rows, finite, strict=True):
                    share = r.get("phase_fraction", {}).get(r["phase"], np.nan)
                    note = f" {v:#.3g} · {share:.0%}" if ok else f" {r['phase']} · {share:.0%}"
                    ax.text(v if ok else 0.0, yi, note, va="center", ha="left", fontsize=6)
                top *= 1.6  # room for the notes
            ax.set_xlim(0, top * 1.05 if top > 0 else 1.0)
        handles = [Patch(color=PHASE_COLOURS[p], label=f"{p} ({COLOUR_NAMES[p]})") for p in PHASES]
        fig.legend(
            handles=handles, loc="outside lower center", ncols=len(handles),
            title="bar colour: best-of-N phase; beside the loss bars: its value · share of "
            "seeds in that phase",
        )  # fmt: skip
        if title:
            fig.suptitle(title)
    return fig
