"""The common suite of every registered hidden-layer activation: the forward pass against
hand-computed numbers, ``jacobian`` and ``backward`` against autograd, responsibilities,
temperature, and a batch of models against each model alone."""

import os
from types import SimpleNamespace

import pytest
import torch

from toymodels.activations import ACTIVATIONS

SEED = int(os.environ.get("TOYMODELS_TEST_SEED", "0"))

#: compare like with like; atol matters where zeros are expected
TOL = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-12},
    torch.float32: {"rtol": 1e-5, "atol": 1e-6},
}
#: the hand-computed numbers below carry 10 significant digits
HAND = {"rtol": 1e-8, "atol": 1e-10}
#: float32 results against the same computation in float64
SINGLE = {"rtol": 1e-4, "atol": 1e-5}

#: every registered activation, and SoLU with its LayerNorm
CASES = [(name, {}) for name in sorted(ACTIVATIONS)] + [("solu", {"layer_norm": True})]
IDS = [name + ("-ln" if s else "") for name, s in CASES]

#: what each activation declares (the brief of the competition study)
FLAGS = {  # name: (uses_temperature, soft, normalised)
    "relu": (False, False, False),
    "linear": (False, False, False),
    "softmax": (True, True, True),
    "log_softmax": (True, True, False),
    "solu": (True, True, False),
    "solu_ln": (True, True, False),
    "grouped_softmax": (True, True, False),  # each block sums to 1, the layer to K/U
    "lwta": (False, False, False),
    "kwta": (False, False, False),
    "l2_norm": (False, True, False),  # a_k² = softmax(log z²): differentiable shares
    "parallel": (True, True, False),  # the softmax half has τ; half the layer sums to 1
    "residual_softmax": (True, True, False),
}

# Random inputs: 3 models with different temperatures, 6 units (group_size 3 divides it;
# k_active 3 leaves losers), 5 examples.
TEMPS = (0.5, 1.0, 2.5)
SETTINGS = {"group_size": 3, "k_active": 3}


def _configs(temps=TEMPS, **settings):
    return [SimpleNamespace(temperature=t, **{**SETTINGS, **settings}) for t in temps]


def _build(name, settings, temps=TEMPS):
    return ACTIVATIONS[name](_configs(temps, **settings))


def _z(models=3, units=6, examples=5, dtype=torch.float64):
    gen = torch.Generator().manual_seed(SEED)
    return 2.0 * torch.randn(models, units, examples, generator=gen, dtype=dtype)


# ---- hand-computed forward passes and responsibilities -------------------------------
# Each entry: settings, then examples as (z, a, responsibilities), vectors over units.
# Tempered activations use τ = 0.5, so z/τ = [2, 4, 1] for z = [1, 2, 0.5]:
# softmax = e^(z/τ)/(e² + e⁴ + e) and τ·LSE(z/τ) = 0.5·log(e² + e⁴ + e) = 2.08492301.
R = [0.1141951994, 0.8437947345, 0.04201006613]  # softmax([1, 2, 0.5]/0.5)
HAND_CASES = {
    "relu": (
        {},
        [
            ([1.0, -2.0, 0.5], [1.0, 0.0, 0.5], [2 / 3, 0.0, 1 / 3]),
            ([-1.0, -2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),  # no unit active
        ],
    ),
    "linear": (
        {},
        [
            ([1.0, -2.0, 0.5], [1.0, -2.0, 0.5], [1 / 3.5, 2 / 3.5, 0.5 / 3.5]),
            ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ],
    ),
    "softmax": ({}, [([1.0, 2.0, 0.5], R, R)]),
    "log_softmax": ({}, [([1.0, 2.0, 0.5], [-1.08492301, -0.08492300978, -1.58492301], R)]),
    "solu": ({}, [([1.0, 2.0, 0.5], [0.1141951994, 1.687589469, 0.02100503307], R)]),
    "solu_ln": (  # (s − mean s)/√(var s + 1e-5) of the line above
        {},
        [([1.0, 2.0, 0.5], [-0.6452863381, 1.412449803, -0.7671634652], R)],
    ),
    "grouped_softmax": (  # blocks [1, 2] and [0.5, -1]: 1/(1 + e²) and e³/(1 + e³)
        {"group_size": 2},
        [
            (
                [1.0, 2.0, 0.5, -1.0],
                [0.119202922, 0.880797078, 0.9525741268, 0.04742587318],
                [0.059601461, 0.440398539, 0.4762870634, 0.02371293659],
            )
        ],
    ),
    "lwta": (
        {"group_size": 2},
        [
            # a tie in the first block goes to unit 0; a negative winner passes its value
            ([1.0, 1.0, -0.5, -2.0], [1.0, 0.0, -0.5, 0.0], [0.5, 0.0, 0.5, 0.0]),
            ([0.0, 3.0, 2.0, 2.0], [0.0, 3.0, 2.0, 0.0], [0.0, 0.5, 0.5, 0.0]),
        ],
    ),
    "lwta-3": ({"group_size": 3}, [([1.0, 2.0, 0.5], [0.0, 2.0, 0.0], [0.0, 1.0, 0.0])]),
    "kwta": (
        {"k_active": 2},
        [
            # units 1 and 2 tie for second place: the lower index wins
            ([2.0, 1.0, 1.0, 0.5], [2.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]),
            ([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]),
            ([-1.0, -3.0, 0.5, -2.0], [-1.0, 0.0, 0.5, 0.0], [0.5, 0.0, 0.5, 0.0]),
        ],
    ),
    "kwta-3units": ({"k_active": 2}, [([1.0, 2.0, 0.5], [1.0, 2.0, 0.0], [0.5, 0.5, 0.0])]),
    "l2_norm": (  # ‖(3, 4, 0)‖ = 5, ‖(1, −2, 2)‖ = 3; z = 0 has no norm and no shares
        {},
        [
            ([3.0, 4.0, 0.0], [0.6, 0.8, 0.0], [0.36, 0.64, 0.0]),
            ([1.0, -2.0, 2.0], [1 / 3, -2 / 3, 2 / 3], [1 / 9, 4 / 9, 4 / 9]),
            ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ],
    ),
    "parallel": (  # ReLU on [z0, z1]; softmax([1, 2]/0.5) = (1, e²)/(1 + e²) on [z2, z3]
        {},
        [
            (
                [1.0, -2.0, 1.0, 2.0],
                [1.0, 0.0, 0.119202922, 0.880797078],
                [0.5, 0.0, 0.059601461, 0.440398539],
            ),
            # no ReLU unit fires: the softmax half takes the whole example
            (
                [-1.0, -2.0, 1.0, 2.0],
                [0.0, 0.0, 0.119202922, 0.880797078],
                [0.0, 0.0, 0.119202922, 0.880797078],
            ),
        ],
    ),
    "residual_softmax": (
        {},
        [([1.0, 2.0, 0.5], [1.1141951994, 2.8437947345, 0.54201006613], R)],
    ),
}


def _columns(vectors):
    """Examples as vectors over units → ``[1, unit, example]``."""
    return torch.tensor(vectors, dtype=torch.float64).T.unsqueeze(0)


def test_every_registered_activation_has_a_hand_case_and_declares_its_flags():
    assert {key.split("-")[0] for key in HAND_CASES} == set(ACTIVATIONS)
    assert set(FLAGS) == set(ACTIVATIONS)
    for name, cls in ACTIVATIONS.items():
        assert cls.name == name
        assert cls.description and "\n" not in cls.description
        assert (cls.uses_temperature, cls.soft, cls.normalised) == FLAGS[name], name


@pytest.mark.parametrize("key", sorted(HAND_CASES))
def test_forward_and_responsibilities_by_hand(key):
    name = key.split("-")[0]
    settings, examples = HAND_CASES[key]
    act = ACTIVATIONS[name]([SimpleNamespace(temperature=0.5, **settings)])
    z = _columns([z for z, _, _ in examples])
    torch.testing.assert_close(act(z), _columns([a for _, a, _ in examples]), **HAND)
    torch.testing.assert_close(
        act.responsibilities(z), _columns([r for _, _, r in examples]), **HAND
    )


def test_solu_layer_norm_is_torch_layer_norm():
    z = _z()
    act = _build("solu", {"layer_norm": True})
    plain = _build("solu", {})(z)
    expected = torch.nn.functional.layer_norm(plain.transpose(1, 2), (z.shape[1],), eps=1e-5)
    torch.testing.assert_close(act(z), expected.transpose(1, 2), **TOL[torch.float64])


@pytest.mark.parametrize(("name", "settings"), CASES, ids=IDS)
def test_jacobian_against_autograd_models_and_examples_independent(name, settings):
    act = _build(name, settings)
    z = _z()
    jac = act.jacobian(z)  # [model, example, unit, unit]
    assert jac.shape == (z.shape[0], z.shape[2], z.shape[1], z.shape[1])
    full = torch.autograd.functional.jacobian(act, z)  # [model, unit, example] twice
    # a model's output, and an example's, depends on that model's and example's z alone
    expected = torch.zeros_like(full)
    for m in range(z.shape[0]):
        for e in range(z.shape[2]):
            expected[m, :, e, m, :, e] = jac[m, e]
    torch.testing.assert_close(full, expected, **TOL[torch.float64])
    assert jac.abs().sum() > 0


@pytest.mark.parametrize(("name", "settings"), CASES, ids=IDS)
def test_backward_is_autograds_vector_jacobian_product(name, settings):
    act = _build(name, settings)
    z = _z().requires_grad_(True)
    a = act(z)
    grad_a = torch.randn(a.shape, dtype=a.dtype, generator=torch.Generator().manual_seed(SEED + 1))
    (auto,) = torch.autograd.grad(a, z, grad_a)
    hand = act.backward(z.detach(), a.detach(), grad_a)
    assert hand.shape == z.shape
    torch.testing.assert_close(hand, auto, **TOL[torch.float64])
    via_jacobian = torch.einsum("mie,meij->mje", grad_a, act.jacobian(z.detach()))
    torch.testing.assert_close(hand, via_jacobian, **TOL[torch.float64])


@pytest.mark.parametrize(("name", "settings"), CASES, ids=IDS)
def test_responsibilities_are_distributions(name, settings):
    act = _build(name, settings)
    z = _z()
    z[:, :, 0] = -1.0 - z[:, :, 0].abs()  # no unit active (relu)
    z[:, :, 1] = 0.0  # every |z| is 0 (linear)
    r = act.responsibilities(z)
    assert r.shape == z.shape
    assert bool((r >= 0).all())
    sums = torch.ones(z.shape[0], z.shape[2], dtype=z.dtype)
    if name == "relu":
        sums[:, :2] = 0.0
    if name in ("linear", "l2_norm"):
        sums[:, 1] = 0.0
    torch.testing.assert_close(r.sum(dim=1), sums, **TOL[torch.float64])
    a = act(z)
    if act.normalised:  # the output is the distribution
        torch.testing.assert_close(r, a, **TOL[torch.float64])
    if name == "grouped_softmax":  # each block's output sums to 1; r shares it out by blocks
        blocks = a.unflatten(1, (2, 3)).sum(dim=2)
        torch.testing.assert_close(blocks, torch.ones_like(blocks), **TOL[torch.float64])
        torch.testing.assert_close(r, a / 2, **TOL[torch.float64])
    if name == "parallel":  # the ReLU half is silent on example 0: all to the softmax half
        torch.testing.assert_close(r[:, 3:, 0], a[:, 3:, 0], **TOL[torch.float64])
        fires = (z[:, :3] > 0).any(dim=1)  # where some ReLU unit fires, each half takes 1/2
        half = torch.where(fires, 0.5, 1.0).to(z.dtype)
        torch.testing.assert_close(r[:, 3:].sum(dim=1), half, **TOL[torch.float64])
        assert bool(fires[:, 2:].any()) and not bool(fires[:, 0].any())
    if name == "l2_norm":
        torch.testing.assert_close(r[:, :, 2:], a[:, :, 2:].square(), **TOL[torch.float64])
    if name in ("softmax", "log_softmax", "solu", "residual_softmax"):
        tau = torch.tensor(TEMPS, dtype=z.dtype).view(-1, 1, 1)
        torch.testing.assert_close(r, torch.softmax(z / tau, dim=1), **TOL[torch.float64])


@pytest.mark.parametrize(("name", "settings"), CASES, ids=IDS)
def test_float32_agrees_with_float64(name, settings):
    act = _build(name, settings)
    z = _z()
    grad_a = torch.randn(z.shape, dtype=z.dtype, generator=torch.Generator().manual_seed(SEED))
    z32, g32 = z.float(), grad_a.float()
    a32 = act(z32)
    assert a32.dtype == torch.float32
    torch.testing.assert_close(a32.double(), act(z), **SINGLE)
    back = act.backward(z32, a32, g32)
    assert back.dtype == torch.float32
    torch.testing.assert_close(back.double(), act.backward(z, act(z), grad_a), **SINGLE)
    r32 = act.responsibilities(z32)
    torch.testing.assert_close(r32.double(), act.responsibilities(z), **SINGLE)
    torch.testing.assert_close(act.jacobian(z32).double(), act.jacobian(z), **SINGLE)


@pytest.mark.parametrize(("name", "settings"), CASES, ids=IDS)
def test_batch_of_models_equals_each_model_alone(name, settings):
    act = _build(name, settings)
    z = _z()
    grad_a = torch.randn(z.shape, dtype=z.dtype, generator=torch.Generator().manual_seed(SEED))
    a = act(z)
    for m, t in enumerate(TEMPS):
        alone = _build(name, settings, temps=[t])
        zm, am = z[m : m + 1], alone(z[m : m + 1])
        torch.testing.assert_close(a[m : m + 1], am, **TOL[torch.float64])
        torch.testing.assert_close(
            act.jacobian(z)[m : m + 1], alone.jacobian(zm), **TOL[torch.float64]
        )
        torch.testing.assert_close(
            act.backward(z, a, grad_a)[m : m + 1],
            alone.backward(zm, am, grad_a[m : m + 1]),
            **TOL[torch.float64],
        )
        torch.testing.assert_close(
            act.responsibilities(z)[m : m + 1], alone.responsibilities(zm), **TOL[torch.float64]
        )


@pytest.mark.parametrize(("name", "settings"), CASES, ids=IDS)
def test_set_temperature(name, settings):
    z = _z()
    act = _build(name, settings, temps=(1.0, 1.0, 1.0))
    before = act(z)
    new = torch.tensor([0.5, 1.0, 2.5])
    act.set_temperature(new)
    after = act(z)
    if not act.uses_temperature:
        torch.testing.assert_close(after, before, rtol=0, atol=0)
        return
    torch.testing.assert_close(after, _build(name, settings, temps=new.tolist())(z), rtol=0, atol=0)
    torch.testing.assert_close(after[1], before[1], rtol=0, atol=0)  # τ stayed 1
    for m in (0, 2):
        assert (after[m] - before[m]).abs().max() > 1e-3
    if name == "softmax":
        torch.testing.assert_close(after, torch.softmax(z / new.double().view(-1, 1, 1), dim=1))
    with pytest.raises(ValueError, match="temperature"):
        act.set_temperature(torch.tensor([0.5, 0.0, 1.0]))
    with pytest.raises(ValueError, match="one temperature per model"):
        act.set_temperature(torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_defaults_without_configs(name):
    z = _z(models=2, units=4)
    defaults = SimpleNamespace(temperature=1.0, group_size=2, k_active=2, layer_norm=False)
    expected = ACTIVATIONS[name]([defaults, defaults])(z)
    torch.testing.assert_close(ACTIVATIONS[name]()(z), expected, rtol=0, atol=0)
    bare = ACTIVATIONS[name]([SimpleNamespace(), SimpleNamespace()])  # e.g. the hidden config
    torch.testing.assert_close(bare(z), expected, rtol=0, atol=0)


def test_bad_settings_fail_with_the_value_named():
    five_units = _z(units=5)
    for name in ("grouped_softmax", "lwta"):
        act = ACTIVATIONS[name]([SimpleNamespace(group_size=2)])
        with pytest.raises(ValueError, match="group_size = 2 must divide the number of units"):
            act(five_units)
        with pytest.raises(ValueError, match="group_size must be an integer >= 1, got 0"):
            ACTIVATIONS[name]([SimpleNamespace(group_size=0)])
        with pytest.raises(ValueError, match="same for every model"):
            ACTIVATIONS[name]([SimpleNamespace(group_size=2), SimpleNamespace(group_size=3)])
    with pytest.raises(ValueError, match="k_active = 6 exceeds the number of units, 5"):
        ACTIVATIONS["kwta"]([SimpleNamespace(k_active=6)])(five_units)
    with pytest.raises(ValueError, match="temperature must be finite and > 0"):
        ACTIVATIONS["softmax"]([SimpleNamespace(temperature=1.0), SimpleNamespace(temperature=-1)])


def test_parallel_needs_an_even_layer():
    with pytest.raises(ValueError, match="parallel: the number of units must be even, got 5"):
        ACTIVATIONS["parallel"]([SimpleNamespace(temperature=1.0)])(_z(units=5))
    odd = SimpleNamespace(n_hidden=5)
    assert "n_hidden=5 is odd; parallel needs an even K" in ACTIVATIONS["parallel"].refusal(odd)
    assert ACTIVATIONS["parallel"].refusal(SimpleNamespace(n_hidden=6)) is None


def test_parallel_is_relu_beside_a_softmax_over_its_half():
    z = _z()
    act = _build("parallel", {})
    tau = torch.tensor(TEMPS, dtype=z.dtype).view(-1, 1, 1)
    expected = torch.cat((torch.relu(z[:, :3]), torch.softmax(z[:, 3:] / tau, dim=1)), dim=1)
    torch.testing.assert_close(act(z), expected, **TOL[torch.float64])
    jac = act.jacobian(z)  # no coupling between the halves
    assert jac[..., :3, 3:].abs().max() == 0 and jac[..., 3:, :3].abs().max() == 0


def test_l2_norm_is_scale_invariant_and_finite_at_zero():
    z = _z()
    act = _build("l2_norm", {})
    torch.testing.assert_close(act(7.0 * z), act(z), **TOL[torch.float64])
    torch.testing.assert_close(act(z).square().sum(dim=1), torch.ones(3, 5, dtype=z.dtype))
    zero = torch.zeros(1, 4, 2, dtype=torch.float64)
    assert act(zero).abs().max() == 0
    eye = torch.eye(4, dtype=torch.float64).expand(1, 2, 4, 4)
    torch.testing.assert_close(act.jacobian(zero), eye / 1e-6, **HAND)
    ones = torch.ones_like(zero)
    torch.testing.assert_close(act.backward(zero, act(zero), ones), 1e6 * ones, **HAND)


def test_residual_softmax_is_the_identity_plus_softmaxs_jacobian():
    z = _z()
    jac = _build("residual_softmax", {}).jacobian(z)
    eye = torch.eye(z.shape[1], dtype=z.dtype)
    torch.testing.assert_close(jac - eye, _build("softmax", {}).jacobian(z), **TOL[torch.float64])


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_kwta_winners_are_the_first_k_of_a_stable_sort(k):
    """The fast passes (no tie among the leaders) and the sort (ties) agree with the rule,
    on distinct values and on values rounded so that ties are common."""
    act = ACTIVATIONS["kwta"]([SimpleNamespace(k_active=k)])
    for z in (_z(units=6, examples=40), _z(units=6, examples=40).round()):
        order = torch.sort(z, dim=1, descending=True, stable=True).indices
        expected = torch.zeros_like(z, dtype=torch.bool).scatter_(1, order[:, :k], True)
        assert torch.equal(act.winners(z), expected)
        assert bool((act.winners(z).sum(dim=1) == k).all())


@pytest.mark.parametrize("size", [2, 3, 6])
def test_lwta_winners_are_each_blocks_first_maximum(size):
    act = ACTIVATIONS["lwta"]([SimpleNamespace(group_size=size)])
    for z in (_z(units=6, examples=40), _z(units=6, examples=40).round()):
        zb = z.unflatten(1, (6 // size, size))
        first = torch.zeros_like(zb, dtype=torch.bool).scatter_(2, zb.argmax(2, keepdim=True), True)
        assert torch.equal(act.winners(z), first.flatten(1, 2))
