"""Figures: every plot of the four systems, drawn in the house style from data that
``summaries`` computes (figures only draw; they never derive theory or read a sweep).

- superposition: :func:`phase_diagram` (trained phases beside the candidate theory and the
  exact optimum), :func:`loss_crossings`, :func:`wtw_sparsity`, :func:`intro_2d`,
  :func:`dimensionality`, :func:`thomson_figure` (the 1-sparse loss's minimum beside
  trained models);
- multi-task mixed selectivity (``figures.multitask_panels``): loss curves, mode
  trajectories, the census of strong units, MDS snapshots, pathway strengths;
- task conflict: ``figures.conflict_panels.conflict_diagram``;
- competition inside a hidden layer (``figures.competition_panels``): the τ × λ phase
  diagram and the comparison across activations.

:data:`FIGURES` names every figure ``toymodels figures`` makes and how it is built from
its sweeps' results; :func:`write_gallery` shows them on one HTML page.  Plot functions
take plain data and return a matplotlib Figure; saving is the caller's job (:func:`save`
writes PNG and PDF).  matplotlib is imported only when a figure is drawn.
"""

from .candidate_losses import loss_crossings
from .catalog import FIGURES
from .dimensionality import dimensionality
from .gallery import write_gallery
from .intro_2d import intro_2d
from .output import save
from .phase_diagram import display_name, phase_diagram
from .style import DOUBLE_COLUMN, SINGLE_COLUMN, house_style
from .thomson_geometry import thomson_figure
from .wtw import wtw_sparsity

__all__ = [
    "DOUBLE_COLUMN",
    "FIGURES",
    "SINGLE_COLUMN",
    "loss_crossings",
    "dimensionality",
    "display_name",
    "house_style",
    "intro_2d",
    "phase_diagram",
    "save",
    "thomson_figure",
    "wtw_sparsity",
    "write_gallery",
]
