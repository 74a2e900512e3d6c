"""The anatomy of the superposition loss against density (paper, "The Mathematical
Understanding": ``L = Σ_k p^k (1 - p)^(n - k) L_k``, and the 1-sparse loss at ``x_i = 1``
split into feature benefit and interference).

Three panels over density: the feature benefit term, the interference term (both of the
candidate solutions as curves and of trained models as dots, the lowest-loss seed of each
density ringed), and each candidate's loss split by the number of active features,
``p^k (1 - p)^(n - k) L_k`` per unit density.  The antipodal pair pays nothing on 1-sparse
inputs (its interference is negative, which ReLU makes free) and all its loss on 2-sparse
ones, whose weight ``p²`` vanishes faster than the ``p`` of the 1-sparse loss the other
candidates pay: the phase change.
"""

from __future__ import annotations

import numpy as np

from summaries.anatomy_curves import CandidateAnatomy, TrainedAnatomy

from ._layout import log_axis
from .colour import category_colours
from .phase_diagram import display_name
from .style import DOUBLE_COLUMN, house_style, new_figure

TRAINED_GID = "trained"
BEST_GID = "trained_best"
# Line styles of the candidates that would hide one another (at r = 1 the two ways of
# dropping a feature cost the same), and of the loss terms by active features k.
_CANDIDATE_DASHES = ["-", (0, (4, 3)), ":"]
_TERM_DASHES = {0: ":", 1: "-", 2: "--", 3: "-.", 4: (0, (1, 1, 3, 1))}
LABELS = {
    "benefit": "feature benefit $\\sum_i I_i(1-\\mathrm{ReLU}(\\|W_i\\|^2+b_i))^2$",
    "interference": "interference $\\sum_{i\\neq j} I_j\\,\\mathrm{ReLU}(W_j\\cdot W_i+b_j)^2$",
    "terms": "loss per unit density $p^k(1-p)^{n-k}L_k/p$",
}


def loss_anatomy(theory: CandidateAnatomy, trained: TrainedAnatomy | None = None, *, fig=None):
    """Benefit, interference and the terms by active features against density; returns
    the Figure."""
    with house_style():
        if fig is None:
            fig = new_figure(DOUBLE_COLUMN, 2.6)
        axes = fig.subplots(1, 3)
        colours = category_colours(theory.phases)
        p = np.asarray(theory.density, float)
        for ax, key in zip(axes[:2], ("benefit", "interference"), strict=True):
            values = getattr(theory, key)
            for c, name in enumerate(theory.names):
                ax.plot(
                    p,
                    values[c],
                    color=colours[c],
                    ls=_CANDIDATE_DASHES[c % len(_CANDIDATE_DASHES)],
                    lw=1.2,
                    label=display_name(name),
                )
            if trained is not None:
                _trained(ax, trained, key)
            ax.set_title(LABELS[key], fontsize="small")
            ax.set_xlabel("feature density $p$")
            log_axis(ax, "x", p.min(), p.max())
            ax.margins(y=0.05)
        ax = axes[2]
        for c in range(len(theory.names)):
            for k in range(1, theory.weighted.shape[1]):
                ax.plot(
                    p,
                    theory.weighted[c, k] / p,
                    color=colours[c],
                    ls=_TERM_DASHES.get(k, "-"),
                    lw=1.2 if c < 2 else 1.6,
                )
        ax.set_title(LABELS["terms"], fontsize="small")
        ax.set_xlabel("feature density $p$")
        log_axis(ax, "x", p.min(), p.max())
        _legends(axes, theory)
        fig.suptitle(
            f"n = {theory.n_features} features in m = {theory.n_features - 1} dimension, "
            f"relative importance r = {theory.importance:g}; 1-sparse inputs $x_i = 1$",
            fontsize="medium",
        )
    return fig


def _trained(ax, trained: TrainedAnatomy, key: str) -> None:
    values = getattr(trained, key)  # [D, S]
    d = np.asarray(trained.density, float)
    xs = np.repeat(d[:, None], values.shape[1], axis=1)
    ax.plot(
        xs.ravel(), values.ravel(), "o", ms=2.0, color="0.55", alpha=0.6, gid=TRAINED_GID,
        label="trained models (each seed)",
    )  # fmt: skip
    best = values[np.arange(len(d)), trained.best]
    ax.plot(
        d, best, "o", ms=4.0, mfc="none", mec="black", mew=0.8, gid=BEST_GID,
        label="trained, lowest loss",
    )  # fmt: skip


def _legends(axes, theory: CandidateAnatomy) -> None:
    from matplotlib.lines import Line2D

    handles, labels = axes[0].get_legend_handles_labels()
    axes[1].legend(handles, labels, loc="upper left", fontsize="x-small", frameon=False)
    terms = [
        Line2D([], [], color="black", ls=_TERM_DASHES.get(k, "-"), label=f"k = {k} active")
        for k in range(1, theory.weighted.shape[1])
    ]
    axes[2].legend(handles=terms, loc="upper left", fontsize="x-small", frameon=False)
