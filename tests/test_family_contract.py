"""The common checks every registered family passes, with every task it learns (in the
spirit of scikit-learn's ``check_estimator``, run over all estimators): a family added to
``FAMILIES`` gets them without writing a test of its own.

- its declarations are complete and agree with what it builds;
- models trained together equal models trained alone, for every estimator it supports;
- a hand-derived gradient (where it declares one and takes it) equals autograd;
- the arrays a sweep stores are exactly the declared ones, with their dims and dtypes,
  and the results do not depend on ``--jobs``;
- every bad value of every field is refused in one line, exit code 2, nothing written.
"""

import json
import math

import numpy as np
import pytest
import torch
from gradient_checks import assert_batch_gradient_is_autograd

import cli.main as cli
import sweeps
from sweeps._schema import TRAJECTORY, variables
from toymodels import (
    ESTIMATORS,
    FAMILIES,
    REGULARISERS,
    TASKS,
    ModelConfig,
    TrainConfig,
    field_specs,
    model_seed,
    train,
)
from toymodels.families.base import ToyModel
from toymodels.fields import Config
from toymodels.recording import probe_batch

CASES = [(f, t) for f, cls in FAMILIES.items() for t in cls.tasks]
IDS = [f"{f}-{t}" for f, t in CASES]
TRAIN = dict(steps=40, batch_size=64, eval_batch=256, lr=1e-2)


def _finite(family: str, task: str) -> bool:
    """Whether the task can be a finite data set (with n_samples, or always)."""
    return "n_samples" in field_specs(family, task) or TASKS[task].fixed


def _configs(family: str, task: str, count: int = 3, **fixed) -> list[ModelConfig]:
    """``count`` models differing in every per-model field (an L2 penalty of differing
    strength included), the rest at the defaults."""
    specs = field_specs(family, task)
    base = ModelConfig.build(family, task, regulariser="l2", **fixed)
    out = []
    for i in range(count):
        changes = {"strength": (0.0, 1e-3, 1e-2)[i % 3]}
        for name, spec in specs.items():
            if spec.per_model and name != "strength" and spec.kind is float:
                value = specs[name].default
                if isinstance(value, float) and value > 0:
                    changes[name] = value * (1.0 - 0.25 * (i % 3))
        out.append(base.replace(**changes))
    return out


def _estimator_cases():
    for family, task in CASES:
        for estimator in FAMILIES[family].estimators:
            needs = ESTIMATORS[estimator].data
            if needs == "finite" and not _finite(family, task):
                continue
            yield family, task, estimator


ESTIMATOR_CASES = list(_estimator_cases())


def _fixed_for(family, task, estimator):
    finite = ESTIMATORS[estimator].data == "finite" and not TASKS[task].fixed
    return {"n_samples": 48} if finite else {}


# -- declarations ---------------------------------------------------------------------------
@pytest.mark.parametrize(("family", "task"), CASES, ids=IDS)
def test_declarations_are_complete_and_true(family, task):
    cls = FAMILIES[family]
    assert cls.name == family and issubclass(cls.Config, Config)
    assert cls.tasks and all(t in TASKS for t in cls.tasks)
    assert set(cls.estimators) <= set(ESTIMATORS)
    assert set(cls.weights) <= set(cls.params)
    assert cls.hand_gradient or not cls.uses_hand_gradient(ModelConfig.build(family, task))
    if cls.phase_rule is not None:
        # a rule reads the family's metrics or what each of its tasks measures
        for name in cls.tasks:
            assert set(cls.phase_rule.needs) <= set(cls.metrics) | set(TASKS[name].outputs)
    config = ModelConfig.build(family, task)
    model = cls([config], [model_seed(0, 0, 0)])
    sizes = cls.dims(config)
    # every declared parameter is a parameter, with the declared dims, and nothing else is
    assert [n for n, _ in model.named_parameters()] == list(cls.params)
    for name, out in cls.params.items():
        assert tuple(getattr(model, name).shape[1:]) == tuple(sizes[d] for d in out.dims)
    # every declared metric is measured, with the declared dims
    probe = probe_batch(model, 256)
    metrics = model.compute_metrics(probe if cls.metrics_use_data else None)
    assert set(metrics) == set(cls.metrics)
    for name, out in cls.metrics.items():
        assert tuple(metrics[name].shape[1:]) == tuple(sizes[d] for d in out.dims)
    found = model.task.metrics(model(probe.x), probe)
    assert set(found) == set(TASKS[task].outputs)
    # fields of the regulariser, the family and the task never share a name
    assert len(field_specs(family, task)) == sum(
        len(part.field_specs()) for part in (type(config.penalty), cls.Config, TASKS[task].Config)
    )


# -- batched equals alone -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "task", "estimator"), ESTIMATOR_CASES, ids=["-".join(c) for c in ESTIMATOR_CASES]
)
def test_models_trained_together_equal_models_trained_alone(family, task, estimator):
    configs = _configs(family, task, **_fixed_for(family, task, estimator))
    cfg = TrainConfig(**TRAIN, estimator=estimator, record_every=20)
    seeds = [model_seed(1, i, 0) for i in range(len(configs))]
    together = train(configs, cfg, seeds)
    for i, (config, seed) in enumerate(zip(configs, seeds, strict=True)):
        alone = train([config], cfg, [seed])
        for name in together.params:
            np.testing.assert_allclose(
                together.params[name][i], alone.params[name][0], rtol=1e-5, atol=1e-6
            )
        np.testing.assert_allclose(together.loss[i], alone.loss[0], rtol=1e-5)
        for name, value in together.trajectory.items():
            np.testing.assert_allclose(value[i], alone.trajectory[name][0], rtol=1e-4, atol=1e-6)
    # the per-model values really differ: so do the models
    assert not np.allclose(together.loss[0], together.loss[-1])


@pytest.mark.parametrize(("family", "task"), CASES, ids=IDS)
def test_recording_changes_nothing_that_is_trained(family, task):
    configs = _configs(family, task, count=2)
    seeds = [model_seed(2, i, 0) for i in range(2)]
    plain = train(configs, TrainConfig(**TRAIN), seeds)
    recorded = train(configs, TrainConfig(**TRAIN, record_every=10), seeds)
    for name in plain.params:
        np.testing.assert_array_equal(plain.params[name], recorded.params[name])
    np.testing.assert_array_equal(plain.loss, recorded.loss)
    assert recorded.record_steps == (0, 10, 20, 30, 40)
    assert recorded.trajectory["loss"].shape == (2, 5)
    assert set(recorded.trajectory) >= {"loss", *FAMILIES[family].metrics}


# -- gradients ------------------------------------------------------------------------------
def _random_batch(model, rows: int = 96):
    shape = (model.n_models, *model.task.sample_shape(model.task.configs[0], rows))
    gen = torch.Generator().manual_seed(0)
    return model.task.draw(torch.randint(-(2**31), 2**31, shape, dtype=torch.int32, generator=gen))


@pytest.mark.parametrize(("family", "task"), CASES, ids=IDS)
def test_hand_gradients_equal_autograd(family, task):
    cls = FAMILIES[family]
    if not cls.hand_gradient:
        pytest.skip(f"the {family} family declares no hand-derived gradient")
    configs = _configs(family, task)
    if not cls.uses_hand_gradient(configs[0]):
        # its batch_loss_and_grad is autograd here: comparing it with autograd tests nothing
        pytest.skip(f"the {family} family takes autograd for these configs")
    model = cls(configs, [model_seed(3, i, 0) for i in range(3)], dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, dtype=p.dtype, generator=torch.Generator()))
        model.b.sub_(0.1) if hasattr(model, "b") else None
    batch = _random_batch(model)
    assert_batch_gradient_is_autograd(model, batch, 1.0 / 96)
    if model.exact_loss_available(configs[0]):
        loss, grads = model.expected_loss_and_grad()
        loss_auto, grads_auto = ToyModel.expected_loss_and_grad(model)
        torch.testing.assert_close(loss, loss_auto, rtol=1e-10, atol=1e-12)
        for h, a in zip(grads, grads_auto, strict=True):
            torch.testing.assert_close(h, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REGULARISERS))
def test_penalty_gradients_equal_autograd(name):
    reg = REGULARISERS[name]()
    gen = torch.Generator().manual_seed(4)
    weights = [torch.randn(3, 4, 5, dtype=torch.float64, generator=gen, requires_grad=True)]
    weights.append(torch.randn(3, 2, 4, dtype=torch.float64, generator=gen, requires_grad=True))
    penalty = reg.penalty(weights)
    assert penalty.shape == (3,)
    grads = torch.autograd.grad(penalty.sum(), weights)
    for w, g in zip(weights, grads, strict=True):
        torch.testing.assert_close(reg.gradient(w.detach()), g)
    with torch.no_grad():
        direct = {
            "none": 0.0,
            "l2": float(sum((w**2).sum() for w in weights)),
            "l1": float(sum(w.abs().sum() for w in weights)),
        }
    assert float(penalty.detach().sum()) == pytest.approx(direct[name], rel=1e-12)


def test_penalty_enters_the_gradient_with_each_models_strength():
    # With lr -> the first Adam step's direction is sign(gradient); use SGD instead.  A step
    # of 1e-30 leaves float32 weights of order 0.1 where they start.
    configs = _configs("hidden", "features")
    seeds = [model_seed(5, i, 0) for i in range(3)]
    cfg = TrainConfig(steps=1, batch_size=32, lr=0.1, optimizer="sgd")
    start = train(configs, TrainConfig(steps=1, batch_size=32, lr=1e-30, optimizer="sgd"), seeds)
    moved = train(configs, cfg, seeds)
    bare = train([c.replace(regulariser="none", strength=0.0) for c in configs], cfg, seeds)
    for i, config in enumerate(configs):
        lam = config.penalty.strength
        for name in FAMILIES["hidden"].weights:
            w0 = start.params[name][i]
            # the penalty adds -lr * λ * 2 w to the unpenalised step
            expected = bare.params[name][i] - 0.1 * lam * 2.0 * w0
            np.testing.assert_allclose(moved.params[name][i], expected, rtol=1e-5, atol=1e-6)


# -- storage --------------------------------------------------------------------------------
def _spec(family, task, **model):
    sizes = {k: v for k, v in model.items() if field_specs(family, task)[k].top}
    table = {k: v for k, v in model.items() if k not in sizes}
    return sweeps.SweepSpec.from_dict(
        {
            "name": f"{family}-{task}",
            "family": family,
            "task": task,
            **sizes,
            "seeds": 2,
            "chunk_size": 3,
            "model": table,
            "train": {**TRAIN, "record_every": 20},
            "axes": _axis(family, task),
        }
    )


def _axis(family, task):
    """A grid over one per-model float field (the first the family and task declare)."""
    for name, spec in field_specs(family, task).items():
        if spec.per_model and spec.kind is float and name != "strength":
            return {name: [spec.default, spec.default * 0.5]}
    return {"strength": [0.0, 0.01]}


@pytest.mark.parametrize(("family", "task"), CASES, ids=IDS)
def test_stored_outputs_are_the_declared_ones_and_jobs_change_nothing(family, task, tmp_path):
    spec = _spec(family, task)
    one = sweeps.run(spec, tmp_path / "one", jobs=1)
    two = sweeps.run(spec, tmp_path / "two", jobs=2)
    (axis,) = spec.axes
    config = spec.model_config(spec.cell_point(0))
    declared = variables(config, spec.train)
    sizes = FAMILIES[family].dims(config)
    for name, var in declared.items():
        assert one[name].dims == (axis.name, "seed", *var.dims), name
        assert one[name].dtype == var.dtype, name
        assert one[name].attrs["description"] == var.description
        for dim in var.dims:
            assert one.sizes[dim] == (3 if dim == "step" else sizes[dim])
    phases = {"phase_model", "phase_paper", "phase_best", "phase_fraction"}
    rule = FAMILIES[family].phase_rule
    expected = set(declared) | {"cell_index", "diverged"} | (phases if rule else set())
    assert set(one.data_vars) == expected
    assert any(n.endswith(TRAJECTORY) for n in declared)
    assert list(one["step"].values) == [0, 20, 40] == list(spec.train.record_steps())
    assert json.loads(one.attrs["spec"])["family"] == family
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, two[name].values)


# -- bad values of every field ----------------------------------------------------------------
def _toml(value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _bad_cases():
    for family, task in CASES:
        for name, spec in field_specs(family, task).items():
            for bad in spec.check.bad:
                yield family, task, name, bad


BAD_CASES = list(_bad_cases())


@pytest.fixture
def main(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("cli.sweep_command",))
    return cli.main


@pytest.mark.parametrize(
    ("family", "task", "name", "bad"),
    BAD_CASES,
    ids=[f"{f}-{t}-{n}={b!r}" for f, t, n, b in BAD_CASES],
)
def test_every_bad_field_value_is_one_line_and_nothing_written(
    family, task, name, bad, main, tmp_path, capsys
):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(f'name = "x"\nfamily = "{family}"\ntask = "{task}"\n')
    key = name if field_specs(family, task)[name].top else f"model.{name}"
    out = tmp_path / "out"
    code = main(["sweep", "run", str(spec_file), "--out", str(out), "--set", f"{key}={_toml(bad)}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and name in err and "Traceback" not in err, err
    assert not out.exists()
