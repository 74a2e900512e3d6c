"""Optimiser and learning-rate schedule from a ``TrainConfig``.

Adam and AdamW update every parameter entry independently, so a batch of models is
optimised exactly as each model alone would be.
"""

from __future__ import annotations

import math

import torch

from .config import TrainConfig


def schedule_factor(kind: str, step: int, steps: int) -> float:
    """Learning-rate multiplier at ``step`` (0-based) of ``steps``; linear and cosine decay to 0."""
    frac = step / steps
    if kind == "constant":
        return 1.0
    if kind == "linear":
        return 1.0 - frac
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    raise ValueError(kind)


def make_optimizer(params, train: TrainConfig):
    params = list(params)
    if train.optimizer == "adamw":
        opt = torch.optim.AdamW(
            params, lr=train.lr, betas=train.betas, eps=train.eps, weight_decay=train.weight_decay
        )
    else:
        opt = torch.optim.Adam(params, lr=train.lr, betas=train.betas, eps=train.eps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: schedule_factor(train.schedule, s, train.steps)
    )
    return opt, sched
