"""The contract of a hidden layer's activation ``a = act(z)``.

Pre-activations are ``z [model, unit, example]``; an activation acts along the unit axis
(competitive activations couple the units there).  It is built from the batch's family
configs, so per-model settings (a temperature, say) become per-model tensors.  Its
Jacobian ``∂a_i/∂z_j`` is declared too, for analysis and for the tests that check it
against autograd and against its definition; ``backward`` is the same derivative as a
cheap vector–Jacobian product, for hand-derived gradients of a network.

An activation also states what it is (``uses_temperature``, ``soft``, ``normalised``),
which settings of a family's config it reads (``settings``), what a layer must satisfy
to use it (:meth:`refusal`) and which distribution over units it assigns each example
(``responsibilities``), so that the families and the volume controls of the competition
study (usage entropy, dropout on responsibilities, temperature annealing) need not probe
it or know it by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch

from ._common import setting_count, shared_setting


class Activation:
    name: ClassVar[str]
    #: one line: the formula
    description: ClassVar[str]
    #: it reads a per-model ``temperature`` and ``set_temperature`` changes it
    uses_temperature: ClassVar[bool] = False
    #: its responsibilities are a differentiable softmax over units (a usage-entropy
    #: bonus applies)
    soft: ClassVar[bool] = False
    #: its output is itself the layer's responsibility distribution, summing to 1 over
    #: all units (dropout on responsibilities applies)
    normalised: ClassVar[bool] = False
    #: ``a(z) = g(z/τ)``: the output depends on ``z/τ`` alone, so a family may fold
    #: ``1/τ`` into the weights that make ``z`` and call :meth:`unit` and
    #: :meth:`unit_backward` (``g`` and its vector-Jacobian product), two passes over
    #: the layer fewer
    scale_free: ClassVar[bool] = False
    #: integer settings it reads from the family's config (e.g. ``group_size``), with the
    #: value used when a config has none; every model of a batch shares them (tensor
    #: shapes depend on them), and each becomes an attribute of the same name
    settings: ClassVar[dict[str, int]] = {}
    #: adding one vector ``[v, β]`` to every unit's row ``[w_k, b_k]`` (every ``z_k`` gains
    #: the same ``v·x + β``) leaves the output unchanged: over the whole layer
    #: (``"layer"``: softmax, log-softmax), within each block of ``group_size`` units
    #: (``"blocks"``: grouped softmax), or not at all (None).  Where it holds, the part
    #: of the rows common to the units computes nothing, and how alike the units are is
    #: measured on rows centred over the units (:meth:`shift_block`)
    shift_invariant: ClassVar[str | None] = None
    #: the logit a unit takes when it is removed from the layer (pruning): −∞ where the
    #: units compete for a budget of exponentials or ranks (a softmax renormalises over
    #: the rest, a winner-take-all picks among them) and where a rectified unit then
    #: outputs 0; 0 where a unit's share is of the norm (``l2_norm``: a removed unit adds
    #: nothing to ‖z‖)
    removed_logit: ClassVar[float] = float("-inf")

    def __init__(self, configs: Sequence = ()):
        self.configs = tuple(configs)
        for name, default in self.settings.items():
            setattr(self, name, setting_count(name, shared_setting(self.configs, name, default)))

    @classmethod
    def refusal(cls, config) -> str | None:
        """Why a layer of ``config.n_hidden`` units with ``config``'s settings cannot use
        this activation (one line), or None when it can."""
        return None

    def shift_block(self, n_units: int) -> int | None:
        """The number of consecutive units a common shift of their rows leaves the output
        unchanged over (``n_units`` for ``"layer"``, ``group_size`` for ``"blocks"``), or
        None when the activation has no such invariance."""
        if self.shift_invariant is None:
            return None
        return n_units if self.shift_invariant == "layer" else self.group_size

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """``[model, unit, example]`` from ``z`` of the same shape."""
        raise NotImplementedError

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """``[model, example, unit, unit]``: entry ``[..., i, j] = ∂a_i/∂z_j``."""
        raise NotImplementedError

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        """The vector–Jacobian product ``grad_z [model, unit, example]``,
        ``grad_z[m, j, e] = Σ_i grad_a[m, i, e] ∂a_i/∂z_j``, with ``a = self(z)`` passed in
        so it is not recomputed.  Built without ``[unit, unit]`` matrices."""
        raise NotImplementedError

    def unit(self, x: torch.Tensor) -> torch.Tensor:
        """``g(x)``, the activation of ``x = z/τ`` (``scale_free`` activations)."""
        raise NotImplementedError

    def unit_backward(self, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        """The vector–Jacobian product of ``g`` at ``x`` with ``a = g(x)``: the gradient
        with respect to ``x = z/τ`` (``scale_free`` activations)."""
        raise NotImplementedError

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        """``[model, unit, example]``: each example's distribution over units (≥ 0, summing
        to 1 over units, or all 0 where an activation assigns the example to no unit)."""
        raise NotImplementedError

    def set_temperature(self, tau: torch.Tensor) -> None:
        """Replace the per-model temperature ``tau [model]`` (temperature annealing calls
        this every step).  A no-op for activations without a temperature."""
