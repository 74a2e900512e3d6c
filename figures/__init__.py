"""Publication figures: the phase diagram, candidate losses, WᵀW across sparsity, the
intro arrows, feature dimensionality, and an HTML gallery.

Plot functions take plain data (xarray results, numpy arrays, curve lists) and return a
matplotlib Figure drawn in the house style (:func:`house_style`); saving is the caller's
job (:func:`save` writes PNG and PDF).  matplotlib is imported only when a figure is drawn.
"""

from .candidate_losses import LossCurves, candidate_losses
from .catalog import FIGURES
from .dimensionality import dimensionality, dimensionality_data
from .gallery import write_gallery
from .intro_2d import intro_2d
from .model_data import TrainedModel, trained_models
from .output import save
from .phase_data import (
    Boundary,
    FeatureMap,
    PhaseMap,
    as_boundaries,
    empirical_maps,
    phase_map,
    theory_phase_map,
)
from .phase_diagram import display_name, phase_diagram
from .style import DOUBLE_COLUMN, SINGLE_COLUMN, house_style
from .theory_panels import candidate_theory, exact_optimum, loss_curves
from .wtw import wtw_sparsity

__all__ = [
    "DOUBLE_COLUMN",
    "FIGURES",
    "SINGLE_COLUMN",
    "Boundary",
    "FeatureMap",
    "LossCurves",
    "PhaseMap",
    "TrainedModel",
    "as_boundaries",
    "candidate_losses",
    "candidate_theory",
    "dimensionality",
    "dimensionality_data",
    "display_name",
    "empirical_maps",
    "exact_optimum",
    "house_style",
    "intro_2d",
    "loss_curves",
    "phase_diagram",
    "phase_map",
    "save",
    "theory_phase_map",
    "trained_models",
    "wtw_sparsity",
    "write_gallery",
]
