"""The check every hand-derived gradient gets: its loss and gradients equal autograd's."""

import torch

from toymodels.families import ToyModel


def assert_batch_gradient_is_autograd(model: ToyModel, batch, row_weight: float) -> None:
    """``model.batch_loss_and_grad`` equals :meth:`ToyModel.batch_loss_and_grad` (autograd
    of the objective) on ``batch``, loss and every parameter's gradient."""
    hand = model.batch_loss_and_grad(batch, row_weight)
    hand_grads = [p.grad.clone() for p in model.parameters()]
    auto = ToyModel.batch_loss_and_grad(model, batch, row_weight)
    torch.testing.assert_close(hand, auto, rtol=1e-10, atol=1e-12)
    for h, p in zip(hand_grads, model.parameters(), strict=True):
        torch.testing.assert_close(h, p.grad, rtol=1e-10, atol=1e-12)
