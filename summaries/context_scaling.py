"""More contexts (Jarvis et al. 2025, the scaling claim): for K = 3, 4, 5 contexts, the
ReLU network's census and pathways, the trained GDLN's and the closed-form ReLN's
singular values of each pathway, and how the K − 1-context pathways' singular values
grow with K.

The published experiment (``diff_context_num/``) fixes, per K (:data:`PUBLISHED`):

- the data set: the hierarchy in every context block (``structure = "same"``; the
  published ``relu3.py``, ``gdln3.py`` and ``closed3.py`` call ``gen_data3(...,
  diff_struct=False)``), the context one-hots scaled by 1, 1.1, 1.35;
- the ReLU network: 700, 500, 600 units, initial weights ``N(0, (0.005/width)²)``,
  lr 1e-3, 8,001 epochs of full-batch gradient descent on ½·Σ squared error;
- the GDLN: 100 units a pathway, a common pathway and one pathway per set of K − 1
  contexts (for K = 3 also one per single context: ``gdln3.py`` has all six), the gated
  pathways trained on the common pathway's residual; initial weights
  ``N(0, (0.005/(100·pathways))²)``, which is the published common pathway's scale (for
  K = 3 the published gated pathways start twice as large: here one scale serves all);
- the closed form: a common pathway and one per K − 1 contexts
  (:func:`analytics.reln_theory.paper_pathways`), the published initial strengths.

**What the closed form predicts for the K − 1-context pathways.**  With the same
structure ``H`` in every context block, the common pathway ends having fitted every
additive function of object and context, so on a sample of object o in context c the
residual of context block k is ``(H[:, o] − h̄)(δ_ck − 1/K)`` (``h̄`` the mean column of
``H``).  The pathway that leaves out context j sees the drive
``S = Σ_{c≠j} r xᵀ / P`` with singular values ``√((K−1)/K) σ_α / P`` (``σ_α`` those of
``H − h̄``: 2.646, 1.732, 1.732, 1, 1, 1, 1; ``P = 8K``) and input variance
``D = (K − 1)/P`` along every object; the K − 1 pathways that serve each sample share it,
so each ends at the paper's ``(K − 1) S/D = √((K − 1)/K) σ_α``: 0.816, 0.866, 0.894 ×
``σ_α`` for K = 3, 4, 5.  The singular values grow with K, but as ``√((K − 1)/K)``, not
as ``K − 1``: the factor K − 1 is cancelled by ``D``, which grows with the samples the
pathway sees.  Against K = 3 the ratio is ``√(3(K − 1)/(2K))``: 1.061 (K = 4), 1.095
(K = 5), where ``(K − 1)/2`` alone would give 1.5 and 2 (:func:`scaling_ratios`).
The same factor sets the mode's learning rate (``2 S P lr``), so the pathways also learn
faster with K.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .json_values import listed
from .reln import pathways as relu_pathways
from .reln import strong_units
from .seed_selection import diverged_counts

if TYPE_CHECKING:
    import xarray as xr

CONTEXTS = (3, 4, 5)
OBJECTS = 8
GDLN_WIDTH = 100  # units a GDLN pathway (gdln{3,4,5}.py)
LR = 1e-3
EPOCHS = 8001
# A context pathway (a pattern other than all contexts) *wins* when its strong units
# carry at least this fraction of the strength of the strongest context pathway, averaged
# over seeds: measured on the default runs (5 seeds), the K − 1 patterns carry 0.90-0.98
# of the top, every other pattern at most 0.15 (3-context patterns at K = 5).
WIN_FRACTION = 0.3


@dataclass(frozen=True)
class Published:
    """One K of ``diff_context_num/``: ReLU width, context input scale, GDLN gating."""

    relu_width: int
    context_scale: float
    gdln_gating: str

    def gdln_pathways(self, k: int) -> int:
        return 1 + (k if self.gdln_gating == "all_but_one" else 2**k - 2)


PUBLISHED = {
    3: Published(700, 1.0, "subsets"),
    4: Published(500, 1.1, "all_but_one"),
    5: Published(600, 1.35, "all_but_one"),
}


def run_specs(
    k: int, seeds: int, epochs: int = EPOCHS, root_seed: int = 0, record_every: int = 100
) -> dict[str, dict]:
    """The sweep specs (``sweeps.spec.SweepSpec.from_dict`` input) of the ReLU network
    (``"relu"``) and the GDLN (``"gdln"``) of ``k`` contexts, published settings."""
    p = PUBLISHED[k]
    data = {"structure": "same", "context_scale": p.context_scale}
    train = {
        "steps": epochs,
        "lr": LR,
        "optimizer": "sgd",
        "estimator": "full",
        "record_every": min(record_every, max(1, epochs - 1)),
    }
    common = {"task": "contextual", "n_contexts": k, "seeds": seeds, "root_seed": root_seed}
    gdln_width = GDLN_WIDTH * p.gdln_pathways(k)
    return {
        "relu": common
        | {
            "name": f"contexts-{k}-relu",
            "family": "contextual_relu",
            "n_hidden": p.relu_width,
            "model": data | {"init_std": 0.005 / p.relu_width},
            "train": train,
            "description": f"multitask contexts: ReLU network, {k} contexts (published)",
        },
        "gdln": common
        | {
            "name": f"contexts-{k}-gdln",
            "family": "gdln",
            "n_hidden": GDLN_WIDTH,
            "model": data
            | {"init_std": 0.005 / gdln_width, "gating": p.gdln_gating, "training": "residual"},
            "train": train,
            "description": f"multitask contexts: GDLN, {k} contexts (published)",
        },
    }


# -- the ReLU network -------------------------------------------------------------------------
def census(relu: xr.Dataset, k: int | None = None) -> dict[str, list[int]]:
    """Per seed, the strong units active in every context (``all``), in K − 1
    (``all_but_one``), in another subset of two or more (``other_subsets``), in one
    (``single``); strong and active as in the run's census
    (``toymodels.families.contextual_networks``)."""
    k = _contexts(relu) if k is None else k
    strength = relu["unit_strength"].transpose("seed", "unit").values
    bits = relu["unit_contexts"].transpose("seed", "unit").values.astype(np.int64)
    active = sum((bits >> c) & 1 for c in range(k))
    strong = strong_units(strength)
    kinds = {
        "all": active == k,
        "all_but_one": active == k - 1,
        "other_subsets": (active > 1) & (active < k - 1),
        "single": active == 1,
    }
    return {name: (strong & mask).sum(1).astype(int).tolist() for name, mask in kinds.items()}


def _contexts(ds: xr.Dataset) -> int:
    from .run_settings import run_setting

    return int(run_setting(ds, "n_contexts"))


def pathway_shares(relu: xr.Dataset) -> dict[tuple[int, ...], float]:
    """Every context pattern (not all contexts) held by a strong unit in some seed, with
    its strength as a fraction of the seed's strongest such pattern, mean over seeds."""
    k = _contexts(relu)
    every = list(range(1, k + 1))
    found = relu_pathways(relu)
    shares: dict[tuple[int, ...], float] = {}
    for seed in found:
        context = [p for p in seed if p["contexts"] != every]
        top = max((p["strength"] for p in context), default=0.0)
        for p in context:
            key = tuple(p["contexts"])
            shares[key] = shares.get(key, 0.0) + (p["strength"] / top if top > 0 else 0.0)
    return {key: value / len(found) for key, value in shares.items()}


def winning_pathways(relu: xr.Dataset) -> list[list[int]]:
    """The context pathways that win (:data:`WIN_FRACTION`), most contexts first."""
    shares = pathway_shares(relu)
    won = [key for key, share in shares.items() if share >= WIN_FRACTION]
    return [list(key) for key in sorted(won, key=lambda m: (-len(m), m))]


# -- the GDLN and the closed form -----------------------------------------------------------
def gdln_singular_values(gdln: xr.Dataset) -> dict[str, list]:
    """Each pathway's singular values at the end, ``{name: [per seed: [s₁ ≥ s₂ ≥ …]]}``
    (a diverged seed's are null)."""
    from toymodels.families.gdln import pathway_names

    from .run_settings import run_setting

    k = _contexts(gdln)
    names = pathway_names(k, run_setting(gdln, "gating"), run_setting(gdln, "masks"))
    values = gdln["pathway_singular_values"].where(~gdln["diverged"])
    values = values.transpose("pathway", "seed", "singular").values
    return {name: listed(values[p]) for p, name in enumerate(names)}


def closed_form(k: int, lr: float = LR):
    """The closed-form ReLN of ``k`` contexts on the published data set and pathways."""
    from analytics.reln_theory import predict_reln
    from toymodels.contextual_data import ContextualConfig

    config = ContextualConfig(
        n_contexts=k, structure="same", context_scale=PUBLISHED[k].context_scale
    )
    return predict_reln(config, lr)


def pathway_name(contexts) -> str:
    """``common`` for every context, else ``ctx1+2`` (as the GDLN names its pathways)."""
    return "ctx" + "+".join(str(c) for c in contexts)


def closed_form_singular_values(k: int, epoch: float, lr: float = LR) -> dict[str, list]:
    """Each closed-form pathway's mode strengths at ``epoch``, largest first."""
    prediction = closed_form(k, lr)
    every = tuple(range(1, k + 1))
    out = {}
    for p in prediction.pathways:
        name = "common" if p.contexts == every else pathway_name(p.contexts)
        out[name] = sorted(p.strength([epoch], prediction.tau)[0].tolist(), reverse=True)
    return out


def all_but_one_names(k: int) -> list[str]:
    """The names of the K − 1-context pathways."""
    from itertools import combinations

    return [pathway_name(c) for c in combinations(range(1, k + 1), k - 1)]


def top_mean(values: dict[str, list], names: list[str]) -> float | None:
    """The mean over ``names`` (and seeds, when a value is per seed) of the top singular
    value; None when nothing is finite."""
    tops = []
    for name in names:
        entry = values[name]
        rows = entry if entry and isinstance(entry[0], list | type(None)) else [entry]
        tops += [row[0] for row in rows if row is not None and row[0] is not None]
    tops = [t for t in tops if np.isfinite(t)]
    return float(np.mean(tops)) if tops else None


def scaling_ratios(top: dict[int, float | None], reference: int = 3) -> dict[str, dict]:
    """Per K, the K − 1-context pathways' top singular value ``top[K]`` over
    ``top[reference]``, beside the closed form's ratio ``√(3(K − 1)/(2K))`` and the
    factor ``(K − 1)/(reference − 1)`` alone (module docstring)."""
    base = top.get(reference)
    out = {}
    for k, value in top.items():
        ratio = value / base if value is not None and base else None
        out[str(k)] = {
            "ratio": ratio,
            "predicted": float(np.sqrt((k - 1) * reference / (k * (reference - 1)))),
            "k_minus_1_factor": (k - 1) / (reference - 1),
        }
    return out


def summarise_contexts(runs: dict[int, tuple]) -> dict:
    """``summary.json`` of ``multitask contexts``: ``runs[K] = (relu, gdln)``; the closed
    form at the GDLN's last recorded epoch."""
    per = []
    gdln_top, closed_top = {}, {}
    for k, (relu, gdln) in runs.items():
        trained = gdln_singular_values(gdln)
        last = int(gdln["step"].values[-1])
        closed = closed_form_singular_values(k, last)
        names = all_but_one_names(k)
        gdln_top[k], closed_top[k] = top_mean(trained, names), top_mean(closed, names)
        p = PUBLISHED[k]
        per.append(
            {
                "contexts": k,
                "settings": {
                    "structure": "same",
                    "context_scale": p.context_scale,
                    "relu_hidden": p.relu_width,
                    "gdln_hidden_per_pathway": GDLN_WIDTH,
                    "gdln_gating": p.gdln_gating,
                    "seeds": int(relu.sizes["seed"]),
                    "epochs": last,
                    "lr": LR,
                },
                "census": census(relu),
                "winning_pathways": winning_pathways(relu),
                "pathway_shares": {
                    pathway_name(key): share for key, share in pathway_shares(relu).items()
                },
                "relu_final_loss": listed(relu["loss"].values),
                "gdln_final_loss": listed(gdln["loss"].values),
                "pathway_singular_values": trained,
                "closed_form_singular_values": closed,
                "all_but_one_top_singular_value": {
                    "gdln": gdln_top[k],
                    "closed_form": closed_top[k],
                },
            }
        )
    scaling = {"gdln": scaling_ratios(gdln_top), "closed_form": scaling_ratios(closed_top)}
    diverged = [diverged_counts(ds) for pair in runs.values() for ds in pair]
    return {
        "contexts": list(runs),
        "per_contexts": per,
        "scaling": scaling,
        **{key: sum(d[key] for d in diverged) for key in ("diverged_models", "diverged_cells")},
        "definitions": {
            "winning_pathways": f"context patterns whose strong ReLU units carry >= "
            f"{WIN_FRACTION} of the strongest context pattern's strength (mean over seeds)",
            "scaling": "top singular value of the K-1-context pathways (mean over them and "
            "the seeds) over K = 3's; predicted: sqrt(3(K-1)/(2K)), the closed form's "
            "(K-1)S/D; k_minus_1_factor: (K-1)/2 alone",
        },
    }
