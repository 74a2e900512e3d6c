"""Writing figures: PNG and PDF side by side, atomically, in the house style."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from toymodels.files import atomic_write

from .style import house_style

FORMATS = ("png", "pdf")


def save(fig, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``fig`` to ``stem.png`` and ``stem.pdf`` (house-style resolution and margins),
    each atomically.  The layout is computed once, by the first format's save: the others
    reuse it (see :func:`_layout_kept`)."""
    stem = Path(stem)
    paths = []
    with house_style():
        for i, fmt in enumerate(formats):
            with _layout_kept(fig, i > 0):
                paths.append(
                    atomic_write(
                        stem.with_name(f"{stem.name}.{fmt}"),
                        lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt),
                    )
                )
    return paths


@contextmanager
def _layout_kept(fig, keep: bool) -> Iterator[None]:
    """With ``keep``, save without running the figure's layout engine again: the panels
    stay where the previous save put them.  A layout (constrained layout above all) is a
    third of a save's time, and the second run only moves panels by the few points
    that the 72-dpi PDF renderer's hinted text widths differ from the PNG's at 300 dpi,
    closer to the glyph outlines a PDF viewer draws; the tight bounding box is still
    measured for each file, so nothing is cropped.  ``fig`` gets its engine back."""
    engine = fig.get_layout_engine()
    if not keep or engine is None:
        yield
        return
    fig.set_layout_engine("none")
    try:
        yield
    finally:
        fig.set_layout_engine(engine)
