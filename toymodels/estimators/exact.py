"""Closed-form expected loss and its exact gradient (no sampling at all)."""

from __future__ import annotations

import torch

from .base import Estimator


class Exact(Estimator):
    # Deterministic full-gradient steps: float64 keeps the optimiser's tiny late updates
    # meaningful, and the tensors are small (no batch axis).
    dtype = torch.float64

    def step(self, need_loss: bool = False):
        params = list(self.model.parameters())
        with torch.enable_grad():
            loss = self.model.expected_loss()
            grads = torch.autograd.grad(loss.sum(), params)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        return loss.detach() if need_loss else None
