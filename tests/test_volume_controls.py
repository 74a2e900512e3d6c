"""The fixed-norm weight normalisation, the learned temperature, batch normalisation and
combinations of controls: each against a direct computation, batched = alone, the hand
path where it applies, what is refused; and the ``log_volume`` metric."""

import argparse
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gradient_checks import assert_batch_gradient_is_autograd

from cli.competition_command import build_phase_spec
from cli.main import main
from toymodels import FAMILIES, ModelConfig, TrainConfig, model_seed, train
from toymodels.errors import ConfigError
from toymodels.families.base import ToyModel
from toymodels.unit_metrics import GRAM_EPSILON, log_volume
from toymodels.volumes import VOLUMES, batch_norm, volume_control

SEEDS = [np.random.SeedSequence(0, spawn_key=(i, 0)) for i in range(3)]
F64 = torch.float64


def _control(name, strengths):
    configs = [SimpleNamespace(volume_strength=s) for s in strengths]
    return VOLUMES[name](configs, SEEDS[: len(configs)], F64)


def _rows(models=3, units=4, inputs=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(models, units, inputs, generator=gen, dtype=F64)


def _layer(volume, strengths, temperatures=(0.5, 1.0, 2.0), **fields):
    configs = [
        ModelConfig.build(
            "competition", "clusters", n_hidden=4, volume=volume, temperature=t, **s, **fields
        )
        for s, t in zip(strengths, temperatures, strict=True)
    ]
    seeds = [model_seed(3, i, 0) for i in range(len(configs))]
    return FAMILIES["competition"](configs, seeds, dtype=F64)


def _batch(model, examples=96, seed=5):
    gen = torch.Generator().manual_seed(seed)
    shape = (model.n_models, *model.task.sample_shape(model.task.configs[0], examples))
    return model.task.draw(torch.randint(-(2**31), 2**31, shape, dtype=torch.int32, generator=gen))


# -- weightnorm: w = v/|v|^λ --------------------------------------------------------------------
def test_weightnorm_fixes_the_norm_at_lambda_one_and_keeps_the_direction():
    v = _rows()
    rows = _control("weightnorm", [0.0, 0.5, 1.0]).unit_weights(v, None)
    norm = v.norm(dim=-1)
    np.testing.assert_allclose(rows.norm(dim=-1), norm ** torch.tensor([[1.0], [0.5], [0.0]]))
    np.testing.assert_allclose(rows[2].norm(dim=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(rows[0], v[0], rtol=0)  # λ = 0: the uncontrolled rows
    cos = (rows * v).sum(-1) / (rows.norm(dim=-1) * norm)
    np.testing.assert_allclose(cos, 1.0, rtol=1e-12)


def test_weightnorm_gradient_is_the_tangent_part_over_the_norm():
    """For λ = 1, ∂f(v/|v|)/∂v = (I − uuᵀ) g / |v| with g = ∂f/∂w, u = v/|v|."""
    v, g = _rows(), _rows(seed=1)
    control = _control("weightnorm", [1.0, 1.0, 1.0])
    v1 = v.clone().requires_grad_()
    (grad,) = torch.autograd.grad((control.unit_weights(v1, None) * g).sum(), v1)
    u = v / v.norm(dim=-1, keepdim=True)
    expected = (g - (g * u).sum(-1, keepdim=True) * u) / v.norm(dim=-1, keepdim=True)
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-13)


def test_weightnorm_refuses_an_exponent_above_one():
    with pytest.raises(ConfigError, match="volume_strength=1.5 is above 1"):
        ModelConfig.build("competition", "clusters", volume="weightnorm", volume_strength=1.5)


# -- learned_tau: τ = τ₀ e^(λ s) -----------------------------------------------------------------
def test_learned_temperature_gradient_is_lambda_tau_dloss_dtau():
    """∂L/∂s = λ τ ∂L/∂τ, with ∂L/∂τ by central differences on models whose τ is set."""
    lams, shift = (0.0, 0.7, 2.0), torch.tensor([0.3, -0.4, 0.25], dtype=F64)
    model = _layer("learned_tau", [{"volume_strength": lam} for lam in lams])
    with torch.no_grad():
        model.tau_shift.copy_(shift)
    batch = _batch(model)
    model.batch_loss_and_grad(batch, 1.0 / 96)
    lam = torch.tensor(lams, dtype=F64)
    tau = torch.tensor([0.5, 1.0, 2.0], dtype=F64) * torch.exp(lam * shift)
    np.testing.assert_allclose(model.temperature_in_use().detach(), tau, rtol=1e-12)
    h = 1e-6
    losses = []
    for sign in (1, -1):
        fixed = _layer("none", [{}] * 3, temperatures=tuple((tau + sign * h * tau).tolist()))
        fixed.load_state_dict(
            {k: v for k, v in model.state_dict().items() if k != "tau_shift"}, strict=False
        )
        losses.append(fixed.objective(batch, 1.0 / 96).detach())
    dloss_dlogtau = (losses[0] - losses[1]) / (2 * h)
    np.testing.assert_allclose(
        model.tau_shift.grad, torch.tensor(lams, dtype=F64) * dloss_dlogtau, rtol=1e-5, atol=1e-9
    )
    assert model.tau_shift.grad[0] == 0.0  # λ = 0: τ stays where it was set


def test_learned_temperature_moves_and_is_stored_where_it_went():
    configs = [
        ModelConfig.build(
            "competition", "clusters", volume="learned_tau", volume_strength=lam, temperature=0.1
        )
        for lam in (0.0, 1.0)
    ]
    seeds = [model_seed(0, i, 0) for i in (0, 1)]
    result = train(configs, TrainConfig(steps=80, batch_size=64), seeds)
    shift = result.params["tau_shift"]
    assert shift[0] == 0.0 and abs(shift[1]) > 0.01
    expected = 0.1 * np.exp([0.0, shift[1]])
    np.testing.assert_allclose(result.metrics["final_temperature"], expected, rtol=1e-5)


def test_learned_temperature_composes_with_annealing():
    model = _layer(
        ["anneal", "learned_tau"],
        [{"volume_strength": 2.0, "volume_strength_2": 1.0}] * 3,
    )
    with torch.no_grad():
        model.tau_shift.fill_(0.5)
    model.begin_step(0, 100)
    expected = torch.tensor([0.5, 1.0, 2.0], dtype=F64) * math.exp(2.0) * math.exp(0.5)
    np.testing.assert_allclose(model.temperature_in_use().detach(), expected, rtol=1e-12)


# -- batchnorm ------------------------------------------------------------------------------------
def test_batchnorm_standardises_each_unit_over_the_batch_mixed_by_lambda():
    z = _rows(units=4, inputs=50) * 3.0 + 2.0
    out = _control("batchnorm", [0.0, 0.5, 1.0]).normalise_logits(z)
    np.testing.assert_allclose(out[0], z[0], rtol=0)
    np.testing.assert_allclose(out[2].mean(-1), 0.0, atol=1e-12)
    var = z[2].var(-1, unbiased=False)
    np.testing.assert_allclose(out[2].var(-1, unbiased=False), var / (var + batch_norm.EPSILON))
    zhat = (z[1] - z[1].mean(-1, keepdim=True)) / torch.sqrt(
        z[1].var(-1, unbiased=False, keepdim=True) + batch_norm.EPSILON
    )
    np.testing.assert_allclose(out[1], 0.5 * z[1] + 0.5 * zhat, rtol=1e-12)


def test_batchnorm_gradient_is_the_standardisation_vjp():
    """At λ = 1: ∂/∂z of Σ g ẑ is (g − mean g − ẑ mean(g ẑ)) / √(var + ε)."""
    z, g = _rows(units=4, inputs=30), _rows(units=4, inputs=30, seed=2)
    control = _control("batchnorm", [1.0] * 3)
    z1 = z.clone().requires_grad_()
    (grad,) = torch.autograd.grad((control.normalise_logits(z1) * g).sum(), z1)
    sd = torch.sqrt(z.var(-1, unbiased=False, keepdim=True) + batch_norm.EPSILON)
    zhat = (z - z.mean(-1, keepdim=True)) / sd
    mean = lambda t: t.mean(-1, keepdim=True)  # noqa: E731
    expected = (g - mean(g) - zhat * mean(g * zhat)) / sd
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)


def test_batchnorm_evaluates_with_the_statistics_of_the_examples_evaluated():
    model = _layer("batchnorm", [{"volume_strength": 1.0}] * 3)
    x = _batch(model, 200).x
    with torch.no_grad():
        raw = torch.baddbmm(model.b1.unsqueeze(-1), model.W1, x)
        zhat = (raw - raw.mean(-1, keepdim=True)) / torch.sqrt(
            raw.var(-1, unbiased=False, keepdim=True) + batch_norm.EPSILON
        )
        expected = torch.baddbmm(model.b2.unsqueeze(-1), model.W2, model.activation(zhat))
        np.testing.assert_allclose(model(x), expected, rtol=1e-10, atol=1e-14)


# -- combinations ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (["anneal", "anneal"], "names anneal twice"),
        (["none", "entropy"], "none cannot be combined"),
        (["anneal", "nope"], 'unknown volume control "nope"'),
        (["weightnorm", "gain_norm"], "both reparametrise the unit rows"),
        (["anneal", "entropy", "logdet", "revival"], "at most 3"),
        ([], "at least one"),
    ],
)
def test_a_bad_list_of_controls_is_refused_in_one_line(volume, message):
    with pytest.raises(ConfigError, match=message) as err:
        ModelConfig.build("competition", "clusters", volume=volume)
    assert "\n" not in str(err.value)


def test_a_list_is_stored_as_one_name_and_a_one_element_list_as_the_control():
    config = ModelConfig.build("competition", "clusters", volume=["anneal", "entropy"])
    assert config.arch.volume == "anneal+entropy"
    assert ModelConfig.build("competition", "clusters", volume=["logdet"]).arch.volume == "logdet"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"volume": "entropy", "volume_strength_2": 0.5}, "volume_strength_2=0.5 is the strength"),
        (
            {"volume": ["entropy", "dropout"], "volume_strength_2": 0.95},
            'volume_strength_2=0.95 is above 0.9, the most volume control "dropout"',
        ),
        ({"volume": ["logdet", "entropy"], "activation": "relu"}, '"entropy" does not apply'),
    ],
)
def test_each_controls_strength_and_reach_is_checked_on_its_own(fields, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig.build("competition", "clusters", **fields)


def test_a_combination_composes_the_hooks_each_with_its_own_strength():
    strengths = ((0.1, 1.0, 4.0), (0.3, 0.0, 1.0), (0.0, 2.0, 0.0))
    configs = [
        SimpleNamespace(volume_strength=a, volume_strength_2=b, volume_strength_3=c)
        for a, b, c in strengths
    ]
    combo = volume_control("logdet+orthogonality+anneal")(configs, SEEDS, F64)
    W = _rows()
    alone = [
        VOLUMES[n]([SimpleNamespace(volume_strength=s[i]) for s in strengths], SEEDS, F64)
        for i, n in enumerate(("logdet", "orthogonality", "anneal"))
    ]
    summed = alone[0].penalty(W, None, None) + alone[1].penalty(W, None, None)
    np.testing.assert_allclose(combo.penalty(W, None, None), summed, rtol=1e-12)
    np.testing.assert_allclose(combo.temperature_factor(0, 100), np.exp([4.0, 1.0, 0.0]))
    assert not combo.acts_on_data()
    assert volume_control("anneal+entropy").needs_usage
    assert volume_control("batchnorm+logdet").acts_on_data()


COMBINED_HAND = [
    ("weightnorm+logdet", {"volume_strength_2": 0.1}),
    ("gain_norm+orthogonality+anneal", {"volume_strength_2": 0.3, "volume_strength_3": 2.0}),
]


@pytest.mark.parametrize(("volume", "more"), COMBINED_HAND, ids=[v for v, _ in COMBINED_HAND])
def test_a_combination_on_the_hand_path_equals_autograd(volume, more):
    model = _layer(volume, [{"volume_strength": s, **more} for s in (0.0, 0.3, 0.8)])
    assert FAMILIES["competition"].uses_hand_gradient(model.configs[0])
    model.begin_step(10, 100)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype, generator=gen))
    assert_batch_gradient_is_autograd(model, _batch(model), 1.0 / 96)


def test_data_side_controls_take_autograd():
    for volume in ("learned_tau", "batchnorm", "anneal+entropy", "logdet+dropout"):
        config = ModelConfig.build("competition", "clusters", volume=volume)
        assert not FAMILIES["competition"].uses_hand_gradient(config), volume
    # revival reads the usage without a gradient through it: the hand path, also in a list
    config = ModelConfig.build("competition", "clusters", volume="logdet+revival")
    assert FAMILIES["competition"].uses_hand_gradient(config)
    model = _layer("learned_tau", [{"volume_strength": 1.0}] * 3)
    loss = model.batch_loss_and_grad(_batch(model), 1.0 / 96)
    np.testing.assert_allclose(loss, ToyModel.batch_loss_and_grad(model, _batch(model), 1.0 / 96))


# -- batched = alone ------------------------------------------------------------------------------
BATCHED = [
    ("weightnorm", [{"volume_strength": s} for s in (0.0, 0.5, 1.0)]),
    ("gain_norm", [{"volume_strength": s} for s in (0.0, 0.5, 1.0)]),
    ("learned_tau", [{"volume_strength": s} for s in (0.0, 0.5, 2.0)]),
    ("batchnorm", [{"volume_strength": s} for s in (0.0, 0.5, 1.0)]),
    (
        "anneal+entropy",
        [
            {"volume_strength": a, "volume_strength_2": b}
            for a, b in ((0.0, 0.5), (2.0, 0.0), (4.0, 0.3))
        ],
    ),  # fmt: skip
]


@pytest.mark.parametrize(("volume", "strengths"), BATCHED, ids=[v for v, _ in BATCHED])
def test_models_trained_together_equal_models_trained_alone(volume, strengths):
    configs = [
        ModelConfig.build("competition", "clusters", n_hidden=4, volume=volume, temperature=t, **s)
        for s, t in zip(strengths, (0.3, 1.0, 0.5), strict=True)
    ]
    cfg = TrainConfig(steps=30, batch_size=64, eval_batch=256, lr=1e-2)
    seeds = [model_seed(1, i, 0) for i in range(3)]
    together = train(configs, cfg, seeds)
    for i in range(3):
        alone = train([configs[i]], cfg, [seeds[i]])
        for name in together.params:
            np.testing.assert_allclose(
                together.params[name][i], alone.params[name][0], rtol=1e-5, atol=1e-6
            )
        np.testing.assert_allclose(together.loss[i], alone.loss[0], rtol=1e-5)
        for name in ("final_temperature", "log_volume"):
            np.testing.assert_allclose(
                together.metrics[name][i], alone.metrics[name][0], rtol=1e-5, atol=1e-6
            )
    assert not np.allclose(together.loss[0], together.loss[-1])


# -- log_volume ------------------------------------------------------------------------------------
def test_log_volume_against_direct_determinants():
    rows = _rows(models=2, units=3, inputs=5)
    unit = (rows / rows.norm(dim=-1, keepdim=True)).numpy()
    direct = [math.log(np.linalg.det(u @ u.T + GRAM_EPSILON * np.eye(3))) for u in unit]
    np.testing.assert_allclose(log_volume(rows), direct, rtol=1e-10)
    # orthogonal rows of any norm: K log(1 + ε); three coinciding rows: log(3 + ε) + 2 log ε
    spread = torch.diag(torch.tensor([2.0, 0.5, 3.0], dtype=F64)).unsqueeze(0)
    np.testing.assert_allclose(log_volume(spread), 3 * math.log(1 + GRAM_EPSILON), rtol=1e-12)
    same = torch.tensor([[[1.0, 1.0], [2.0, 2.0], [0.5, 0.5]]], dtype=F64)
    expected = math.log(3 + GRAM_EPSILON) + 2 * math.log(GRAM_EPSILON)
    np.testing.assert_allclose(log_volume(same), expected, rtol=1e-9)


# -- the command line ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (["--volume", "anneal,anneal"], "names anneal twice"),
        (["--volume", "none,entropy"], "none cannot be combined"),
        (["--volume", "anneal,nope"], 'unknown volume control "nope"'),
        (["--activation", "relu", "--volume", "logdet,entropy"], '"entropy" does not apply'),
        (["--volume", "weightnorm", "--strength-range", "0", "2"], "up to 1"),
        (["--task", "annealing", "--volume", "learned_tau"], "falls without bound"),
        (["--task", "annealing", "--volume", "anneal,batchnorm"], "free energy"),
        (
            [
                "--volume",
                "anneal,entropy",
                "--strength-range",
                "0",
                "4",
                "--strength-range",
                "0",
                "1",
            ],
            "give a further control one value",
        ),  # fmt: skip
        (
            ["--volume", "entropy", "--strength-range", "0", "1", "--strength-range", "1", "1"],
            "given 2 times for 1 volume control",
        ),
        (
            [
                "--volume",
                "entropy,dropout",
                "--strength-range",
                "0",
                "1",
                "--strength-range",
                "0.95",
                "0.95",
            ],
            'volume_strength_2=0.95 is above 0.9, the most volume control "dropout"',
        ),  # fmt: skip
    ],
)
def test_bad_controls_on_the_command_line_are_one_line_exit_2_and_nothing_written(
    folders, capsys, bad, needle
):
    out = folders[0] / "out"
    assert main(["competition", "phase-diagram", *bad, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_list_of_controls_on_the_command_line_sets_each_strength():
    args = argparse.Namespace(
        task="clusters", activation=None, volume="anneal,entropy", grid=3,
        temperature_range=None, strength_range=[[0.0, 4.0], [0.25, 0.25]], root_seed=None,
        seeds=None, steps=None, lr=None, width=None, group_size=None, k=None,
    )  # fmt: skip
    spec = build_phase_spec(args)
    model = spec.to_dict()["model"]
    assert model["volume"] == "anneal+entropy" and model["volume_strength_2"] == 0.25
    assert list(spec.axis("volume_strength").values) == [0.0, 2.0, 4.0]


def test_a_diagram_of_a_list_of_controls_states_every_strength(tmp_path):
    out = tmp_path / "pd"
    args = ["--volume", "anneal,entropy", "--strength-range", "0", "4", "--strength-range",
            "0.25", "0.25", "--grid", "2", "--seeds", "1", "--steps", "20"]  # fmt: skip
    assert main(["competition", "phase-diagram", *args, "--out", str(out), "--quiet"]) == 0
    settings = json.loads((out / "summary.json").read_text())["settings"]
    assert settings["volume"] == "anneal+entropy" and settings["volume_strength_2"] == 0.25
    assert "volume_strength_3" not in settings
