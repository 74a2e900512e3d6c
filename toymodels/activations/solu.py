"""SoLU, the softmax linear unit (Elhage et al. 2022, "Softmax Linear Units"):
``s = z ⊙ softmax(z/τ)``, optionally followed by a LayerNorm over the units without affine
parameters (``solu_ln``; the paper deploys SoLU with one, as TransformerLens
does).  The softmax factor lets large units suppress small ones while passing their own
value on: ``∂s_i/∂z_j = δ_ij r_i + z_i r_i (δ_ij − r_j)/τ``.

The LayerNorm is ``y = (s − mean s)/√(var s + ε)`` with the biased variance and
``ε = 1e-5``, as ``torch.nn.functional.layer_norm``; its Jacobian is
``(δ_ij − 1/K − y_i y_j/K)/σ`` with ``σ = √(var s + ε)``."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._common import shared_setting
from ._tempered import Tempered

#: torch.nn.functional.layer_norm's default, so the two agree
LAYER_NORM_EPS = 1e-5


def _layer_norm(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y, σ)`` of a LayerNorm over the unit axis (dim 1); ``σ`` is ``[model, 1, example]``."""
    centred = s - s.mean(dim=1, keepdim=True)
    sigma = torch.sqrt(centred.square().mean(dim=1, keepdim=True) + LAYER_NORM_EPS)
    return centred / sigma, sigma


class SoLU(Tempered):
    name = "solu"
    description = "z ⊙ softmax(z/τ) over units"

    def __init__(self, configs: Sequence = ()):
        super().__init__(configs)
        self.layer_norm = bool(shared_setting(self.configs, "layer_norm", False))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        s = z * self.responsibilities(z)
        return _layer_norm(s)[0] if self.layer_norm else s

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        tau = self.tau(z)  # [model, 1, 1] broadcasts over [model, example, unit] too
        r = self.responsibilities(z).transpose(1, 2)  # [model, example, unit]
        zr = z.transpose(1, 2) * r
        outer = zr.unsqueeze(-1) * r.unsqueeze(-2)
        jac = torch.diag_embed(r + zr / tau) - outer / tau.unsqueeze(-1)
        if not self.layer_norm:
            return jac
        y, sigma = _layer_norm(z * r.transpose(1, 2))
        y, sigma = y.transpose(1, 2), sigma.transpose(1, 2).unsqueeze(-1)
        units = z.shape[1]
        eye = torch.eye(units, dtype=z.dtype, device=z.device)
        ln = (eye - 1.0 / units - y.unsqueeze(-1) * y.unsqueeze(-2) / units) / sigma
        return ln @ jac

    def backward(self, z: torch.Tensor, a: torch.Tensor, grad_a: torch.Tensor) -> torch.Tensor:
        tau = self.tau(z)
        r = self.responsibilities(z)
        g = grad_a
        if self.layer_norm:
            # a is y; σ needs s, which a alone does not give back
            sigma = _layer_norm(z * r)[1]
            g_mean = g.mean(dim=1, keepdim=True)
            gy_mean = (g * a).mean(dim=1, keepdim=True)
            g = (g - g_mean - a * gy_mean) / sigma
        # Σ_i g_i [δ_ij r_i + z_i r_i (δ_ij − r_j)/τ] = g_j r_j + r_j (g_j z_j − Σ_i g_i z_i r_i)/τ
        gz = g * z
        return g * r + r * (gz - (gz * r).sum(dim=1, keepdim=True)) / tau


class SoLULayerNorm(SoLU):
    """SoLU followed by the LayerNorm, as deployed (a name of its own, so that the choice
    is an activation and a phase diagram or comparison can name it)."""

    name = "solu_ln"
    description = "LayerNorm(z ⊙ softmax(z/τ)) over units"

    def __init__(self, configs: Sequence = ()):
        super().__init__(configs)
        self.layer_norm = True
