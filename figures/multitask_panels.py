"""Multi-task mixed selectivity: two-layer networks and gated deep linear networks (GDLN)
on the contextual task (8 objects in K contexts, sample ``p`` = object ``p % 8`` in
context ``p // 8``), beside the closed-form learning dynamics of ``analytics.mode_dynamics``
(``summaries.multitask_summary.prediction_for``).

- :func:`loss_curves`: ½·Σ squared error against epochs per run (mean over seeds, band
  from the lowest to the highest seed), log scale, with the linear network's closed form
  dashed and, given, the ReLN's closed form (``summaries.reln_closed_form``) dash-dotted;
- :func:`mode_trajectories`: each theory mode's strength over training (every seed),
  with its closed form dashed in the same colour: modes are learned in order of s;
- :func:`census_bars`: how many strong hidden units serve all contexts, a subset, or a
  single context (bars the mean, points the seeds);
- :func:`mds_snapshots`: classical MDS of the hidden representations of the 8K samples
  at a few epochs (colour = context, digit = object);
- :func:`pathway_strengths`: the top singular value of every GDLN pathway over training
  (single-context pathways dashed): which pathways win the race to fit the task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from summaries.run_settings import run_setting, spec_table
from toymodels.contextual_data import OBJECTS

from ._layout import log_axis
from .intro_2d import feature_colours
from .style import DOUBLE_COLUMN, OKABE_ITO, SINGLE_COLUMN, house_style, new_figure

if TYPE_CHECKING:
    import xarray as xr

    from summaries.multitask_summary import ModePrediction

MEAN_GID, SEED_GID, BAND_GID, THEORY_GID = "mean", "seed", "seed_range", "closed_form"
RELN_GID = "reln_closed_form"
RELN_LABEL = "closed form (ReLN)"
BARS_GID, POINTS_GID, MDS_GID = "census_bars", "census_seeds", "mds"
THEORY_LABEL = "closed form (linear theory)"
# Yellow is left out: thin yellow lines vanish on white.
COLOURS = [
    OKABE_ITO[k]
    for k in ("blue", "vermillion", "bluish_green", "reddish_purple", "orange", "sky_blue")
]
FAMILY_NAMES = {"contextual_relu": "ReLU", "contextual_linear": "linear", "gdln": "GDLN"}
CENSUS = {"units_all": "all contexts", "units_subset": "subset", "units_single": "one context"}
SNAPSHOTS = 4
THEORY_POINTS = 400


def _epochs(ds) -> np.ndarray:
    return np.asarray(ds["step"].values, float)


def _kept(ds) -> np.ndarray:
    """``[seed]``: the seeds that did not diverge (all, for data without the results'
    ``diverged`` flag).  A diverged seed's numbers are NaN or infinite, so every figure
    draws the others and says how many it left out."""
    if "diverged" not in ds:
        return np.ones(ds.sizes["seed"], dtype=bool)
    return ~ds["diverged"].transpose("seed").values


def _diverged_note(ax, kept: np.ndarray) -> None:
    """Say on ``ax`` how many seeds diverged and were left out (nothing when none did)."""
    if kept.all():
        return
    if not kept.any():
        ax.text(0.5, 0.5, "every seed diverged", ha="center", va="center",
                transform=ax.transAxes, color="0.35")  # fmt: skip
        return
    ax.text(0.99, 0.98, f"{(~kept).sum()} of {kept.size} seeds diverged (not drawn)",
            ha="right", va="top", transform=ax.transAxes, fontsize=6, color="0.35")  # fmt: skip


def _seed_lines(ax, x, values: np.ndarray, colour, mean: bool = True, **style) -> None:
    """Every seed ``values [seed, time]`` as a thin line, and their mean on top."""
    for row in values:
        ax.plot(x, row, color=colour, lw=0.5, alpha=0.45, gid=SEED_GID, **style)
    if mean:
        ax.plot(x, values.mean(0), color=colour, lw=1.3, gid=MEAN_GID, **style)


def loss_curves(
    runs: Mapping[str, xr.Dataset],
    prediction: ModePrediction,
    reln: Mapping[str, Sequence[float]] | None = None,
):
    """Loss against epochs for each labelled run, with the closed form ``prediction``
    (``summaries.multitask_summary.prediction_for`` of a run) and, given, the ReLN's
    closed form ``reln = {"epoch": [...], "loss": [...]}``
    (``summaries.reln_closed_form.reln_closed_form`` of a ReLU run)."""
    if not runs:
        raise ValueError("loss_curves needs at least one run")
    with house_style():
        fig = new_figure(SINGLE_COLUMN + 0.6, 2.4)
        ax = fig.subplots()
        lo, hi, last = np.inf, 0.0, 0.0
        for (label, ds), colour in zip(runs.items(), _cycle(COLOURS, len(runs)), strict=True):
            x, loss = _epochs(ds), ds["loss_trajectory"].transpose("seed", "step").values
            kept = _kept(ds)
            last = max(last, x[-1])
            if not kept.all():
                label = f"{label} ({(~kept).sum()} of {kept.size} seeds diverged, not drawn)"
            if not kept.any():
                ax.plot([], [], color=colour, lw=1.3, label=label)
                continue
            loss = loss[kept]
            ax.fill_between(
                x, loss.min(0), loss.max(0), color=colour, alpha=0.2, lw=0, gid=BAND_GID
            )
            ax.plot(x, loss.mean(0), color=colour, lw=1.3, gid=MEAN_GID, label=label)
            positive = loss[(loss > 0) & np.isfinite(loss)]
            lo, hi = min(lo, positive.min(initial=lo)), max(hi, positive.max(initial=hi))
        t = np.linspace(0, last, THEORY_POINTS)
        theory = prediction.loss(t)
        ax.plot(t, theory, "--", color="black", lw=1.0, gid=THEORY_GID, label=THEORY_LABEL)
        if reln is not None:
            epoch, values = np.asarray(reln["epoch"], float), np.asarray(reln["loss"], float)
            ax.plot(epoch, values, "-.", color="dimgrey", lw=1.1, gid=RELN_GID, label=RELN_LABEL)
            theory = np.concatenate([theory, values])
        # Whole decades, so the plain-number labels of log_axis always have ticks to sit on.
        lo = 10 ** np.floor(np.log10(min(lo, theory[theory > 0].min(initial=lo))))
        log_axis(ax, "y", lo, 2 * max(hi, theory.max()))
        ax.set(xlim=(0, last), xlabel="epoch", ylabel="loss ½·Σ squared error")
        # Lower left stays empty: every loss starts high and falls.
        ax.legend(loc="lower left", handlelength=1.8)
    return fig


def _cycle(colours: Sequence[str], n: int) -> list[str]:
    return [colours[i % len(colours)] for i in range(n)]


def _legend_right(ax, **kw) -> None:
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), labelspacing=0.25, **kw)


def mode_trajectories(ds: xr.Dataset, prediction: ModePrediction):
    """Each mode's strength against epochs (every seed, thin) and its closed form (dashed)."""
    from matplotlib.lines import Line2D

    strength = ds["mode_strength_trajectory"].transpose("mode", "seed", "step").values
    if strength.shape[0] != len(prediction.s):
        raise ValueError(f"run has {strength.shape[0]} modes, prediction {len(prediction.s)}")
    kept = _kept(ds)
    strength = strength[:, kept]
    x = _epochs(ds)
    t = np.linspace(0, x[-1], THEORY_POINTS)
    theory = prediction.strength(t)
    colours = feature_colours(len(prediction.s))
    with house_style():
        fig = new_figure(DOUBLE_COLUMN * 0.7, 2.6)
        ax = fig.subplots()
        handles = []
        for k, colour in enumerate(colours):
            _seed_lines(ax, x, strength[k], colour, mean=False)
            ax.plot(t, theory[:, k], "--", color=colour, lw=0.9, gid=THEORY_GID)
            handles.append(
                Line2D([], [], color=colour, lw=1.5, label=f"{k}: {prediction.s[k]:.3g}")
            )
        handles += [
            Line2D([], [], color="grey", lw=0.8, label="trained (each seed)"),
            Line2D([], [], color="grey", lw=0.9, ls="--", label="closed form"),
        ]
        ax.set(xlim=(0, x[-1]), xlabel="epoch", ylabel="mode strength $a_\\alpha$")
        _diverged_note(ax, kept)
        _legend_right(ax, handles=handles, title="mode α: s")
    return fig


def census_bars(ds: xr.Dataset):
    """Strong units per category: the mean over seeds as bars, each seed as a point."""
    missing = [k for k in CENSUS if k not in ds]
    if missing:
        raise ValueError(f"census_bars needs {missing} (a contextual_relu/linear run)")
    k = int(run_setting(ds, "n_contexts"))
    names = dict(CENSUS, units_subset=f"subset\n(2{f'–{k - 1}' if k > 3 else ''} contexts)")
    kept = _kept(ds)
    counts = np.stack([ds[v].transpose("seed").values for v in CENSUS])[:, kept]  # [category, seed]
    with house_style():
        fig = new_figure(SINGLE_COLUMN * 0.75, 2.2)
        ax = fig.subplots()
        where = np.arange(len(CENSUS))
        mean = counts.mean(1) if kept.any() else np.zeros(len(CENSUS))
        ax.bar(where, mean, width=0.65, color=COLOURS[:3], alpha=0.75, gid=BARS_GID)
        # Spread the seeds sideways so equal counts stay visible as separate points.
        drawn = counts.shape[1]
        jitter = np.linspace(-0.15, 0.15, drawn) if drawn > 1 else np.zeros(drawn)
        seeds = (where[:, None] + jitter).ravel(), counts.ravel()
        ax.scatter(*seeds, s=9, color="black", zorder=3, gid=POINTS_GID, clip_on=False)
        ax.set_xticks(where, [names[v] for v in CENSUS])
        ax.set_ylabel("strong units")
        family = spec_table(ds).get("family", ds.attrs.get("family", ""))
        units = int(run_setting(ds, "n_hidden"))
        ax.set_title(f"{FAMILY_NAMES.get(family, family)}, {units} units (points: seeds)")
        ax.set_ylim(0, counts.max(initial=0) * 1.1 + 1)
        _diverged_note(ax, kept)
    return fig


def classical_mds(distances) -> np.ndarray:
    """Classical (Torgerson) MDS: ``[n, n]`` Euclidean distances -> ``[n, 2]`` coordinates,
    each axis signed so its largest-magnitude coordinate is positive."""
    return _mds(distances)[0]


def _mds(distances) -> tuple[np.ndarray, float]:
    """:func:`classical_mds` and the fraction of the (positive) variance its 2 axes keep."""
    d2 = np.asarray(distances, float) ** 2
    n = d2.shape[0]
    centre = np.eye(n) - np.full((n, n), 1.0 / n)
    evals, evecs = np.linalg.eigh(-0.5 * centre @ d2 @ centre)
    top = np.argsort(evals)[::-1][:2]
    # Negative eigenvalues (distances not exactly Euclidean) carry no 2-D geometry.
    kept = np.clip(evals[top], 0.0, None)
    coords = evecs[:, top] * np.sqrt(kept)
    sign = np.sign(coords[np.abs(coords).argmax(0), [0, 1]])
    total = np.clip(evals, 0.0, None).sum()
    return coords * np.where(sign == 0, 1.0, sign), float(kept.sum() / total) if total else 1.0


def _snapshot_steps(steps: np.ndarray, n: int) -> list[int]:
    """``n`` recorded steps log-spaced from the first after 0 to the last: the modes are
    learned over a time span of about a decade, each stage visible in its own panel."""
    later = steps[steps > 0]
    if later.size == 0:
        return [int(steps[-1])]
    wanted = np.geomspace(later[0], later[-1], n)
    picked = [int(later[np.abs(np.log(later) - np.log(w)).argmin()]) for w in wanted]
    return list(dict.fromkeys(picked))


def _align(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``x`` rotated/reflected (orthogonal Procrustes) to best match ``reference``."""
    u, _, vt = np.linalg.svd(x.T @ reference)
    return x @ (u @ vt)


def mds_snapshots(ds: xr.Dataset, steps: Sequence[int] | None = None, seed: int | None = None):
    """Classical MDS of the hidden distances of ``seed`` (default: the first seed that did
    not diverge) at ``steps`` (default: 4 log-spaced, the last included), one panel each.
    MDS fixes a geometry only up to rotation and reflection, so each panel is aligned to
    the next one (the last keeps :func:`classical_mds`'s).  A step whose distances are not
    finite (the seed had diverged by then) has an empty panel that says so."""
    from matplotlib.lines import Line2D
    from matplotlib.markers import MarkerStyle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    alive = _kept(ds)
    if seed is None:
        seed = int(np.flatnonzero(alive)[0]) if alive.any() else 0
    run = ds["hidden_distance_trajectory"].sel(seed=seed)
    steps = _snapshot_steps(_epochs(ds), SNAPSHOTS) if steps is None else [int(s) for s in steps]
    found = []
    for s in steps:
        distances = run.sel(step=s).values
        found.append(_mds(distances) if np.isfinite(distances).all() else (None, None))
    coords, kept = map(list, zip(*found, strict=True))
    for i in reversed(range(len(coords) - 1)):
        if coords[i] is not None and coords[i + 1] is not None:
            coords[i] = _align(coords[i], coords[i + 1])
    n = run.sel(step=steps[0]).shape[0]
    obj, ctx = np.arange(n) % OBJECTS, np.arange(n) // OBJECTS
    colours = np.array(_cycle(COLOURS, int(ctx.max()) + 1))
    with house_style():
        # Each digit's marker is typeset (mathtext) once, not once per panel.
        digits = [MarkerStyle(f"${o}$") for o in range(OBJECTS)]
        fig = new_figure(DOUBLE_COLUMN, 2.25)
        axes = fig.subplots(1, len(steps), squeeze=False)[0]
        for ax, step, xy, frac in zip(axes, steps, coords, kept, strict=True):
            if xy is None:
                ax.text(0.5, 0.5, "not finite:\ndiverged", ha="center", va="center",
                        transform=ax.transAxes, color="0.35")  # fmt: skip
                ax.set(xticks=[], yticks=[], aspect="equal", title=f"epoch {step}")
                continue
            for o in range(OBJECTS):
                mine = obj == o
                ax.scatter(
                    *xy[mine].T, marker=digits[o], s=20, c=colours[ctx[mine]], lw=0.3, gid=MDS_GID
                )
            span = np.abs(xy).max() * 1.15 or 1.0
            ax.set(xlim=(-span, span), ylim=(-span, span), aspect="equal")
            for axis in (ax.xaxis, ax.yaxis):
                # Few, short labels: early representations span only ~1e-4.
                axis.set_major_locator(MaxNLocator(3, symmetric=True))
                axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
            ax.tick_params(labelsize=6)
            ax.set_title(f"epoch {step}\n({frac:.0%} of variance in 2-D)")
        handles = [
            Line2D([], [], ls="", marker="s", color=c, label=f"context {k + 1}")
            for k, c in enumerate(colours)
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=len(colours),
            title=f"hidden representations, classical MDS (seed {seed}"
            f"{'' if alive[seed] else ', diverged'}); digit = object",
        )
    return fig


def pathway_strengths(ds: xr.Dataset):
    """Top singular value of each GDLN pathway over epochs: mean over seeds, seeds thin;
    single-context pathways dashed."""
    from toymodels.families.gdln import gate_sets, pathway_names

    k, gating = int(run_setting(ds, "n_contexts")), run_setting(ds, "gating")
    masks = run_setting(ds, "masks")
    names, sets = pathway_names(k, gating, masks), gate_sets(k, gating, masks)
    top = ds["pathway_singular_values_trajectory"].isel(singular=0)
    top = top.transpose("pathway", "seed", "step").values
    if top.shape[0] != len(names):
        raise ValueError(f"run has {top.shape[0]} pathways, {gating} gating {len(names)}")
    kept = _kept(ds)
    top = top[:, kept]
    x = _epochs(ds)
    colours = ["black", *_cycle(COLOURS, len(sets))]
    with house_style():
        fig = new_figure(DOUBLE_COLUMN * 0.7, 2.6)
        ax = fig.subplots()
        for p, (name, colour) in enumerate(zip(names, colours, strict=True)):
            single = p > 0 and len(sets[p - 1]) == 1
            if not kept.any():
                ax.plot([], [], color=colour, ls="--" if single else "-", label=name)
                continue
            _seed_lines(ax, x, top[p], colour, ls="--" if single else "-")
            # Pathways serving equally many contexts can end on top of each other: the
            # final value in the legend tells a hidden line from a missing one.
            ax.lines[-1].set_label(f"{name}: {top[p, :, -1].mean():.2f}")
        ax.set(xlim=(0, x[-1]), ylim=(0, None), xlabel="epoch")
        _diverged_note(ax, kept)
        ax.set_ylabel("top singular value of pathway")
        _legend_right(ax, title="pathway: final value\n(dashed: one context)")
    return fig
