"""Colour encodings shared by the figures.

The extra feature of a trained model is drawn the way the paper draws it (section
"Superposition as a Phase Change"): hue from its interference ``Σ_{j≠i}(Ŵ_i·W_j)²``
(blue = 0, a dedicated dimension; red = 1 or more, e.g. an antipodal pair) and saturation
from its norm ``‖W_i‖`` (grey = 0, not represented; full colour = 1 or more).  Candidate
solutions and phase labels use the same three colours, so every panel reads alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .style import NOT_REPRESENTED_GREY, OKABE_ITO, PHASE_COLOURS

# Interference at and above which the hue is fully red: an antipodal pair gives exactly 1.
INTERFERENCE_FULL = 1.0
# Colours for categories outside the three phases (unknown labels), least like them first.
_SPARE = [OKABE_ITO[k] for k in ("bluish_green", "orange", "reddish_purple", "yellow")]
# Norm at and above which the colour is fully saturated: a represented feature has ‖W_i‖≈1.
NORM_FULL = 1.0


def _rgb(colour: str) -> np.ndarray:
    from matplotlib.colors import to_rgb

    return np.asarray(to_rgb(colour))


def interference_rgb(interference: np.ndarray) -> np.ndarray:
    """Hue for interference: ``[...] -> [..., 3]``, dedicated blue at 0 to superposition
    red at :data:`INTERFERENCE_FULL` and above (linear in RGB through a purple)."""
    t = np.clip(np.nan_to_num(np.asarray(interference, float)) / INTERFERENCE_FULL, 0.0, 1.0)
    blue, red = _rgb(PHASE_COLOURS["dedicated"]), _rgb(PHASE_COLOURS["superposition"])
    return (1.0 - t)[..., None] * blue + t[..., None] * red


def feature_rgb(norm: np.ndarray, interference: np.ndarray) -> np.ndarray:
    """The paper's 2-D encoding ``(norm, interference) -> RGB [..., 3]``: the hue of
    :func:`interference_rgb` blended towards grey as the norm falls to 0.  Cells with a
    missing (NaN) value are drawn white."""
    norm = np.asarray(norm, float)
    s = np.clip(np.nan_to_num(norm) / NORM_FULL, 0.0, 1.0)[..., None]
    rgb = s * interference_rgb(interference) + (1.0 - s) * _rgb(NOT_REPRESENTED_GREY)
    missing = ~(np.isfinite(norm) & np.isfinite(np.asarray(interference, float)))
    return np.where(missing[..., None], 1.0, rgb)


def interference_cmap():
    """The hue ramp of :func:`interference_rgb` as a colormap on [0, INTERFERENCE_FULL]."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(interference_rgb(np.linspace(0, INTERFERENCE_FULL, 256)), "interference")


def shades(colour: str, k: int) -> list[str]:
    """``k`` distinguishable shades of ``colour``: itself, then darker and lighter tints."""
    from matplotlib.colors import to_hex

    base = _rgb(colour)
    # Alternate darker/lighter so neighbouring shades differ in lightness (greyscale-safe).
    factors = [0.0, -0.45, 0.5, -0.7, 0.7][:k] + [0.0] * max(0, k - 5)
    out = []
    for f in factors:
        rgb = base * (1 + f) if f < 0 else base + (1 - base) * f
        out.append(to_hex(np.clip(rgb, 0, 1)))
    return out


def category_colours(phases: Sequence[str]) -> list[str]:
    """One colour per category whose extra feature is in ``phases[c]``: the phase colour,
    shaded apart when several categories share a phase (n=3 has two dedicated ones)."""
    colours: list[str] = [""] * len(phases)
    spare = iter(_SPARE)
    for phase in dict.fromkeys(phases):
        members = [c for c, ph in enumerate(phases) if ph == phase]
        base = PHASE_COLOURS.get(phase) or next(spare, "#777777")
        for c, shade in zip(members, shades(base, len(members)), strict=True):
            colours[c] = shade
    return colours
