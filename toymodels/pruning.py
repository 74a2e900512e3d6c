"""A trained layer of units with some units removed, retrained nothing: its task loss (and
the task's metrics, e.g. accuracy) on fresh examples.

A family whose model is ``W₂ act(W₁ x + b₁) + b₂`` (``toymodels.families.unit_layer``)
is rebuilt from its stored parameters; ``keep [model, unit]`` says which units remain.
Removing a unit means the layer as if the unit had never been there:

- its logit is set to the activation's ``removed_logit`` *before* the activation, so a
  competitive activation competes among the units that remain: −∞ for most, so a softmax
  renormalises over them (the removed unit's share goes to the others, as the layer's
  responsibilities would without it), k-WTA picks its k winners among them, LWTA and the
  grouped softmax their block's winner or share; 0 for ``l2_norm``, whose units share a
  norm a removed unit must not enter;
- its output is then 0, so its read-out column ``W₂[:, k]`` adds nothing;
- a LayerNorm over the units (``solu_ln``) takes its mean and variance over the units that
  remain.

The other choice for a normalised activation, zeroing the removed unit's output after the
normalisation, leaves the remaining outputs summing to less than 1: the read-out then sees
a layer whose total activity the trained weights never saw (the missing share is a shift
of ``b₂`` that no unit made), and the "loss after pruning" measures that shift rather than
what the remaining units can do.  Masking the logit keeps the layer a proper distribution
over the units left, the layer a smaller softmax layer with the same weights would be.
For ReLU, linear and the hard winner-take-all activations of one unit per block, the two
choices agree (a unit with logit −∞ outputs 0 and takes no one's place).

The examples are the final loss's (``toymodels.seeds.STREAM_EVAL``, ``eval_batch`` of them,
as ``toymodels.engine.evaluate`` draws them), fresh to training: with every unit kept the
loss is the stored one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import numpy as np
import torch

# engine.evaluate draws the final loss's examples in blocks of _EVAL_ROWS rows: the same
# blocks give the same examples
from .engine import _EVAL_ROWS as EVAL_ROWS
from .families import FAMILIES
from .families.unit_layer import UnitLayer
from .linear_algebra import baddbmm
from .random_words import UniformBlocks
from .seeds import STREAM_EVAL
from .threads import torch_threads

# A LayerNorm's ε, as the solu_ln activation's (torch.nn.functional.layer_norm's default).
LAYER_NORM_EPS = 1e-5


def masked_activation(act, z: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``act`` on the logits ``z [model, unit, example]`` of a layer whose units
    ``keep [model, unit]`` remain (module docstring): removed logits set to the
    activation's ``removed_logit`` (−∞; 0 for ``l2_norm``) before the activation,
    removed outputs 0, a LayerNorm over the remaining units."""
    kept = keep.unsqueeze(-1)
    masked = z.masked_fill(~kept, act.removed_logit)
    if not getattr(act, "layer_norm", False):
        # where, not a product: a removed unit's output may be −∞ or NaN (−∞ · 0 in SoLU)
        return torch.where(kept, act(masked), 0.0)
    plain = copy.copy(act)  # solu_ln: SoLU, then the LayerNorm over the remaining units
    plain.layer_norm = False
    s = torch.where(kept, plain(masked), 0.0)
    count = kept.sum(1, keepdim=True).clamp_min(1)
    centred = torch.where(kept, s - s.sum(1, keepdim=True) / count, 0.0)
    sigma = torch.sqrt(centred.square().sum(1, keepdim=True) / count + LAYER_NORM_EPS)
    return centred / sigma


def rebuilt(configs: Sequence, seeds: Sequence, params: Mapping[str, np.ndarray]) -> UnitLayer:
    """The batch of models of ``configs`` (one per seed) holding the stored ``params``
    (``name → [model, *dims]``)."""
    family = FAMILIES[configs[0].family]
    if not issubclass(family, UnitLayer):
        raise ValueError(f"family {family.name} is not a layer of units read out linearly")
    model = family(configs, seeds)
    with torch.no_grad():
        for name in family.params:
            getattr(model, name).copy_(torch.as_tensor(np.asarray(params[name])))
    return model


@torch.no_grad()
def pruned_scores(
    configs: Sequence,
    seeds: Sequence,
    params: Mapping[str, np.ndarray],
    keep: np.ndarray,
    eval_batch: int,
) -> dict[str, np.ndarray]:
    """The task loss (``loss``) and the task's metrics (``accuracy`` on clusters), each
    ``[mask, model]``, of the models of ``configs``/``seeds`` with their stored ``params``
    and the units ``keep [mask, model, unit]`` (bool) left, on ``eval_batch`` fresh
    examples per model (the final loss's); batched over models, the examples drawn once
    and shared by every mask."""
    # One thread: the tensors are small, and several threads on a shared machine spend
    # more time waiting for one another than computing (as the training engine does).
    with torch_threads(1):
        return _scores(rebuilt(configs, seeds, params), keep, eval_batch)


def _scores(model: UnitLayer, keep: np.ndarray, eval_batch: int) -> dict[str, np.ndarray]:
    keep = torch.as_tensor(np.asarray(keep, dtype=bool))
    if keep.ndim != 3 or keep.shape[1:] != model.b1.shape:
        raise ValueError(f"keep is {tuple(keep.shape)}; needs [mask, {model.n_models}, units]")
    task = model.task
    rows = min(eval_batch, EVAL_ROWS)
    blocks = UniformBlocks(model.seeds, STREAM_EVAL, task.sample_shape(task.configs[0], rows))
    batches, remaining = [], eval_batch
    while remaining > 0:
        take = min(rows, remaining)
        batches.append(task.draw(blocks.next()).first(take))
        remaining -= take
    W = model.unit_weights()
    scores: dict[str, list] = {}
    for mask in keep:
        totals: dict[str, torch.Tensor] = {}
        for batch in batches:
            a = masked_activation(model.activation, model.logits(batch.x, W), mask)
            out = baddbmm(model.b2.unsqueeze(-1), model.W2, a)
            found = {"loss": task.loss(out, batch, 1.0)}
            for name, value in task.metrics(out, batch).items():
                found[name] = value * batch.x.shape[-1]  # a mean over the batch: weigh it
            for name, value in found.items():
                totals[name] = totals.get(name, 0.0) + value.double()
        for name, total in totals.items():
            scores.setdefault(name, []).append((total / eval_batch).numpy())
    return {name: np.stack(values) for name, values in scores.items()}


def removal_order(score: np.ndarray) -> np.ndarray:
    """``[model, unit]``: each model's units, the lowest ``score [model, unit]`` first (ties
    by unit index, so the order is reproducible)."""
    return np.argsort(np.asarray(score), axis=-1, kind="stable")


def keep_masks(order: np.ndarray, removed: Sequence[int]) -> np.ndarray:
    """``[len(removed), model, unit]`` bool: with ``removed[i]`` units taken off each model
    in ``order [model, unit]`` (first first), the units left."""
    order = np.asarray(order)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[-1])[None, :], axis=-1)
    return np.stack([rank >= n for n in removed])
