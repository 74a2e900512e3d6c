"""The named figures: what each shows, which preset sweep it is drawn from, and how.

A figure's builder takes the results of its sweeps (``{preset name: xarray Dataset}``)
and returns a Figure; which sweeps to run, where to store them and at what scale is the
CLI's job (``toymodels figures``).  Presets name the paper-faithful protocol; the CLI may
train them with lighter settings at ``--scale default``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SCALES = ("default", "paper")
# Relative importances of the candidate-loss panels: below 1 the extra feature goes from
# superposition to not represented as density grows, above 1 to a dedicated dimension.
LOSS_IMPORTANCES = (0.5, 2.0, 5.0)
# The loss-anatomy figure's relative importance (that of its preset, anatomy-2to1).
ANATOMY_IMPORTANCE = 1.0
# Densities per curve of the exact optimum's loss in the candidate-loss figure.
OPTIMUM_LOSS_POINTS = 40


@dataclass(frozen=True)
class FigureEntry:
    """A named figure.  ``runs[scale]`` lists the presets it needs at that scale;
    ``build(results, scale)`` receives their results by preset name (none: pure theory)."""

    name: str
    caption: str
    build: Callable[[Mapping, str], object]
    runs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def presets(self, scale: str) -> tuple[str, ...]:
        return tuple(self.runs.get(scale, self.runs.get("default", ())))


def _phase(n: int, preset: str) -> Callable[[Mapping, str], object]:
    def build(results: Mapping, scale: str = "default"):
        from summaries.phase_maps import grid_results, panel_rules
        from summaries.superposition_theory import candidate_theory, exact_optimum

        from .phase_diagram import phase_diagram

        ds = grid_results(results[preset])
        density, importance = ds["density"].values, ds["importance"].values
        ranges = {
            "density_range": (float(density.min()), float(density.max())),
            "importance_range": (float(importance.min()), float(importance.max())),
        }
        # The theory panel on its own fine grid over the trained ranges.
        theory, curves = candidate_theory(n, **ranges)
        # On the trained grid, cell for cell, so the panels compare directly.
        optimum = exact_optimum(n, density, importance)
        return phase_diagram(
            ds,
            theory,
            optimum,
            curves,
            rules=panel_rules(n),
            title=f"n = {n} features in m = {n - 1} dimension{'s' if n > 2 else ''}",
        )

    return build


def _candidate_losses(results: Mapping, scale: str = "default"):
    from summaries.superposition_theory import candidate_curves

    from .candidate_losses import loss_crossings

    return loss_crossings(
        [
            c
            for n in (2, 3)
            for c in candidate_curves(n, LOSS_IMPORTANCES, optimum_points=OPTIMUM_LOSS_POINTS)
        ]
    )


def _anatomy(results: Mapping, scale: str = "default"):
    from summaries.anatomy_curves import candidate_anatomy, trained_anatomy

    from .anatomy import loss_anatomy

    trained = trained_anatomy(results["anatomy-2to1"], ANATOMY_IMPORTANCE)
    d = trained.density
    theory = candidate_anatomy(2, ANATOMY_IMPORTANCE, (float(d.min()), float(d.max())))
    return loss_anatomy(theory, trained)


def _wtw(results: Mapping, scale: str = "default"):
    from summaries.trained_models import trained_models

    from .wtw import wtw_sparsity

    models = trained_models(results["wtw-sparsity"])
    # The paper's single linear column: the linear model never superposes, so its densest
    # model stands for all of them.
    linear = [m for m in models if m.family == "linear"]
    return wtw_sparsity(linear[:1] + [m for m in models if m.family != "linear"])


def _intro(results: Mapping, scale: str = "default"):
    from summaries.trained_models import trained_models

    from .intro_2d import intro_2d

    return intro_2d(trained_models(results["intro-2d"]))


def _dimensionality(results: Mapping, scale: str = "default"):
    from summaries.trained_models import dimensionality_data, trained_models

    from .dimensionality import dimensionality

    (ds,) = results.values()  # dimensionality or dimensionality-paper
    return dimensionality(dimensionality_data(trained_models(ds)))


def _thomson(results: Mapping, scale: str = "default"):
    from summaries.thomson_comparison import thomson_rows

    from .thomson_geometry import thomson_figure

    return thomson_figure(thomson_rows(results))


def _multitask_loss(results: Mapping, scale: str = "default"):
    from summaries.multitask_summary import prediction_for
    from summaries.reln_closed_form import reln_closed_form

    from .multitask_panels import loss_curves

    labels = {
        "multitask-relu": "ReLU network",
        "multitask-linear": "linear network",
        "multitask-gdln": "GDLN, pathways for every subset",
        "multitask-gdln-single": "GDLN, one pathway per context",
    }
    runs = {labels[name]: ds for name, ds in results.items()}
    if "multitask-relu" in results:  # its ReLN, trained here (summaries.reln)
        from summaries.reln import train_reln

        runs["ReLN on the ReLU network's gates"] = train_reln(results["multitask-relu"])
    reln = reln_closed_form(results["multitask-relu"])
    return loss_curves(runs, prediction_for(results["multitask-linear"]), reln)


def _multitask_modes(results: Mapping, scale: str = "default"):
    from summaries.multitask_summary import prediction_for

    from .multitask_panels import mode_trajectories

    ds = results["multitask-linear"]
    return mode_trajectories(ds, prediction_for(ds))


def _multitask_census(results: Mapping, scale: str = "default"):
    from .multitask_panels import census_bars

    return census_bars(results["multitask-relu"])


def _multitask_mds(results: Mapping, scale: str = "default"):
    from .multitask_panels import mds_snapshots

    return mds_snapshots(results["multitask-relu"])


def _multitask_pathways(results: Mapping, scale: str = "default"):
    from .multitask_panels import pathway_strengths

    return pathway_strengths(results["multitask-gdln"])


def _conflict(preset: str) -> Callable[[Mapping, str], object]:
    def build(results: Mapping, scale: str = "default"):
        from summaries.conflict_summary import theory_for

        from .conflict_panels import conflict_diagram

        model = "linear" if "-linear-" in preset else "ReLU"
        ds = results[preset]
        return conflict_diagram(ds, theory_for(ds), title=f"{model} shared layer")

    return build


_CONFLICT_CAPTION = (
    "Task conflict, {model} shared layer: conflict κ from one shared task (0) to two "
    "conflicting tasks (1) against {axis}; trained phase (best of 10 seeds), fraction of "
    "seeds winner-take-all and the linear theory's phase; view 1's dominance, its spread "
    "over seeds and the theory's dominance; the theory's boundary over every panel."
)
_CONFLICT_AXES = {
    "width": "the shared layer's width (view 2 at 0.7 of view 1's strength)",
    "strength": "view 2's strength relative to view 1's (width 5: room for one task)",
}


def _conflict_entries() -> list[FigureEntry]:
    return [
        FigureEntry(
            f"conflict-{model}-{axis}",
            _CONFLICT_CAPTION.format(model=model if model == "linear" else "ReLU", axis=text),
            _conflict(f"conflict-{model}-{axis}"),
            {"default": (f"conflict-{model}-{axis}",)},
        )
        for axis, text in _CONFLICT_AXES.items()
        for model in ("linear", "relu")
    ]


def _competition(preset: str) -> Callable[[Mapping, str], object]:
    def build(results: Mapping, scale: str = "default"):
        from summaries.competition_summary import critical_temperature_of
        from summaries.run_settings import spec_of

        from .competition_panels import competition_diagram, run_title

        ds = results[preset]
        # τ_c only where the theory applies (the annealing task); None draws no line.
        return competition_diagram(ds, run_title(ds), critical_temperature_of(spec_of(ds)))

    return build


def _competition_compare(preset: str) -> Callable[[Mapping, str], object]:
    def build(results: Mapping, scale: str = "default"):
        from summaries.competition_summary import compare_rows

        from .competition_panels import comparison_figure, run_title

        ds = results[preset]
        return comparison_figure(compare_rows(ds), run_title(ds), n_units=ds.sizes["unit"])

    return build


# The hyperplane figure's layers: these activations of the comparison run, then softmax
# with the volume control of its own preset.
HYPERPLANE_ACTIVATIONS = (
    "relu", "linear", "kwta", "solu_ln", "log_softmax", "grouped_softmax", "softmax",
)  # fmt: skip
HYPERPLANE_RUNS = ("competition-compare-clusters", "competition-hyperplanes-volume")


def _competition_hyperplanes(results: Mapping, scale: str = "default"):
    from summaries.hyperplane_layers import hyperplane_layers

    from .hyperplane_panels import hyperplane_figure

    compared = results[HYPERPLANE_RUNS[0]]
    kept = [a for a in HYPERPLANE_ACTIVATIONS if a in compared["activation"].values]
    layers = hyperplane_layers(compared.sel(activation=kept))
    layers += hyperplane_layers(results[HYPERPLANE_RUNS[1]])
    return hyperplane_figure(layers, "10 units on 6 clusters on a ring, τ = 1")


_COMPETITION_CAPTION = (
    "Competition in a hidden layer, {what}: temperature τ (log scale) against {axis}; the "
    "phase most of the 5 seeds have (orange redundant, blue specialised, purple collapsed; "
    "paler: fewer seeds agree), fraction of seeds redundant and collapsed, and means over seeds "
    "of the effective units exp H(p̄), the distinct share of alive units, the largest |cos| "
    "between units and the dead fraction{extra}."
)
_COMPARE_CAPTION = (
    "Every activation of the competition family, {what}, τ = 1, no volume control: the best "
    "of 5 seeds' loss, largest |cos| between units, effective rank, usage entropy (log K "
    "marked), dead fraction and distinct alive units, one bar per activation coloured by its "
    "best-of-5 phase, with the share of seeds in that phase."
)


def _competition_entries() -> list[FigureEntry]:
    diagrams = {
        "competition-clusters": (
            "10 softmax units classifying 6 Gaussian clusters on a ring",
            "the usage-entropy bonus λ",
            "",
        ),
        "competition-annealing": (
            "deterministic annealing of 2 prototypes on 2 Gaussian clusters",
            "the annealing strength λ (τ falls from τe^λ)",
            "; the theory's critical temperature τ_c = 2λ_max(Σ_x), with a ±10% band, over "
            "every panel",
        ),
        "competition-features": (
            "4 softmax units reconstructing 8 sparse features (density 0.1)",
            "the usage-entropy bonus λ",
            "",
        ),
    }
    compares = {
        "competition-compare-clusters": "10 units classifying 6 Gaussian clusters on a ring",
        "competition-compare-features": "4 units reconstructing 8 sparse features (density 0.1)",
    }
    return [
        *(
            FigureEntry(
                name,
                _COMPETITION_CAPTION.format(what=what, axis=axis, extra=extra),
                _competition(name),
                {"default": (name,)},
            )
            for name, (what, axis, extra) in diagrams.items()
        ),
        *(
            FigureEntry(
                name,
                _COMPARE_CAPTION.format(what=what),
                _competition_compare(name),
                {"default": (name,)},
            )  # fmt: skip
            for name, what in compares.items()
        ),
        FigureEntry(
            "competition-hyperplanes",
            "The seeds' picture: 6 Gaussian clusters on a ring (grey, one marker per class) and "
            "every unit's line w·x + b = 0 of a trained layer of 10 units (the best of 5 "
            "seeds), one panel per activation at τ = 1 without volume control, and softmax "
            "with the volume control that specialises it best; lines coloured by the unit's "
            "usage, duplicates (alike units) thicker and lettered by group, dead units "
            "dotted; softmax-like layers' rows centred over the units (a common shift does "
            "nothing there).",
            _competition_hyperplanes,
            {"default": HYPERPLANE_RUNS},
        ),
    ]


_MULTITASK = ("multitask-relu", "multitask-linear", "multitask-gdln", "multitask-gdln-single")

FIGURES: dict[str, FigureEntry] = {
    e.name: e
    for e in (
        FigureEntry(
            "phase-2to1",
            "Phase diagram of the extra feature, n=2 features in m=1 dimension: trained "
            "models (paper rule, best of N) beside the candidate theory and the exact "
            "optimum, candidate boundaries drawn over each.",
            _phase(2, "paper-2to1"),
            {"default": ("paper-2to1",)},
        ),
        FigureEntry(
            "phase-3to2",
            "Phase diagram of the extra feature, n=3 features in m=2 dimensions: trained "
            "models (paper rule, each seed's phase, best of N) beside the candidate theory "
            "and the exact optimum, candidate boundaries drawn over each.",
            _phase(3, "paper-3to2"),
            {"default": ("paper-3to2",)},
        ),
        FigureEntry(
            "candidate-losses",
            "Candidate solutions' exact expected losses (per unit density) against density "
            "at fixed importances: the optimal loss has a kink where candidates cross "
            "(a first-order phase change).",
            _candidate_losses,
        ),
        FigureEntry(
            "anatomy-2to1",
            "The loss's anatomy, n=2 features in m=1 dimension at relative importance 1: "
            "feature benefit and interference on 1-sparse inputs (x_i = 1) of the candidate "
            "solutions (curves) and trained models (dots; ringed: lowest loss), and each "
            "candidate's loss by number of active features, against density.",
            _anatomy,
            {"default": ("anatomy-2to1",)},
        ),
        FigureEntry(
            "wtw-sparsity",
            "WᵀW and feature norms (bar colour = interference) for n=20 features in m=5 "
            "dimensions, I_i = 0.7^i: the linear model, then ReLU models from dense to "
            "sparse.",
            _wtw,
            {"default": ("wtw-sparsity",)},
        ),
        FigureEntry(
            "intro-2d",
            "Five features in two dimensions, I_i = 0.9^i: each feature's direction W_i as "
            "an arrow, linear and ReLU models from dense to sparse.",
            _intro,
            {"default": ("intro-2d",)},
        ),
        FigureEntry(
            "dimensionality",
            "Feature dimensionality D_i and dimensions per feature m/‖W‖_F² against inverse "
            "density, uniform importance, with the fractions D_i sticks at.",
            _dimensionality,
            {"default": ("dimensionality",), "paper": ("dimensionality-paper",)},
        ),
        FigureEntry(
            "thomson",
            "The Thomson geometry of superposition: the minimum of the 1-sparse loss with free "
            "norms (b = 0) above the lowest-loss of 5 trained models at density 0.01 (ranked "
            "by the loss on inputs with at most two active features), uniform importance, "
            "N = 3-10 features in the plane and 5-11 in three dimensions; the "
            "features each keeps and every kept feature's angle to its nearest neighbour.",
            _thomson,
            {"default": ("thomson-plane", "thomson-space")},
        ),
        FigureEntry(
            "multitask-loss",
            "Contextual task (3 contexts, different structures): loss of the ReLU network, "
            "the linear network, two GDLNs and the ReLN (the GDLN on the ReLU network's own "
            "gating patterns, trained) against epochs, with the closed-form loss of the "
            "linear theory.",
            _multitask_loss,
            {"default": _MULTITASK},
        ),
        FigureEntry(
            "multitask-modes",
            "Mode strengths of the linear network on the contextual task (each seed) against "
            "the closed-form sigmoids a(t) of each mode.",
            _multitask_modes,
            {"default": ("multitask-linear",)},
        ),
        FigureEntry(
            "multitask-census",
            "Census of the ReLU network's strong units on the contextual task: active in all "
            "contexts, in a subset, or in one context (bars: mean, dots: seeds).",
            _multitask_census,
            {"default": ("multitask-relu",)},
        ),
        FigureEntry(
            "multitask-mds",
            "Representational geometry of the ReLU network's hidden layer over training: "
            "classical MDS of the 24 samples' hidden vectors.",
            _multitask_mds,
            {"default": ("multitask-relu",)},
        ),
        FigureEntry(
            "multitask-pathways",
            "The neural race in a GDLN: top singular value of each pathway's map over "
            "training; pathways serving two contexts outgrow single-context ones.",
            _multitask_pathways,
            {"default": ("multitask-gdln",)},
        ),
        *_conflict_entries(),
        *_competition_entries(),
    )
}


def figure_names() -> list[str]:
    return list(FIGURES)


__all__ = ["FIGURES", "SCALES", "FigureEntry", "figure_names"]
