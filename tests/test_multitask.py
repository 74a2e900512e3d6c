"""The contextual task, its networks (contextual_relu / contextual_linear / gdln) and the
closed-form mode dynamics: definitions checked directly, the closed form against a
numerical ODE solution and against trained linear networks, and the seed's findings in
small versions (the full ones: ``benchmarks/multitask_findings.py``)."""

import os

import numpy as np
import pytest
import torch

from analytics.mode_dynamics import mode_solution, predict
from toymodels import ModelConfig, TrainConfig, model_seed, train
from toymodels.contextual_data import (
    ContextualConfig,
    config_modes,
    contextual_data,
    hierarchy,
    regrouped,
    ring,
)
from toymodels.families.contextual_networks import census
from toymodels.families.gdln import gate_sets, pathway_names

GD = dict(optimizer="sgd", estimator="full")


# -- the data set ---------------------------------------------------------------------------
@pytest.mark.parametrize("k", [3, 4, 5])
@pytest.mark.parametrize("structure", ["same", "different"])
def test_data_set_shapes_and_blocks(k, structure):
    x, y, context = contextual_data(ContextualConfig(n_contexts=k, structure=structure))
    assert x.shape == (8 + k, 8 * k) and y.shape == (15 * (k + 1), 8 * k)
    # every (object, context) pair once, context-major
    np.testing.assert_array_equal(x[:8].argmax(0), np.tile(np.arange(8), k))
    np.testing.assert_array_equal(x[8:].argmax(0), np.repeat(np.arange(k), 8))
    np.testing.assert_array_equal(x.sum(0), 2.0)
    np.testing.assert_array_equal(context, np.repeat(np.arange(k), 8))
    h = hierarchy()
    np.testing.assert_array_equal(y[:15], np.tile(h, (1, k)))  # context-independent block
    expected = [h, ring(), regrouped()] if structure == "different" else [h, h, h]
    for c in range(k):
        block = y[15 * (c + 1) : 15 * (c + 2)]
        np.testing.assert_array_equal(block[:, context != c], 0.0)
        np.testing.assert_array_equal(block[:, context == c], expected[c % 3])


def test_structures_are_the_stated_ones():
    h = hierarchy()
    np.testing.assert_array_equal(h.sum(1), [8, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(h[1], [1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(h[4], [0, 0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(regrouped()[3], [1, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(regrouped()[6], [0, 0, 0, 0, 0, 1, 0, 1])
    np.testing.assert_array_equal(
        regrouped()[[0, 1, 2, *range(7, 15)]], h[[0, 1, 2, *range(7, 15)]]
    )
    r = ring()
    np.testing.assert_array_equal(r[1], [0, 0.33, 0.66, 1, 1, 0.66, 0.33, 0])
    np.testing.assert_array_equal(r[2], np.roll(r[1], -1))  # the peak moves to the left
    np.testing.assert_array_equal(r[9:], r[1:7])


def test_whitened_inputs_have_unit_variance_on_their_span():
    one_hot, y1, _ = contextual_data(ContextualConfig(inputs="one_hot"))
    white, y2, _ = contextual_data(ContextualConfig(inputs="whitened"))
    np.testing.assert_array_equal(y1, y2)
    evals = np.linalg.eigvalsh(white @ white.T / 24)
    np.testing.assert_allclose(np.sort(evals), [0] + [1] * 10, atol=1e-10)
    assert np.linalg.matrix_rank(one_hot) == 10  # objects and contexts both sum to 1
    np.testing.assert_allclose(config_modes(ContextualConfig(inputs="whitened")).d, 1.0)


def test_modes_decompose_the_input_output_correlation():
    x, y, _ = contextual_data(ContextualConfig())
    found = config_modes(ContextualConfig())
    sigma = y @ x.T / 24
    np.testing.assert_allclose((found.U * found.s) @ found.V.T, sigma, atol=1e-12)
    assert np.all(np.diff(found.s) <= 1e-12)
    np.testing.assert_allclose(found.d, np.einsum("ia,ij,ja->a", found.V, x @ x.T / 24, found.V))
    assert found.target_power == pytest.approx((y**2).sum() / 24)


# -- the closed form ------------------------------------------------------------------------
def _rk4(f, a, t_end, steps):
    h = t_end / steps
    out = [a]
    for _ in range(steps):
        k1 = f(a)
        k2 = f(a + h / 2 * k1)
        k3 = f(a + h / 2 * k2)
        k4 = f(a + h * k3)
        a = a + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(a)
    return np.array(out)


def test_closed_form_equals_numerical_solution_of_the_mode_equation():
    sol = mode_solution()
    from analytics.mode_dynamics import a0, d, s, t, tau

    values = {s: 0.7, d: 0.4, a0: 1e-3, tau: 5.0}
    times = np.linspace(0, 60, 601)
    numeric = _rk4(lambda a: 2 * a * (0.7 - 0.4 * a) / 5.0, 1e-3, 60, 600 * 20)[::20]
    closed = np.array([float(sol.a.subs(values).subs(t, v)) for v in times[::50]])
    np.testing.assert_allclose(closed, numeric[::50], rtol=1e-8)
    assert float(sol.asymptote.subs(values)) == pytest.approx(0.7 / 0.4)
    half = float(sol.half_time.subs(values))
    crossing = np.interp(0.7 / 0.4 / 2, numeric, times)
    assert half == pytest.approx(crossing, rel=1e-3)


def test_mode_solution_is_derived_once_then_read_from_the_disk_cache(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys

    from analytics import _cache, mode_dynamics, stored_expressions

    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path))
    derived = mode_solution()  # this session's (derived or read) solution
    mode_solution.cache_clear()
    try:
        first = mode_solution()  # an empty cache: derives, then stores
        (entry,) = (tmp_path / "modes").glob("*.json")
        mode_solution.cache_clear()
        read = mode_solution()
        for part in ("a", "asymptote", "half_time"):
            assert getattr(read, part) == getattr(first, part) == getattr(derived, part)
        assert read.equation == first.equation
        # A stored tree naming a symbol outside the solution's is refused: derived again.
        payload = json.loads(entry.read_text())["payload"]
        payload["a"] = ["symbol", "p"]
        _cache.write_entry("modes", mode_dynamics._cache_key(), payload)
        with pytest.raises(stored_expressions.Undecodable, match="unknown symbol"):
            stored_expressions.decode(payload["a"], mode_dynamics.SYMBOLS)
        mode_solution.cache_clear()
        assert mode_solution().a == first.a
        assert json.loads(entry.read_text())["payload"]["a"] != ["symbol", "p"]
    finally:
        mode_solution.cache_clear()
    # The closed form of the contextual task needs neither torch nor a second derivation.
    code = (
        "import sys; from cli.main import main; main(['analytic', 'modes', '--json']); "
        "sys.stderr.write(str('torch' in sys.modules))"
    )
    env = {**os.environ, "TOYMODELS_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stderr == "False", done.stderr
    assert json.loads(done.stdout)["modes"][0]["asymptote"] > 0


def test_linear_network_from_balanced_start_on_whitened_task_follows_the_closed_form():
    config = ModelConfig.build(
        "contextual_linear", "contextual", inputs="whitened", init="balanced", n_hidden=32,
        init_std=0.01,
    )  # fmt: skip
    lr, epochs = 5e-4, 2500
    result = train(
        [config], TrainConfig(steps=epochs, lr=lr, record_every=5, **GD), [model_seed(0, 0, 0)]
    )
    theory = predict(config.data, lr, 0.01, 32)
    steps = np.array(result.record_steps, dtype=float)
    trained = result.trajectory["mode_strength"][0]  # [step, mode]
    np.testing.assert_allclose(trained[0], theory.a0, rtol=1e-3)  # every mode starts at a0
    for a, half in enumerate(theory.half_time):
        crossing = np.interp(theory.asymptote[a] / 2, trained[:, a], steps)
        assert crossing == pytest.approx(half, rel=0.05), a
    # and the whole curve: within 5% of the asymptote at every recorded step
    np.testing.assert_allclose(trained, theory.strength(steps), atol=0.05 * theory.asymptote.max())


# -- networks -------------------------------------------------------------------------------
def test_gdln_gating_equals_a_direct_computation():
    config = ModelConfig.build("gdln", "contextual", n_hidden=5, gating="subsets")
    from toymodels.families.gdln import GatedLinearNetwork

    model = GatedLinearNetwork([config], [model_seed(0, 0, 0)], dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(generator=torch.Generator().manual_seed(1))
    x, _, context = contextual_data(config.data)
    sets = gate_sets(3, "subsets")
    assert sets == [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]
    assert pathway_names(3, "subsets")[5] == "ctx1+3"
    W = {n: p.detach()[0].numpy() for n, p in model.named_parameters()}
    expected = np.zeros((60, 24))
    for p in range(24):
        out = W["Wc2"] @ W["Wc1"] @ x[:, p]
        for m, contexts in enumerate(sets):
            if context[p] in contexts:
                out += W["Wg2"][m] @ W["Wg1"][m] @ x[:8, p]
        expected[:, p] = out
    got = model(torch.tensor(x)[None]).detach()[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_gdln_residual_training_gives_each_pathway_its_own_target():
    config = ModelConfig.build("gdln", "contextual", n_hidden=4, training="residual")
    from toymodels.families.gdln import GatedLinearNetwork

    model = GatedLinearNetwork([config], [model_seed(0, 0, 0)], dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1e4)  # away from the tiny start, so that both targets matter
    batch = model.task.data_set
    model.batch_loss_and_grad(batch, 1.0)
    got = {n: p.grad.clone() for n, p in model.named_parameters()}
    params = dict(model.named_parameters())
    with torch.enable_grad():
        y = batch.y
        common = model.common(batch.x)
        own = 0.5 * (common - y).pow(2).sum()
        residual = 0.5 * (common.detach() + model.gated(batch.x) - y).pow(2).sum()
        for name in ("Wc1", "Wc2"):
            (g,) = torch.autograd.grad(own, params[name], retain_graph=True)
            torch.testing.assert_close(got[name], g)
        for name in ("Wg1", "Wg2"):
            (g,) = torch.autograd.grad(residual, params[name], retain_graph=True)
            torch.testing.assert_close(got[name], g)


def test_census_counts_constructed_units():
    # unit 0: all contexts; 1: contexts {0, 1}; 2: context {2}; 3: all but weak
    strength = torch.tensor([[1.0, 0.8, 0.5, 0.05]])
    bits = torch.tensor([[0b111, 0b011, 0b100, 0b111]], dtype=torch.int32)
    counts = census(strength, bits, 3)
    assert {k: int(v) for k, v in counts.items()} == {
        "units_all": 1,
        "units_subset": 1,
        "units_single": 1,
    }


def test_unit_context_bits_on_a_constructed_relu_network():
    config = ModelConfig.build("contextual_relu", "contextual", n_hidden=3)
    from toymodels.families.contextual_networks import ContextualReLU

    model = ContextualReLU([config], [model_seed(0, 0, 0)])
    with torch.no_grad():
        W1 = torch.zeros(11, 3)
        W1[:8] = 1.0  # every object drives every unit
        W1[8:, 0] = 0.0  # unit 0: on in every context
        W1[8:, 1] = torch.tensor([0.0, 0.0, -5.0])  # unit 1: off in context 3
        W1[8:, 2] = torch.tensor([-5.0, -5.0, 0.0])  # unit 2: only context 3
        model.W1.copy_(W1[None])
        model.W2.fill_(1.0)
    metrics = model.compute_metrics(model.task.data_set)
    assert metrics["unit_contexts"][0].tolist() == [0b111, 0b011, 0b100]
    assert int(metrics["units_all"][0]) == 1 and int(metrics["units_subset"][0]) == 1
    assert int(metrics["units_single"][0]) == 1
    # all 8 objects of a context share one hidden vector here: distance 0 within a context
    dist = metrics["hidden_distance"][0]
    assert float(dist[0, 7]) == 0.0 and float(dist[0, 8]) == 0.0  # contexts 1, 2 alike
    assert float(dist[0, 16]) == pytest.approx(np.sqrt(2))  # (1, 1, 0) vs (1, 0, 1)


# -- the seed's findings, small versions -------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    cfg = TrainConfig(steps=8001, lr=1e-3, **GD)
    out = {}
    for family, hidden in (("contextual_linear", 100), ("contextual_relu", 200), ("gdln", 50)):
        config = ModelConfig.build(family, "contextual", n_hidden=hidden)
        out[family] = train([config], cfg, [model_seed(0, 0, 0)])
    return out


def test_linear_network_ends_at_the_closed_form_asymptotes(trained):
    theory = predict(ContextualConfig(), 1e-3)
    final = trained["contextual_linear"].metrics["mode_strength"][0]
    np.testing.assert_allclose(final, theory.asymptote, rtol=0.05)


def test_relu_network_units_are_mixed_selective_not_modular(trained):
    m = trained["contextual_relu"].metrics
    shared = int(m["units_all"][0] + m["units_subset"][0])
    single = int(m["units_single"][0])
    assert shared >= 20 and single <= 0.2 * (shared + single), (shared, single)
    assert trained["contextual_relu"].loss[0] < 0.1  # the ReLU network solves the task
    assert trained["contextual_linear"].loss[0] > 10  # the linear one cannot


def test_gdln_pathways_serving_more_contexts_end_stronger(trained):
    top = trained["gdln"].metrics["pathway_singular_values"][0, :, 0]
    names = pathway_names(3, "subsets")
    singles = [top[i] for i, n in enumerate(names) if n.startswith("ctx") and "+" not in n]
    pairs = [top[i] for i, n in enumerate(names) if "+" in n]
    assert min(pairs) > 3 * max(singles), dict(zip(names, top, strict=True))
