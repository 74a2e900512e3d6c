"""The numbers of docs/competition.md's "Four questions": from phase diagrams already run
(``toymodels competition phase-diagram --activation A --volume V --out ROOT/A-V``), each
phase's share of the models in three bands of τ (λ > 0 pooled for a control; λ = 0 for
``none``) with a 95% Wilson interval, as a markdown table; and, for each diagram of an
activation that ignores a shift common to its units' rows, the same shares measured with
the rows as they are and centred (``summaries.shift_measure``).

    toymodels competition shares ROOT [--json out.json]
"""

from __future__ import annotations

import json
from pathlib import Path

from .phase_shares import band_shares

# The bands of the default 8-point τ axis (log-spaced 0.01 … 10): low (0.01, 0.027),
# middle (0.072 … 1.39) and high (3.7, 10).
BANDS = {
    "low τ 0.01–0.027": (0.01, 0.03),
    "τ 0.072–1.39": (0.07, 1.4),
    "high τ 3.7–10": (3.7, 10.0),
}
PHASES = ("redundant", "specialised", "collapsed")


def _cell(entry: dict) -> str:
    if entry["share"] is None:
        return "–"
    return f"{100 * entry['share']:.0f} ({100 * entry['low']:.0f}–{100 * entry['high']:.0f})"


def band_table(root: Path) -> tuple[list[str], dict]:
    lines = [
        "| activation + control | models per band | "
        + " | ".join(f"{b}: R / S / C %" for b in BANDS)
        + " |",
        "| --- | ---: | " + " | ".join("---" for _ in BANDS) + " |",
    ]
    found = {}
    for folder in sorted(p for p in root.iterdir() if (p / "summary.json").exists()):
        summary = json.loads((folder / "summary.json").read_text())
        s = summary["settings"]
        name = f"{s['activation']} + {s['volume']}"
        shares = {b: band_shares(summary, *r) for b, r in BANDS.items()}
        found[name] = {
            "shares": shares,
            "isolated_cells": summary.get("isolated_cells"),
            "isolated_cells_best_of_n": summary.get("isolated_cells_best_of_n"),
        }
        models = "/".join(str(v["models"]) for v in shares.values())
        cells = " | ".join(" / ".join(_cell(v[p]) for p in PHASES) for v in shares.values())
        lines.append(f"| {name} | {models} | {cells} |")
    return lines, found


def measure_table(root: Path) -> tuple[list[str], dict]:
    import numpy as np

    import sweeps
    from toymodels.activations import ACTIVATIONS

    from .shift_measure import phases_both_ways

    lines = [
        "| activation + control | rows | " + " | ".join(f"{b}: R / S / C %" for b in BANDS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in BANDS) + " |",
    ]
    found = {}
    for folder in sorted(p for p in root.iterdir() if (p / "run").exists()):
        summary = json.loads((folder / "summary.json").read_text())
        s = summary["settings"]
        if ACTIVATIONS[s["activation"]].shift_invariant is None:
            continue
        ds = sweeps.load(folder / "run").transpose("temperature", "volume_strength", "seed", ...)
        both = phases_both_ways(ds)
        tau = ds["temperature"].values
        lam = ds["volume_strength"].values
        cols = lam > 0 if (lam > 0).any() else np.ones(lam.shape, bool)
        name = f"{s['activation']} + {s['volume']}"
        found[name] = {}
        for kind in ("plain", "centred_abs", "centred"):
            cells = []
            found[name][kind] = {}
            for band, (lo, hi) in BANDS.items():
                rows = (tau >= lo * (1 - 1e-9)) & (tau <= hi * (1 + 1e-9))
                kept = both[kind][np.ix_(rows, cols)].ravel()
                if not kept.size:
                    found[name][kind][band] = None
                    cells.append("–")
                    continue
                shares = {p: float((kept == p).mean()) for p in PHASES}
                found[name][kind][band] = shares
                cells.append(" / ".join(f"{100 * shares[p]:.0f}" for p in PHASES))
            label = {
                "plain": "as they are, \\|cos\\|",
                "centred_abs": "centred, \\|cos\\|",
                "centred": "centred, cos (the measure)",
            }[kind]
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return lines, found


def questions_report(root: Path) -> tuple[str, dict]:
    """The markdown tables (:func:`band_table`, :func:`measure_table`) of the diagrams
    under ``root``, and their numbers."""
    bands, shares = band_table(root)
    measured, both = measure_table(root)
    return "\n".join([*bands, "", *measured]), {"bands": shares, "measure": both}
