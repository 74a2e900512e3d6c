"""The contract of a hidden layer's activation ``a = act(z)``.

Pre-activations are ``z [model, unit, example]``; an activation acts along the unit axis
(competitive activations couple the units there).  It is built from the batch's family
configs, so per-model settings (a temperature, say) become per-model tensors.  Its
Jacobian ``∂a_i/∂z_j`` is declared too, for analysis and for the tests that check it
against autograd and against its definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch


class Activation:
    name: ClassVar[str]
    #: one line: the formula
    description: ClassVar[str]

    def __init__(self, configs: Sequence = ()):
        self.configs = tuple(configs)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """``[model, example, unit, unit]``: entry ``[..., i, j] = ∂a_i/∂z_j``."""
        raise NotImplementedError
