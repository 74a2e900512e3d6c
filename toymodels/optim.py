"""Adam / AdamW and plain gradient descent over a batch of models, and the learning-rate
schedules.

The update is torch's (``torch.optim.Adam``/``AdamW`` with default flags, same operation
order; tests compare them), written out because constructing a ``torch.optim`` optimiser
imports ``torch._dynamo``: 2-5 s per worker process, a large share of a one-minute
sweep.  Every parameter entry is updated independently, so a batch of models is
optimised exactly as each model alone would be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from .train_config import TrainConfig


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


class Adam:
    """Adam (Kingma & Ba 2015) with torch's bias correction; AdamW's decoupled decay
    (Loshchilov & Hutter 2019) when ``weight_decay > 0``."""

    def __init__(self, params: Iterable[torch.Tensor], train: TrainConfig):
        self.params = list(params)
        self.lr = train.lr
        self.beta1, self.beta2 = train.betas
        self.eps = train.eps
        self.weight_decay = train.weight_decay if train.optimizer == "adamw" else 0.0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        correction1 = 1.0 - self.beta1**self.t
        correction2_sqrt = math.sqrt(1.0 - self.beta2**self.t)
        step_size = self.lr / correction1
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
            g = p.grad
            if self.weight_decay:
                p.mul_(1.0 - self.lr * self.weight_decay)
            m.lerp_(g, 1.0 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
            denom = (v.sqrt() / correction2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)


class SGD:
    """Plain gradient descent ``θ ← θ − lr·g`` (no momentum, no decay): the update the
    closed-form learning dynamics of deep linear networks assume (``torch.optim.SGD``
    with default flags; tests compare them)."""

    def __init__(self, params: Iterable[torch.Tensor], train: TrainConfig):
        self.params = list(params)
        self.lr = train.lr

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            p.add_(p.grad, alpha=-self.lr)


class Schedule:
    """Sets the optimiser's learning rate for each step (``LambdaLR`` semantics)."""

    def __init__(self, opt: Adam | SGD, train: TrainConfig):
        self.opt, self.base, self.kind, self.steps = opt, train.lr, train.schedule, train.steps
        self.t = 0

    def step(self) -> None:
        self.t += 1
        self.opt.lr = self.base * schedule_factor(self.kind, self.t, self.steps)


def make_optimizer(params, train: TrainConfig) -> tuple[Adam | SGD, Schedule]:
    """The optimiser ``train.optimizer`` names (``adam``/``adamw``: :class:`Adam`; ``sgd``)
    with its learning-rate schedule."""
    opt = SGD(params, train) if train.optimizer == "sgd" else Adam(params, train)
    return opt, Schedule(opt, train)
