"""Our batched Adam/AdamW, plain gradient descent and schedules against torch.optim's
reference implementation."""

import dataclasses
import math

import pytest
import torch

from toymodels import TrainConfig
from toymodels.optim import make_optimizer

# The learning-rate multipliers at a fraction f of training, written out independently
# of ``toymodels.optim``: constant, linear decay to 0, and half a cosine down to 0.
REFERENCE_SCHEDULES = {
    "constant": lambda f: 1.0,
    "linear": lambda f: 1.0 - f,
    "cosine": lambda f: (1.0 + math.cos(math.pi * f)) / 2.0,
}


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(lr=1e-2),
        TrainConfig(lr=3e-3, optimizer="adamw", weight_decay=0.05, schedule="cosine", steps=40),
        TrainConfig(lr=1e-2, schedule="linear", steps=40, betas=(0.8, 0.99)),
        TrainConfig(lr=3e-2, optimizer="sgd"),
        TrainConfig(lr=3e-2, optimizer="sgd", schedule="cosine", steps=40),
    ],
)
def test_matches_torch_optim(cfg):
    cfg = dataclasses.replace(cfg, steps=40)
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(6, 3, generator=gen)
    grads = [torch.randn(6, 3, generator=gen) for _ in range(cfg.steps)]

    ours = start.clone().requires_grad_()
    opt, sched = make_optimizer([ours], cfg)
    ref = start.clone().requires_grad_()
    if cfg.optimizer == "sgd":
        ref_opt = torch.optim.SGD([ref], lr=cfg.lr)
    else:
        kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        extra = {"weight_decay": cfg.weight_decay} if cfg.optimizer == "adamw" else {}
        ref_opt = kind([ref], lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, **extra)
    ref_sched = torch.optim.lr_scheduler.LambdaLR(
        ref_opt, lambda s: REFERENCE_SCHEDULES[cfg.schedule](s / cfg.steps)
    )
    for g in grads:
        ours.grad, ref.grad = g.clone(), g.clone()
        opt.step()
        sched.step()
        ref_opt.step()
        ref_sched.step()
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-7)
    assert not torch.allclose(ours, start)


def test_schedules_reach_zero_at_the_end():
    from toymodels.optim import schedule_factor

    assert schedule_factor("constant", 99, 100) == 1.0
    assert schedule_factor("linear", 50, 100) == pytest.approx(0.5)
    assert schedule_factor("linear", 100, 100) == 0.0
    assert schedule_factor("cosine", 25, 100) == pytest.approx((2 + math.sqrt(2)) / 4)
    assert schedule_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert schedule_factor("cosine", 100, 100) == pytest.approx(0.0)
