"""The ``competition`` family: a hidden layer whose units compete,
``x → z = W x + b → act(z) → W₂ a + b₂`` (``toymodels.families.unit_layer``).

The activation (``toymodels.activations``) decides whether the K units interact: ReLU's
Jacobian is diagonal, a softmax at temperature τ gives them a zero-sum budget.  The
volume control (``toymodels.volumes``, strength λ per model) is what may keep a
competitive layer from collapsing onto one unit (``toymodels.families.competing_units``).

Tasks:

- ``clusters``: classify a Gaussian mixture through the layer and a linear read-out;
- ``features``: reconstruct sparse features through the layer (competition against
  superposition).

(Prototypes with distance logits, on the ``annealing`` task, are the ``prototypes``
family.)  Metrics are the unit layer's (``toymodels.unit_metrics``), on the probe
examples; the unit rows are ``[w_k, b_k]`` after weight normalisation.  The phase rule
is ``toymodels.phases.layer_competition``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .. import unit_metrics
from ..fields import integer, param
from ..linear_algebra import baddbmm
from ..model_chunks import model_chunks, models_per_chunk, prepare_grads
from ..outputs import Output
from ..phases import layer_competition as rule
from ..tasks import Batch
from ..volumes import volume_control
from .competing_units import COMPETING_METRICS, USAGE_EMA, CompetingUnits, CompetingUnitsConfig
from .unit_layer import UNIT_METRICS, UnitLayer

# Bytes of one [chunk, unit, example] float32 tensor in the hand-derived gradient: a step
# makes a dozen passes over such tensors, cheaper while they stay in cache.  Measured at
# K = 16, batch 256 on 2 cores: 256 KiB chunks ran 1.6x slower per model (per-call
# overhead), one chunk of 512 models 1.06x slower.
LAYER_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CompetitionConfig(CompetingUnitsConfig):
    owner = "family competition"

    group_size: int = param(2, integer(1), help="U: block size of grouped_softmax and lwta")
    k_active: int = param(2, integer(1), help="k: units kwta keeps")


class CompetitiveLayer(CompetingUnits, UnitLayer):
    """W₂ act(W₁ x + b₁) + b₂ with a competitive activation and a volume control: K units
    that may duplicate one another, share the work, or collapse onto one."""

    name = "competition"
    Config = CompetitionConfig
    tasks = ("clusters", "features")
    estimators = ("sampled", "full")
    hand_gradient = True
    params = {
        "W1": Output(("unit", "input"), "float32", "row k: unit k's weight vector"),
        "b1": Output(("unit",), "float32", "hidden bias"),
        "gain": Output(("unit",), "float32", "unit gains g_k (used by gain_norm)"),
        "W2": Output(("output", "unit"), "float32", "read-out weights"),
        "b2": Output(("output",), "float32", "read-out bias"),
        "tau_shift": Output((), "float32", "s: τ = τ₀ e^(λs) under learned_tau (else unused)"),
    }
    metrics = {**UNIT_METRICS, **COMPETING_METRICS}
    phase_rule = rule.LAYER_COMPETITION_RULE
    definitions = {**UnitLayer.definitions, **rule.DEFINITIONS}

    @classmethod
    def validate(cls, config) -> None:
        super().validate(config)
        cls.check_volume(config)

    @classmethod
    def uses_hand_gradient(cls, config) -> bool:
        """The hand-derived path, unless the volume control's gradient goes through the
        data or the temperature (a penalty on the usage, masked or normalised logits, a
        learned τ): those take autograd.  A control that only reads the usage (revival)
        takes the hand path, which tracks the usage as it goes."""
        return not volume_control(config.arch.volume).acts_on_data()

    # -- the model ------------------------------------------------------------------------
    def initial_params(self, init_scale: float) -> dict[str, torch.Tensor]:
        start = super().initial_params(init_scale)
        # gain_norm starts from the same effective rows as the others
        shift = torch.zeros(self.n_models, dtype=self.dtype)
        return start | {"gain": start["W1"].norm(dim=-1), "tau_shift": shift}

    def initialise(self, init_scale: float) -> None:
        super().initialise(init_scale)
        self.start_competition(self.W1.shape[1])

    def unit_weights(self) -> torch.Tensor:
        return self.volume.unit_weights(self.W1, self.gain)

    def logits(self, x: torch.Tensor, W: torch.Tensor | None = None) -> torch.Tensor:
        """The unit layer's logits as the activation sees them (batch normalisation, when
        the volume control normalises them); a learned τ is brought up to date here too,
        so whatever reads the activation next (``output``, ``hidden``) uses it."""
        self._learned_temperature()
        return self.volume.normalise_logits(super().logits(x, W))

    def output(self, z: torch.Tensor) -> torch.Tensor:
        self._learned_temperature()
        return super().output(z)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        self._learned_temperature()
        return super().responsibilities(z)

    def _learned_temperature(self) -> None:
        """Under a learned temperature, give the activation τ = τ₀ e^(λs) from the
        parameter as it is now (a differentiable tensor while gradients are on)."""
        if self.volume.learns_temperature:
            tau = self.temperature_in_use()
            self.activation.temperature = tau
            self.temperature = tau.detach().to(self.dtype)

    @torch.no_grad()
    def compute_metrics(self, probe: Batch | None) -> dict[str, torch.Tensor]:
        found = super().compute_metrics(probe)
        return found | {"final_temperature": self.temperature_in_use().to(self.dtype)}

    def set_temperature(self, tau: torch.Tensor) -> bool:
        changed = super().set_temperature(tau)
        if changed:  # a fixed temperature keeps the activation (and its chunks) as they are
            self.activation.set_temperature(tau)
        return changed

    def batch_loss_and_grad(self, batch: Batch, row_weight, need_loss: bool = True):
        """The objective's gradient.  Where the volume control's gradient does not go
        through the data or the temperature (every control but entropy, dropout,
        batchnorm and learned_tau, and lists of those), the hand-derived path: one pass
        over cache-sized chunks of models, each running the forward, the task loss's
        gradient with respect to its outputs (``loss_and_output_grad``) and the backward
        with the activation's vector-Jacobian product; 1/τ is folded into the weights for
        ``scale_free`` activations.  A control that reads the usage (revival) gets it as
        :meth:`objective` makes it: each chunk adds its models' usage of the batch and
        logits, and the running usage and the last batch are updated after the pass.  The
        others use autograd."""
        if not self.uses_hand_gradient(self.configs[0]):
            return super().batch_loss_and_grad(batch, row_weight, need_loss)
        control = self.volume
        v, g = self.W1.detach().requires_grad_(), self.gain.detach().requires_grad_()
        with torch.enable_grad():  # only the unit rows: weight normalisation and penalty
            W = control.unit_weights(v, g)
        rows_w, x = W.detach(), batch.x
        b1, W2, b2 = self.b1.detach(), self.W2.detach(), self.b2.detach()
        grad_w = torch.empty_like(rows_w)
        loss = torch.empty(self.n_models, dtype=x.dtype)
        track = control.needs_usage  # the usage and the logits of the batch, as objective's
        if track:
            logits = torch.empty(self.n_models, rows_w.shape[1], x.shape[-1], dtype=x.dtype)
            usage = torch.empty(self.n_models, rows_w.shape[1], dtype=x.dtype)
        prepare_grads(self)
        for chunk in self._chunks(x.shape[-1]):
            rows = chunk.rows
            act, task, inv_tau = chunk.parts
            xr = x[rows]
            if inv_tau is None:
                z = torch.baddbmm(b1[rows].unsqueeze(-1), rows_w[rows], xr)
                a = act(z)
            else:  # z/τ straight from the weights scaled by 1/τ
                z = torch.baddbmm(
                    (b1[rows] * inv_tau).unsqueeze(-1), rows_w[rows] * inv_tau.unsqueeze(-1), xr
                )
                a = act.unit(z)
            if track:  # z itself, not z/τ: what objective reads
                zt = z if inv_tau is None else baddbmm(b1[rows].unsqueeze(-1), rows_w[rows], xr)
                logits[rows] = zt
                # a normalised activation's output is its responsibilities: no second pass
                r = a if act.normalised else act.responsibilities(zt)
                usage[rows] = unit_metrics.usage(r)
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
        if track:
            self.usage_ema.lerp_(usage, USAGE_EMA)
            self._last = (x.detach(), logits)
        with torch.enable_grad():
            extra = control.penalty(W, g, usage if track else None)
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
        """Cache-sized chunks of the models (``toymodels.model_chunks``), each with its
        activation (the per-model temperature sliced to the rows), its task and, for a
        ``scale_free`` activation, ``1/τ [rows, 1]``; made again only when the chunk
        size or the temperatures change."""
        size = models_per_chunk(LAYER_CHUNK_BYTES, 4 * self.W1.shape[1] * examples)
        key = (size, id(getattr(self.activation, "temperature", None)))
        if getattr(self, "_chunk_key", None) != key:
            self._chunk_list = model_chunks(self.n_models, size, self._chunk_parts)
            self._chunk_key = key
        return self._chunk_list

    def _chunk_parts(self, rows: slice) -> tuple:
        act = copy.copy(self.activation)
        inv_tau = None
        if act.uses_temperature:
            act.temperature = self.activation.temperature[rows]
            if act.scale_free:
                inv_tau = 1.0 / self.temperature[rows].view(-1, 1)
        return act, self.task.rows(rows), inv_tau

    @torch.no_grad()
    def revive(self, dead: torch.Tensor) -> None:
        """Move each model's ``dead [model, unit]`` units onto the examples of the last
        batch its alive units claim least (:meth:`least_claimed`): each revived row
        points at its example with the alive units' mean norm, its bias set so that it
        wins the example by a margin of τ, and its read-out weights start at 0."""
        target, claim, pick = self.least_claimed(dead)
        alive = ~dead
        W = self.unit_weights()
        norm = (W.norm(dim=-1) * alive).sum(-1) / alive.sum(-1).clamp_min(1)  # [model]
        unit = target / target.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        rows = unit * norm.view(-1, 1, 1)
        claim_at = torch.gather(claim, 1, pick)
        claim_at = torch.where(torch.isfinite(claim_at), claim_at, 0.0)
        bias = claim_at - (rows * target).sum(-1) + self.temperature.view(-1, 1)
        self.W1.copy_(torch.where(dead.unsqueeze(-1), rows, self.W1))
        self.gain.copy_(torch.where(dead, norm.view(-1, 1).expand_as(dead), self.gain))
        self.b1.copy_(torch.where(dead, bias, self.b1))
        self.W2.copy_(torch.where(dead.unsqueeze(1), 0.0, self.W2))
        self.usage_ema.masked_fill_(dead, 1.0 / dead.shape[1])
