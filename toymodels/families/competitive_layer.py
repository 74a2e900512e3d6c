"""A hidden layer whose units compete: ``x → z = W x + b → act(z) → W₂ a + b₂``.

The activation (``toymodels.activations``) decides whether the K units interact: ReLU's
Jacobian is diagonal, a softmax at temperature τ gives them a zero-sum budget.  The
volume control (``toymodels.volumes``, strength λ per model) is what may keep a
competitive layer from collapsing onto one unit.  τ and λ are per-model fields, so a
τ × λ phase diagram trains as one batch.

Tasks:

- ``clusters``: classify a Gaussian mixture through the layer and a linear read-out;
- ``features``: reconstruct sparse features through the layer (competition against
  superposition);
- ``annealing``: no read-out; the units are prototypes with distance logits
  ``z_k = −‖x − w_k‖²`` and the model's output is each example's free energy
  ``−τ log Σ_k exp(z_k/τ)`` (the activation must be the softmax).

Metrics (on the probe examples, thresholds in ``toymodels.phases.layer_competition``):
``usage`` ``p̄_k`` (unit k's share of the responsibilities over the probe examples, see
``Activation.responsibilities`` and :func:`usage_of`), the usage
entropy ``H(p̄)`` and ``exp H(p̄)`` (effective units), the mean per-example entropy
``H̄``, the dead fraction (usage below ``DEAD_SHARE/K``), the largest |cos| between unit
rows and the effective rank of the rows (σ variant), and the number of distinct alive
units.  For hyperplane units the rows are the weights ``w_k`` (after weight
normalisation) and two units are alike at ``|cos| > SAME_DIRECTION``; prototypes are
taken about the probe mean, alike when closer than ``SAME_PLACE`` times the data's RMS
radius.

The training objective is the task loss plus the volume control's penalty; the stored
loss is the task loss alone.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import unit_metrics
from ..activations import ACTIVATIONS
from ..errors import ConfigError
from ..fields import NONNEGATIVE, POSITIVE, Config, choice, integer, param
from ..linear_algebra import baddbmm
from ..outputs import Output
from ..phases import layer_competition as rule
from ..seeds import STREAM_INIT, generator
from ..tasks import TASKS, Batch
from ..volumes import VOLUMES
from .base import ToyModel

# Running usage of a unit (for revival) follows the batches with this weight on the newest.
USAGE_EMA = 0.1
# Bytes of one [chunk, unit, example] float32 tensor in the hand-derived gradient: a step
# makes a dozen passes over such tensors, cheaper while they stay in cache.  Measured at
# K = 16, batch 256 on 2 cores: 256 KiB chunks ran 1.6x slower per model (per-call
# overhead), one chunk of 512 models 1.06x slower.
CHUNK_BYTES = 1024 * 1024


def usage_of(r: torch.Tensor) -> torch.Tensor:
    """``p̄ [model, unit]``: each unit's share of the responsibilities ``r [model, unit,
    example]`` over the examples.  For a normalised activation this is the mean of ``r``;
    a ReLU example where no unit fires has no responsibility to share and does not count."""
    total = r.sum((1, 2)).clamp_min(torch.finfo(r.dtype).tiny)
    return r.sum(-1) / total.unsqueeze(-1)


@dataclass(frozen=True)
class CompetitionConfig(Config):
    owner = "family competition"

    n_hidden: int = param(8, integer(1), top=True, help="hidden units K")
    activation: str = param(
        "softmax", choice("activation", lambda: ACTIVATIONS), help="the layer's activation"
    )
    temperature: float = param(
        1.0, POSITIVE, per_model=True, help="τ of softmax-type activations (final τ if annealed)"
    )
    group_size: int = param(2, integer(1), help="U: block size of grouped_softmax and lwta")
    k_active: int = param(2, integer(1), help="k: units kwta keeps")
    volume: str = param(
        "none", choice("volume control", lambda: VOLUMES), help="what counters collapse"
    )
    volume_strength: float = param(
        0.0, NONNEGATIVE, per_model=True, help="λ, the volume control's strength"
    )


class CompetitiveLayer(ToyModel):
    """A hidden layer of K competing units (see module docstring)."""

    name = "competition"
    Config = CompetitionConfig
    tasks = ("clusters", "annealing", "features")
    estimators = ("sampled", "full")
    hand_gradient = True
    params = {
        "W1": Output(("unit", "input"), "float32", "row k: unit k's weight vector (or prototype)"),
        "b1": Output(("unit",), "float32", "hidden bias (unused by prototypes)"),
        "gain": Output(("unit",), "float32", "unit gains g_k (used by weight normalisation)"),
        "W2": Output(("output", "unit"), "float32", "read-out weights (unused by prototypes)"),
        "b2": Output(("output",), "float32", "read-out bias (unused by prototypes)"),
    }
    weights = ("W1", "W2")
    metrics = {
        "unit_norm": Output(("unit",), "float32", "|w_k| of each unit row"),
        "usage": Output(("unit",), "float32", "p̄_k: each unit's share of the responsibilities"),
        "max_abs_cos": Output((), "float32", "largest |cos| between two unit rows"),
        "effective_rank": Output(
            (), "float32", "exp H(σ/Σσ), σ the singular values of the unit rows"
        ),
        "usage_entropy": Output((), "float32", "H(p̄) in nats"),
        "effective_units": Output((), "float32", "exp H(p̄): K when every unit is used alike"),
        "sample_entropy": Output(
            (), "float32", "H̄: mean entropy of one example's responsibilities"
        ),
        "dead_fraction": Output((), "float32", f"share of units with p̄_k < {rule.DEAD_SHARE}/K"),
        "n_distinct": Output((), "float32", "groups of alike alive units"),
    }
    metrics_use_data = True
    phase_rule = rule.LAYER_COMPETITION_RULE
    definitions = {
        "dead": f"usage p̄_k < {rule.DEAD_SHARE}/K",
        "alike": f"|cos| > {rule.SAME_DIRECTION} (hyperplanes), distance < "
        f"{rule.SAME_PLACE} x RMS radius of the data (prototypes)",
        "collapsed": f"exp H(p̄) < {rule.COLLAPSED_UNITS} or dead fraction > {rule.COLLAPSED_DEAD}",
        "redundant": f"distinct / alive units <= {rule.REDUNDANT_SHARE}",
        "specialised": "neither",
        "effective_rank": "exp of the entropy of the normalised singular values (σ, not σ²)",
    }

    # -- declarations -------------------------------------------------------------------
    @classmethod
    def dims(cls, config) -> dict[str, int]:
        return {"unit": config.arch.n_hidden, **TASKS[config.task].dims(config.data)}

    @classmethod
    def validate(cls, config) -> None:
        arch, task = config.arch, config.task
        act = ACTIVATIONS[arch.activation]
        if task == "annealing" and arch.activation != "softmax":
            raise ConfigError(
                f'activation "{arch.activation}" does not apply to the annealing task: its '
                "responsibilities are the softmax of distance logits; use softmax"
            )
        reason = act.refusal(arch)
        if reason:
            raise ConfigError(reason)
        control = VOLUMES[arch.volume]
        reason = control.refusal(act, task)
        if reason:
            raise ConfigError(
                f'volume control "{arch.volume}" does not apply to {arch.activation} on '
                f"{task}: {reason}"
            )
        top = control.max_strength
        if top is not None and arch.volume_strength > top:
            raise ConfigError(
                f"volume_strength={arch.volume_strength:g} is above {top:g}, the most "
                f'volume control "{arch.volume}" allows'
                + ("; set a volume control to use a strength" if top == 0 else "")
            )

    # -- the model ------------------------------------------------------------------------
    def initialise(self, init_scale: float) -> None:
        configs, dtype = self.configs, self.dtype
        sizes = self.dims(configs[0])
        d, k, out = sizes["input"], sizes["unit"], sizes["output"]
        std1 = init_scale * math.sqrt(2.0 / (d + k))
        std2 = init_scale * math.sqrt(2.0 / (k + out))
        w1, w2 = [], []
        for s in self.seeds:
            rng = generator(s, STREAM_INIT)
            w1.append(rng.standard_normal((k, d)) * std1)
            w2.append(rng.standard_normal((out, k)) * std2)
        W1 = torch.as_tensor(np.stack(w1), dtype=dtype)
        self.W1 = torch.nn.Parameter(W1)
        self.b1 = torch.nn.Parameter(torch.zeros(len(configs), k, dtype=dtype))
        # weight normalisation starts from the same effective rows as the others
        self.gain = torch.nn.Parameter(W1.norm(dim=-1))
        self.W2 = torch.nn.Parameter(torch.as_tensor(np.stack(w2), dtype=dtype))
        self.b2 = torch.nn.Parameter(torch.zeros(len(configs), out, dtype=dtype))
        arch = [c.arch for c in configs]
        self.activation = ACTIVATIONS[arch[0].activation](arch)
        self.volume = VOLUMES[arch[0].volume](arch, self.seeds, dtype)
        self.prototypes = self.task.free_energy
        self.base_temperature = torch.tensor([a.temperature for a in arch], dtype=torch.float64)
        self.temperature = self.base_temperature.to(dtype)
        self.usage_ema = torch.full((len(configs), k), 1.0 / k, dtype=dtype)
        self.step, self.steps = 0, 1
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def unit_weights(self) -> torch.Tensor:
        """The unit rows the layer uses ``[model, unit, input]``."""
        return self.volume.unit_weights(self.W1, self.gain)

    def logits(self, x: torch.Tensor, W: torch.Tensor | None = None) -> torch.Tensor:
        """``z [model, unit, example]``: affine, or minus squared distances to prototypes."""
        W = self.unit_weights() if W is None else W
        if self.prototypes:
            cross = torch.bmm(W, x)
            return 2.0 * cross - (W * W).sum(-1, keepdim=True) - (x * x).sum(1, keepdim=True)
        return baddbmm(self.b1.unsqueeze(-1), W, x)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        if self.prototypes:
            return torch.softmax(z / self.temperature.view(-1, 1, 1), dim=1)
        return self.activation.responsibilities(z)

    def _output(self, z: torch.Tensor) -> torch.Tensor:
        if self.prototypes:
            tau = self.temperature.view(-1, 1, 1)
            return -tau * torch.logsumexp(z / tau, dim=1, keepdim=True)
        return baddbmm(self.b2.unsqueeze(-1), self.W2, self.activation(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._output(self.logits(x))

    def objective(self, batch: Batch, row_weight) -> torch.Tensor:
        """Training objective per model: the task loss on the (possibly masked) layer plus
        the volume control's penalty."""
        W = self.unit_weights()
        z = self.logits(batch.x, W)
        loss = self.task.loss(self._output(self.volume.mask_logits(z)), batch, row_weight)
        usage = None
        if self.volume.needs_usage:
            usage = usage_of(self.responsibilities(z))
            self.usage_ema.lerp_(usage.detach(), USAGE_EMA)
            self._last = (batch.x.detach(), z.detach())
        extra = self.volume.penalty(W, self.gain, usage)
        return loss if extra is None else loss + extra

    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        """The objective's gradient.  Hyperplane layers whose volume control does not act
        on the data (none, weightnorm, anneal, logdet, orthogonality) take the hand-derived
        path: one pass over cache-sized chunks of models, each running the forward, the
        task loss's gradient with respect to its outputs (``loss_and_output_grad``) and the
        backward with the activation's vector-Jacobian product; 1/τ is folded into the
        weights for ``scale_free`` activations.  Prototypes and data-side controls use
        autograd."""
        control = self.volume
        if self.prototypes or control.needs_usage or control.masks:
            return super().batch_loss_and_grad(batch, row_weight, need_loss)
        v, g = self.W1.detach().requires_grad_(), self.gain.detach().requires_grad_()
        with torch.enable_grad():  # only the unit rows: weight normalisation and penalty
            W = control.unit_weights(v, g)
            extra = control.penalty(W, g, None)
        rows_w, x = W.detach(), batch.x
        b1, W2, b2 = self.b1.detach(), self.W2.detach(), self.b2.detach()
        grad_w = torch.empty_like(rows_w)
        loss = torch.empty(self.n_models, dtype=x.dtype)
        for rows, act, task, inv_tau in self._chunks(x.shape[-1]):
            xr = x[rows]
            if inv_tau is None:
                z = torch.baddbmm(b1[rows].unsqueeze(-1), rows_w[rows], xr)
                a = act(z)
            else:  # z/τ straight from the weights scaled by 1/τ
                z = torch.baddbmm(
                    (b1[rows] * inv_tau).unsqueeze(-1), rows_w[rows] * inv_tau.unsqueeze(-1), xr
                )
                a = act.unit(z)
            out = torch.baddbmm(b2[rows].unsqueeze(-1), W2[rows], a)
            loss[rows], G = task.loss_and_output_grad(out, batch.models(rows), row_weight)
            torch.bmm(G, a.transpose(1, 2), out=self.W2.grad[rows])
            torch.sum(G, -1, out=self.b2.grad[rows])
            grad_a = torch.bmm(W2[rows].transpose(1, 2), G)
            if inv_tau is None:
                grad_z = act.backward(z, a, grad_a)
            else:  # the gradient with respect to z/τ; 1/τ goes onto the small results
                grad_z = act.unit_backward(a, grad_a)
            torch.bmm(grad_z, xr.transpose(1, 2), out=grad_w[rows])
            torch.sum(grad_z, -1, out=self.b1.grad[rows])
            if inv_tau is not None:
                grad_w[rows] *= inv_tau.view(-1, 1, 1)
                self.b1.grad[rows] *= inv_tau
        with torch.enable_grad():
            total = (W * grad_w).sum() + (0.0 if extra is None else extra.sum())
            gv, gg = torch.autograd.grad(total, (v, g), allow_unused=True)
        self.W1.grad.copy_(gv)
        if gg is None:
            self.gain.grad.zero_()
        else:
            self.gain.grad.copy_(gg)
        if not need_loss:
            return None
        return loss if extra is None else loss + extra.detach()

    def _chunks(self, examples: int):
        """Cache-sized row slices of the models, each with its activation (the per-model
        temperature sliced to the rows), its task and, for a ``scale_free`` activation,
        ``1/τ [rows, 1]``; the gradient tensors are allocated once."""
        for p in self.parameters():
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        k = self.W1.shape[1]
        size = max(1, CHUNK_BYTES // (4 * k * examples))
        key = (size, id(getattr(self.activation, "temperature", None)))
        if getattr(self, "_chunk_key", None) != key:
            chunks = []
            for start in range(0, self.n_models, size):
                rows = slice(start, min(start + size, self.n_models))
                act = copy.copy(self.activation)
                inv_tau = None
                if act.uses_temperature:
                    act.temperature = self.activation.temperature[rows]
                    if act.scale_free:
                        inv_tau = 1.0 / self.temperature[rows].view(-1, 1)
                chunks.append((rows, act, self.task.rows(rows), inv_tau))
            self._chunk_list = chunks
            self._chunk_key = key
        return self._chunk_list

    def begin_step(self, step: int, steps: int) -> None:
        self.step, self.steps = step, steps
        factor = self.volume.temperature_factor(step, steps)
        tau = self.base_temperature if factor is None else self.base_temperature * factor
        self.set_temperature(tau)

    def end_step(self) -> None:
        self.volume.after_step(self)

    def set_temperature(self, tau: torch.Tensor) -> None:
        if torch.equal(tau.to(self.dtype), self.temperature):
            return  # a fixed temperature: keep the activation (and its chunks) as they are
        self.temperature = tau.to(self.dtype)
        self.activation.set_temperature(tau)

    @torch.no_grad()
    def revive(self, dead: torch.Tensor) -> None:
        """Move each model's ``dead [model, unit]`` units onto the examples of the last
        batch that its alive units claim least (lowest largest logit), one example each,
        so that each revived unit wins its example."""
        x, z = self._last
        alive = ~dead
        claim = z.masked_fill(~alive.unsqueeze(-1), float("-inf")).amax(1)  # [model, example]
        order = claim.argsort(-1)
        rank = (dead.cumsum(-1) - 1).clamp(0, order.shape[-1] - 1)
        pick = torch.gather(order, 1, rank)  # [model, unit]: its example
        target = torch.gather(x, 2, pick.unsqueeze(1).expand(-1, x.shape[1], -1)).transpose(1, 2)
        where = dead.unsqueeze(-1)
        if self.prototypes:
            self.W1.copy_(torch.where(where, target, self.W1))
            return
        W = self.unit_weights()
        norm = (W.norm(dim=-1) * alive).sum(-1) / alive.sum(-1).clamp_min(1)  # [model]
        unit = target / target.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        rows = unit * norm.view(-1, 1, 1)
        claim_at = torch.gather(claim, 1, pick)
        claim_at = torch.where(torch.isfinite(claim_at), claim_at, 0.0)
        bias = claim_at - (rows * target).sum(-1) + self.temperature.view(-1, 1)
        self.W1.copy_(torch.where(where, rows, self.W1))
        self.gain.copy_(torch.where(dead, norm.view(-1, 1).expand_as(dead), self.gain))
        self.b1.copy_(torch.where(dead, bias, self.b1))
        self.W2.copy_(torch.where(dead.unsqueeze(1), 0.0, self.W2))
        self.usage_ema.masked_fill_(dead, 1.0 / dead.shape[1])

    # -- metrics --------------------------------------------------------------------------
    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        W = self.unit_weights().detach()
        z = self.logits(probe.x, W)
        r = self.responsibilities(z)
        usage = usage_of(r)
        k = usage.shape[1]
        h = unit_metrics.entropy(usage)
        alive = usage >= rule.DEAD_SHARE / k
        if self.prototypes:
            centre = probe.x.mean(-1, keepdim=True).transpose(1, 2)
            rows = W - centre
            spread = (probe.x - centre.transpose(1, 2)).pow(2).sum(1).mean(-1).sqrt()
            cos = unit_metrics.abs_cos(rows)
            same = torch.cdist(rows, rows) < rule.SAME_PLACE * spread.view(-1, 1, 1)
        else:
            rows = torch.cat([W, self.b1.detach().unsqueeze(-1)], dim=-1)
            cos = unit_metrics.abs_cos(rows)
            same = cos > rule.SAME_DIRECTION
        return {
            "unit_norm": unit_metrics.unit_norm(W),
            "usage": usage,
            "max_abs_cos": unit_metrics.max_off_diagonal(cos),
            "effective_rank": unit_metrics.effective_rank(rows),
            "usage_entropy": h,
            "effective_units": h.exp(),
            "sample_entropy": unit_metrics.entropy(r, dim=1).mean(-1),
            "dead_fraction": (~alive).to(W.dtype).mean(-1),
            "n_distinct": unit_metrics.n_distinct(same, alive),
        }
