"""Volume controls: each penalty and its gradient against a direct computation, the
temperature schedule, dropout's masks, revival, and which controls apply where."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from toymodels import ModelConfig, TrainConfig, model_seed
from toymodels.activations import ACTIVATIONS
from toymodels.engine import build_model
from toymodels.volumes import VOLUMES, log_det, revival, temperature_annealing

SEEDS = [np.random.SeedSequence(0, spawn_key=(i, 0)) for i in range(3)]


def _control(name, strengths):
    configs = [SimpleNamespace(volume_strength=s) for s in strengths]
    return VOLUMES[name](configs, SEEDS[: len(configs)], torch.float64)


def _rows(models=3, units=4, inputs=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(models, units, inputs, generator=gen, dtype=torch.float64)


def _grad(f, *xs):
    xs = [x.clone().requires_grad_() for x in xs]
    return torch.autograd.grad(f(*xs).sum(), xs)


def test_every_control_is_registered_under_its_name_with_a_one_line_description():
    assert set(VOLUMES) == {
        "none", "weightnorm", "gain_norm", "anneal", "learned_tau", "batchnorm", "entropy",
        "logdet", "orthogonality", "dropout", "revival",
    }  # fmt: skip
    for name, cls in VOLUMES.items():
        assert cls.name == name and cls.description and "\n" not in cls.description


def test_gain_normalisation_splits_direction_and_gain():
    W, gain = _rows(), torch.tensor([[1.0, 2.0, 0.5, 3.0]] * 3, dtype=torch.float64)
    control = _control("gain_norm", [0.0, 0.5, 2.0])
    rows = control.unit_weights(W, gain)
    np.testing.assert_allclose(rows.norm(dim=-1), gain, rtol=1e-12)
    np.testing.assert_allclose((rows * W).sum(-1), (W.norm(dim=-1) * gain), rtol=1e-12)
    # penalty λ Σ (g − ḡ)², gradient 2λ(g − ḡ) (the mean's own dependence sums to zero)
    spread = gain - gain.mean(-1, keepdim=True)
    expected = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64) * (spread**2).sum(-1)
    np.testing.assert_allclose(control.penalty(rows, gain, None), expected, rtol=1e-12)
    (grad,) = _grad(lambda g: control.penalty(rows, g, None), gain)
    lam = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64).view(-1, 1)
    np.testing.assert_allclose(grad, 2 * lam * spread, rtol=1e-12, atol=1e-15)


def test_log_det_penalty_and_its_gradient():
    W = _rows()
    control = _control("logdet", [0.1, 1.0, 0.0])
    lam = torch.tensor([0.1, 1.0, 0.0], dtype=torch.float64)
    gram = W @ W.transpose(1, 2) + log_det.EPSILON * torch.eye(4, dtype=torch.float64)
    direct = torch.tensor([-lam[i] * math.log(np.linalg.det(gram[i].numpy())) for i in range(3)])
    np.testing.assert_allclose(control.penalty(W, None, None), direct, rtol=1e-10)
    # ∂/∂W of −λ log det(WWᵀ + εI) is −2λ (WWᵀ + εI)⁻¹ W
    (grad,) = _grad(lambda w: control.penalty(w, None, None), W)
    expected = -2 * lam.view(-1, 1, 1) * torch.linalg.solve(gram, W)
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)


def test_log_det_rewards_spread_rows_over_alike_rows():
    control = _control("logdet", [1.0])
    alike = torch.tensor([[[1.0, 0.0], [0.99, 0.14]]], dtype=torch.float64)
    spread = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    assert control.penalty(spread, None, None) < control.penalty(alike, None, None)


def test_orthogonality_penalty_and_its_gradient():
    W = _rows(units=3, inputs=4)
    control = _control("orthogonality", [1.0, 0.3, 2.0])
    lam = torch.tensor([1.0, 0.3, 2.0], dtype=torch.float64)
    U = W / W.norm(dim=-1, keepdim=True)
    P = U @ U.transpose(1, 2) - torch.eye(3, dtype=torch.float64)
    np.testing.assert_allclose(control.penalty(W, None, None), lam * (P**2).sum((1, 2)), rtol=1e-12)
    # through the normalisation: ∂/∂w_k = (I − u_k u_kᵀ)/‖w_k‖ · 4λ (P U)_k
    dU = 4 * lam.view(-1, 1, 1) * (P @ U)
    radial = (dU * U).sum(-1, keepdim=True) * U
    expected = (dU - radial) / W.norm(dim=-1, keepdim=True)
    (grad,) = _grad(lambda w: control.penalty(w, None, None), W)
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)
    # orthonormal rows cost nothing
    eye = torch.eye(3, 4, dtype=torch.float64).expand(3, -1, -1)
    np.testing.assert_allclose(control.penalty(eye, None, None), 0.0, atol=1e-15)


def test_usage_entropy_bonus_and_its_gradient():
    rows = [[0.7, 0.1, 0.1, 0.1], [0.25] * 4, [1.0, 0.0, 0.0, 0.0]]
    usage = torch.tensor(rows, dtype=torch.float64)
    control = _control("entropy", [0.5, 0.5, 1.0])
    h = [-(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1)), math.log(4), 0.0]
    np.testing.assert_allclose(
        control.penalty(None, None, usage), [-0.5 * h[0], -0.5 * h[1], 0.0], rtol=1e-12
    )
    # ∂(−λ H)/∂p_k = λ (log p_k + 1) where p_k > 0
    two = _control("entropy", [0.5, 2.0])
    (grad,) = _grad(lambda p: two.penalty(None, None, p), usage[:2])
    lam = torch.tensor([[0.5], [2.0]], dtype=torch.float64)
    np.testing.assert_allclose(grad, lam * (usage[:2].log() + 1), rtol=1e-12)


def test_temperature_annealing_falls_from_e_lambda_to_one_and_stays():
    control = _control("anneal", [0.0, 1.0, 4.0])
    steps = 1000
    start = control.temperature_factor(0, steps)
    np.testing.assert_allclose(start, np.exp([0.0, 1.0, 4.0]), rtol=1e-6)
    cooled = round(temperature_annealing.ANNEAL_SHARE * steps)
    np.testing.assert_allclose(control.temperature_factor(cooled, steps), 1.0)
    np.testing.assert_allclose(control.temperature_factor(steps - 1, steps), 1.0)
    # geometric: halfway through the cooling the log-factor is halved
    half = control.temperature_factor(cooled // 2, steps)
    np.testing.assert_allclose(half.log(), [0.0, 0.5, 2.0], rtol=1e-6)


def test_dropout_drops_units_at_rate_lambda_per_model_stream():
    control = _control("dropout", [0.0, 0.3, 0.8])
    z = torch.zeros(3, 8, 4000)
    masked = control.mask_logits(z)
    dropped = torch.isinf(masked).double().mean((1, 2))
    # an example whose 8 units all fell keeps them all: the rate is λ − λ⁸
    rates = [lam - lam**8 for lam in (0.0, 0.3, 0.8)]
    np.testing.assert_allclose(dropped, rates, atol=0.01)
    # an example never loses every unit, and a softmax renormalises over the kept ones
    assert torch.isfinite(masked).any(1).all()
    r = torch.softmax(torch.randn(3, 8, 50, dtype=torch.float64), 1)
    m = _control("dropout", [0.5] * 3).mask_logits(r.log())
    kept = torch.isfinite(m)
    np.testing.assert_allclose(
        torch.softmax(m, 1), r * kept / (r * kept).sum(1, keepdim=True), rtol=1e-12
    )
    # model 2's masks do not depend on the models beside it
    alone = VOLUMES["dropout"]([SimpleNamespace(volume_strength=0.8)], SEEDS[2:3], torch.float64)
    np.testing.assert_array_equal(torch.isinf(alone.mask_logits(z[2:3])), torch.isinf(masked[2:3]))


def _layer(family="competition", volume="revival", strength=0.5, **fields):
    fields = {"n_hidden": 4, **fields}
    configs = [ModelConfig.build(family, volume=volume, volume_strength=strength, **fields)]
    return build_model(configs, [model_seed(0, 0, 0)], TrainConfig(steps=10, batch_size=64))


def test_revival_moves_a_dead_prototype_onto_the_least_claimed_example():
    layer = _layer("prototypes", n_hidden=2, temperature=0.2)
    x = torch.tensor([[[0.0, 1.0, 5.0], [0.0, 0.0, 0.0]]])
    with torch.no_grad():
        layer.W1.copy_(torch.tensor([[[0.5, 0.0], [40.0, 40.0]]]))
    layer._last = (x, layer.logits(x))
    layer.usage_ema = torch.tensor([[1.0, 0.0]])
    layer.step, layer.steps = 0, 1000
    layer.volume.after_step(layer)
    # unit 1 never wins: it goes to x = (5, 0), the point farthest from prototype 0
    np.testing.assert_allclose(layer.W1[0, 1].detach(), [5.0, 0.0])
    np.testing.assert_allclose(layer.W1[0, 0].detach(), [0.5, 0.0])


def test_revival_leaves_alive_layers_and_the_settling_stretch_alone():
    layer = _layer(temperature=0.5)
    before = layer.W1.detach().clone()
    x = torch.randn(1, 2, 16)
    layer._last = (x, layer.logits(x))
    layer.usage_ema = torch.full((1, 4), 0.25)
    layer.step, layer.steps = 0, 1000
    layer.volume.after_step(layer)
    np.testing.assert_array_equal(layer.W1.detach(), before)
    layer.usage_ema = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    layer.step = 1000 - revival.EVERY  # inside the last SETTLE_SHARE of training
    layer.volume.after_step(layer)
    np.testing.assert_array_equal(layer.W1.detach(), before)
    layer.step = 0  # a revival step: the three dead units move and win their examples
    layer.volume.after_step(layer)
    moved = (layer.W1.detach() != before).any(-1)[0]
    assert moved.tolist() == [False, True, True, True]
    z = layer.logits(x)
    assert set(z[0].argmax(0).tolist()) - {0}


@pytest.mark.parametrize(
    ("volume", "activation", "task", "applies"),
    [
        ("entropy", "relu", "clusters", False),
        ("entropy", "softmax", "clusters", True),
        ("entropy", "softmax", "annealing", True),
        ("anneal", "kwta", "clusters", False),
        ("anneal", "solu", "features", True),
        ("dropout", "grouped_softmax", "clusters", False),
        ("dropout", "softmax", "annealing", True),
        ("logdet", "softmax", "annealing", False),
        ("orthogonality", "relu", "clusters", True),
        ("weightnorm", "softmax", "annealing", False),
        ("gain_norm", "relu", "clusters", True),
        ("learned_tau", "softmax", "clusters", True),
        ("learned_tau", "relu", "clusters", False),
        ("learned_tau", "softmax", "annealing", False),
        ("batchnorm", "relu", "features", True),
        ("batchnorm", "softmax", "annealing", False),
        ("revival", "relu", "features", True),
        ("none", "lwta", "clusters", True),
    ],
)
def test_which_controls_apply_where(volume, activation, task, applies):
    reason = VOLUMES[volume].refusal(ACTIVATIONS[activation], task)
    assert (reason is None) == applies
