"""The competition figures (``figures.competition_panels``) drawn from tiny runs of their
presets: what each panel shows, cell by cell, against the stored results."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import sweeps  # noqa: E402
from figures._layout import overlapping_texts  # noqa: E402
from figures.catalog import FIGURES  # noqa: E402
from figures.competition_panels import (  # noqa: E402
    BAND,
    BAND_GID,
    CRITICAL_GID,
    PALEST,
    PHASE_COLOURS,
    comparison_figure,
    competition_diagram,
)
from summaries.competition_summary import compare_rows, critical_temperature_of  # noqa: E402
from summaries.run_settings import spec_of  # noqa: E402

TINY = {"seeds": 2, "train.steps": 50}
GRID = {"axes.temperature.num": 3, "axes.volume_strength.num": 2}
DIAGRAM_TITLES = [
    "majority phase of the seeds\nlightness: share of seeds",
    "fraction of seeds\nredundant",
    "fraction of seeds\ncollapsed",
    "effective units\nexp H(p̄) (mean)",
    "distinct / alive\nunits (mean)",
    "max |cos| between\nunits (mean)",
    "dead fraction\nof units (mean)",
    "key to panel 1:\nphase × seeds agreeing",
]


def _run(tmp_path_factory, preset: str, **extra):
    out = tmp_path_factory.mktemp(preset)
    spec = sweeps.load_preset(preset).with_overrides({**TINY, **extra})
    return sweeps.run(spec, out, jobs=1)


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    return _run(tmp_path_factory, "competition-clusters", **GRID)


@pytest.fixture(scope="module")
def annealing(tmp_path_factory):
    return _run(tmp_path_factory, "competition-annealing", **GRID)


@pytest.fixture(scope="module")
def compare(tmp_path_factory):
    return _run(tmp_path_factory, "competition-compare-features")


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _rgb(colour) -> np.ndarray:
    return np.asarray(matplotlib.colors.to_rgb(colour))


def _majority(ds) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's phase most seeds have (a tie: the lowest-loss seed's) and the share of
    seeds in it, ``[temperature, λ]``, counted from the per-model phases."""
    ds = ds.transpose("temperature", "volume_strength", "seed", ...)
    per_model = ds["phase_model"].values.astype(str)
    best = ds["phase_model"].isel(seed=ds["loss"].argmin("seed")).values.astype(str)
    phase = np.empty(best.shape, object)
    share = np.zeros(best.shape)
    for idx in np.ndindex(best.shape):
        labels, counts = np.unique(per_model[idx], return_counts=True)
        top = labels[counts == counts.max()]
        phase[idx] = best[idx] if best[idx] in top else top[0]
        share[idx] = counts.max() / per_model[idx].size
    return phase, share


def test_diagram_panels_and_phase_cells(clusters):
    ds = clusters
    fig = competition_diagram(ds, "tiny")
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == DIAGRAM_TITLES
    # τ on y (log), λ on x; both axes as in the data.
    phase_ax = panels[0]
    assert phase_ax.get_yscale() == "log" and phase_ax.get_xscale() == "linear"
    (mesh,) = phase_ax.collections
    coords = mesh.get_coordinates()  # [y edge, x edge, (x, y)]
    assert coords.shape[:2] == (4, 3)  # 3 temperatures x 2 strengths
    centres = np.sqrt(coords[1:, 0, 1] * coords[:-1, 0, 1])
    np.testing.assert_allclose(centres, ds["temperature"].values, rtol=1e-9)
    np.testing.assert_allclose(
        (coords[0, 1:, 0] + coords[0, :-1, 0]) / 2, ds["volume_strength"].values, atol=1e-12
    )

    # Every cell: the majority phase's hue, paled by the share of seeds in it (from 1 at
    # unanimity to PALEST at a three-way split).
    phases, share = _majority(ds)
    drawn = np.asarray(mesh.get_array())  # [τ, λ, rgb]
    assert drawn.shape == (3, 2, 3)
    for i in range(3):
        for j in range(2):
            base = _rgb(PHASE_COLOURS[str(phases[i, j])])
            strength = (share[i, j] - 1 / 3) / (2 / 3)
            expected = base + (1 - base) * PALEST * (1 - strength)
            np.testing.assert_allclose(drawn[i, j], expected, atol=1e-6, err_msg=f"cell {i},{j}")
    assert len({tuple(np.round(_rgb(c), 3)) for c in PHASE_COLOURS.values()}) == 3

    # The fraction panel shows the stored fraction, cell for cell.
    redundant = ds["phase_fraction"].sel(phase="redundant")
    np.testing.assert_allclose(
        np.asarray(panels[1].collections[0].get_array()).reshape(3, 2),
        redundant.transpose("temperature", "volume_strength").values,
    )
    # Colour bars are labelled; no theory line for a task without one; labels apart.
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 6 and all(b.get_ylabel() for b in bars)
    assert critical_temperature_of(spec_of(ds)) is None
    assert not [a for ax in panels for a in ax.get_children() if a.get_gid() == CRITICAL_GID]
    assert overlapping_texts(fig) == []


def test_single_volume_strength_is_one_column(clusters):
    fig = competition_diagram(clusters.isel(volume_strength=0))
    (mesh,) = _panels(fig)[0].collections
    assert mesh.get_coordinates().shape[:2] == (4, 2)


def test_critical_temperature_line_at_the_theory_value(annealing):
    ds = annealing
    # Centres e1, e2 (separation 1), spread 0.3, equal weights: Σ_x has top eigenvalue
    # |e1 − e2|²/4 + 0.3² = 0.59, so τ_c = 2·0.59.
    tau_c = critical_temperature_of(spec_of(ds))
    assert tau_c == pytest.approx(1.18, rel=1e-12)
    fig = competition_diagram(ds, critical_temperature=tau_c)
    panels = _panels(fig)[:7]
    for ax in panels:
        (line,) = [a for a in ax.lines if a.get_gid() == CRITICAL_GID]
        np.testing.assert_allclose(line.get_ydata(), tau_c)
        (band,) = [p for p in ax.patches if p.get_gid() == BAND_GID]
        ys = band.get_patch_transform().transform(band.get_path().vertices)[:, 1]
        assert min(ys) == pytest.approx(tau_c * (1 - BAND))
        assert max(ys) == pytest.approx(tau_c * (1 + BAND))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("τ_c (theory)") for t in legend)

    # The value follows the run's mixture: centres (0,0), (3,0), spread 0.5 give
    # 2·(1.5² + 0.5²) = 5.
    moved = ds.copy()
    spec = json.loads(ds.attrs["spec"])
    spec["model"] |= {"centers": [[0.0, 0.0], [3.0, 0.0]], "spread": 0.5}
    moved.attrs = {**ds.attrs, "spec": json.dumps(spec)}
    assert critical_temperature_of(spec_of(moved)) == pytest.approx(5.0, rel=1e-12)


def test_catalog_draws_the_line_only_for_annealing(annealing, clusters):
    def lines(fig):
        return [a for ax in fig.axes for a in ax.lines if a.get_gid() == CRITICAL_GID]

    fig = FIGURES["competition-annealing"].build({"competition-annealing": annealing}, "default")
    assert len(lines(fig)) == 7
    fig = FIGURES["competition-clusters"].build({"competition-clusters": clusters}, "default")
    assert lines(fig) == []
    for name in ("clusters", "annealing", "features", "compare-clusters", "compare-features"):
        assert FIGURES[f"competition-{name}"].presets("default") == (f"competition-{name}",)


def test_hyperplanes_one_line_per_unit_and_duplicates_marked(tmp_path_factory):
    from summaries.hyperplane_layers import hyperplane_layers

    entry = FIGURES["competition-hyperplanes"]
    runs = entry.presets("default")
    assert runs == ("competition-compare-clusters", "competition-hyperplanes-volume")
    compare = _run(tmp_path_factory, runs[0], **{"axes.activation": ["relu", "softmax"]})
    volume = _run(tmp_path_factory, runs[1])
    fig = entry.build({runs[0]: compare, runs[1]: volume}, "default")
    panels = [ax for ax in _panels(fig) if ax.axison]
    assert len(panels) == 3  # relu, softmax, softmax + logdet
    layers = hyperplane_layers(compare) + hyperplane_layers(volume)
    assert [la.activation for la in layers] == ["relu", "softmax", "softmax"]
    assert [la.centred for la in layers] == [False, True, True]
    for ax, layer in zip(panels, layers, strict=True):
        assert ax.get_title().startswith(layer.activation)
        drawn = [ln for ln in ax.lines if ln.get_gid() in ("unit", "duplicate", "dead")]
        assert len(drawn) <= layer.W.shape[0]
        marks = [t for t in ax.texts if t.get_gid() == "duplicate_mark"]
        dup = [ln for ln in drawn if ln.get_gid() == "duplicate"]
        assert len(marks) == len(dup) <= int(layer.duplicated.sum())
        assert sum(ln.get_gid() == "dead" for ln in drawn) <= int((~layer.alive).sum())
        # 6 classes of 120 points each, one scatter per class
        assert len(ax.collections) == 6
    assert "logdet" in panels[2].get_title()


def test_hyperplane_groups_by_hand():
    from summaries.hyperplane_layers import _groups

    same = np.eye(4, dtype=bool)
    same[0, 2] = same[2, 0] = True
    alive = np.array([True, True, True, False])
    assert _groups(same, alive).tolist() == [0, 1, 0, -1]


def test_comparison_one_bar_per_activation_in_order(compare):
    ds = compare
    names = [str(a) for a in ds["activation"].values]
    phases = [str(p) for p in ds["phase_best"].values]
    units = ds.sizes["unit"]
    fig = comparison_figure(compare_rows(ds), "tiny", n_units=units)
    panels = _panels(fig)
    keys = ["loss", "max_abs_cos", "effective_rank", "usage_entropy", "dead_fraction"]
    assert len(panels) == 6
    for ax, key in zip(panels, [*keys, "n_distinct"], strict=True):
        bars = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
        assert len(bars) == len(names), key
        centres = [b.get_y() + b.get_height() / 2 for b in bars]
        assert centres == sorted(centres)
        lo, hi = ax.get_ylim()
        assert lo > hi  # first activation at the top
        labels = ax.yaxis.get_major_formatter().format_ticks(ax.get_yticks())
        np.testing.assert_allclose(ax.get_yticks(), centres)
        assert labels == names
        for bar, phase in zip(bars, phases, strict=True):
            np.testing.assert_allclose(bar.get_facecolor()[:3], _rgb(PHASE_COLOURS[phase]))
    # Bar lengths are the best seed's values, seed picked here independently.
    best = ds["loss"].argmin("seed")
    for ax, key in zip(panels, keys, strict=False):
        widths = [b.get_width() for b in ax.patches]
        np.testing.assert_allclose(widths, ds[key].isel(seed=best).values, rtol=1e-6)
    # Loss panel notes the share of seeds in each row's phase.
    notes = [t.get_text() for t in panels[0].texts]
    shares = [float(ds["phase_fraction"].sel(phase=p).values[i]) for i, p in enumerate(phases)]
    assert [n.split("·")[-1].strip() for n in notes] == [f"{s:.0%}" for s in shares]
    # log K marked on the usage-entropy panel.
    (mark,) = panels[3].lines
    np.testing.assert_allclose(mark.get_xdata(), np.log(units))
    assert overlapping_texts(fig) == []


def test_comparison_bar_colours_follow_each_rows_phase(compare):
    # The tiny run may put every activation in one phase; give the rows all three so a
    # bar coloured by another row's phase shows.
    rows = compare_rows(compare)
    cycle = ["redundant", "specialised", "collapsed"]
    for i, row in enumerate(rows):
        row["phase"] = cycle[i % 3]
        row["phase_fraction"] = {p: (0.5 if p == row["phase"] else 0.25) for p in cycle}
    fig = comparison_figure(rows)
    for ax in _panels(fig):
        for bar, row in zip(ax.patches, rows, strict=True):
            np.testing.assert_allclose(bar.get_facecolor()[:3], _rgb(PHASE_COLOURS[row["phase"]]))
    notes = [t.get_text().split("·")[-1].strip() for t in _panels(fig)[0].texts]
    assert notes == ["50%"] * len(rows)
    # Without K no log K mark is drawn.
    assert len(_panels(fig)[3].lines) == 0
