"""``index.html``: every figure in a folder with a one-line caption, the command that made
it, and links to its PNG and PDF."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toymodels.files import atomic_write

GALLERY_FILE = "index.html"

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
figure { margin: 0 0 2.5rem 0; }
img { max-width: 100%; border: 1px solid #eee; }
figcaption { margin-top: .4rem; }
code { background: #f4f4f4; padding: .1rem .3rem; }
.files { font-size: .9rem; color: #555; }
"""


@dataclass(frozen=True)
class GalleryEntry:
    name: str
    caption: str
    command: str
    files: Sequence[str]  # paths relative to the gallery folder (PNG first)


def write_gallery(folder: str | Path, entries: Sequence[GalleryEntry], title: str) -> Path:
    """Write ``folder/index.html`` showing ``entries`` in order; returns its path."""
    folder = Path(folder)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for e in entries:
        image = next((f for f in e.files if f.endswith(".png")), None)
        links = " · ".join(
            f'<a href="{html.escape(f, quote=True)}">{html.escape(Path(f).name)}</a>'
            for f in e.files
        )
        parts.append(f'<figure id="{html.escape(e.name, quote=True)}">')
        if image:
            src = html.escape(image, quote=True)
            alt = html.escape(e.caption, quote=True)
            parts.append(f'<a href="{src}"><img src="{src}" alt="{alt}"></a>')
        parts.append(
            f"<figcaption><strong>{html.escape(e.name)}</strong>: {html.escape(e.caption)}<br>"
            f"<code>{html.escape(e.command)}</code><br>"
            f'<span class="files">{links}</span></figcaption></figure>'
        )
    parts.append("</body></html>\n")
    text = "\n".join(parts)
    return atomic_write(folder / GALLERY_FILE, lambda tmp: Path(tmp).write_text(text, "utf-8"))
