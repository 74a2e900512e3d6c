"""The house style: sizes that fit a paper column, colour-blind-safe palettes, and one
``rc_context`` that every figure is drawn under.

Nothing here touches matplotlib's global ``rcParams``: :func:`house_style` applies the
style for the duration of a ``with`` block only, and matplotlib itself is imported lazily
so that importing ``figures`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# Widths of a two-column paper (inches): one column, and the full text width.
SINGLE_COLUMN = 3.4
DOUBLE_COLUMN = 7.0

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common forms of
# colour blindness, and in greyscale by lightness.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# The extra feature's phases: grey = not represented, blue = dedicated dimension (no
# interference), red = superposition; the paper's colours, in Okabe-Ito shades.
NOT_REPRESENTED_GREY = "#BBBBBB"
PHASE_COLOURS = {
    "not_represented": NOT_REPRESENTED_GREY,
    "dedicated": OKABE_ITO["blue"],
    "superposition": OKABE_ITO["vermillion"],
}
# Models whose loss or weights are not finite: darker than any phase colour.
DIVERGED_COLOUR = "#222222"
PHASE_NAMES = {
    "not_represented": "not represented",
    "dedicated": "dedicated dimension",
    "superposition": "superposition",
}

# Diverging map for signed overlaps (WᵀW); red-blue diverging maps stay readable for
# red-green colour blindness because the two ends differ in lightness and blue content.
DIVERGING_CMAP = "RdBu_r"
# Sequential, colour-blind-safe, perceptually uniform map for ordered quantities
# (feature importance); viridis spans more lightness than cividis, so 5 shades stay apart.
SEQUENTIAL_CMAP = "viridis"
# The legend entry of a phase map where some cell has no phase (every seed diverged).
DIVERGED_KEY = "blank: every seed diverged"

# Axis labels: a symbol and the words, so a figure reads without its caption.
AXIS_LABELS = {
    "density": "feature density 1−S",
    "importance": "relative importance of the extra feature r",
    "inverse_density": "1/(1−S)  (inverse feature density)",
    "dimensionality": "feature dimensionality $D_i$",
    "dims_per_feature": "dimensions per feature $m/\\|W\\|_F^2$",
    "norm": "feature norm $\\|W_i\\|$",
    "interference": "interference $\\sum_{j\\neq i}(\\hat W_i\\cdot W_j)^2$",
    "loss_per_density": "expected loss per unit density $L/p$",
}

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "legend.frameon": False,
    "figure.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    # Embed TrueType fonts so PDFs stay editable in vector tools and journals accept them.
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "image.origin": "lower",
}


@contextmanager
def house_style(**overrides) -> Iterator[None]:
    """Apply the house style (plus ``overrides``, rcParams keys) inside a ``with`` block,
    with the cyclic garbage collector paused (:func:`_collector_paused`)."""
    import matplotlib as mpl

    with _collector_paused(), mpl.rc_context({**_RC, **overrides}):
        yield


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, as ``timeit`` does.  Drawing and saving
    allocate tens of thousands of artists, transforms and paths, enough to set off full
    collections, and a full collection walks every object of the process: after training,
    a quarter of a second for ``multitask train``'s four figures.  Reference counting
    still frees what is not in a cycle; the cycles (a figure and its artists) are
    collected after the block, by the collector's next pass."""
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def new_figure(width: float = DOUBLE_COLUMN, height: float = 2.5):
    """A constrained-layout Figure not registered with pyplot (no global state, no leaks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")
