"""Running sweeps: the results schema, determinism across jobs and backends, resume after
kill -9, damaged chunk files, and the ``sweep`` command."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sweeps
from sweeps import storage
from sweeps._plan import chunk_task, plan_chunks
from sweeps.spec import parse_overrides
from toymodels import ConfigError, model_seed, train
from toymodels.phases.extra_feature import LABELS, classify

REPO = Path(__file__).resolve().parents[1]
TINY = """
name = "tiny"
description = "3x3 grid for tests"
family = "relu"
n_features = 2
n_hidden = 1
seeds = 2
root_seed = 3
chunk_size = 4
[train]
steps = 80
batch_size = 64
eval_batch = 256
[axes]
density = { logspace = [0.05, 1.0], num = 3 }
importance = { logspace = [0.3, 3.0], num = 3 }
"""
DIMS = ("density", "importance", "seed", "hidden", "feature", "phase")
# A hidden layer of 4 ReLU units reconstructing 6 sparse features at 3 densities, with its
# trajectory recorded.
HIDDEN_DEMO = """
name = "hidden-demo"
family = "hidden"
task = "features"        # the sparse-feature reconstruction task
n_features = 6
n_hidden = 4
seeds = 2
[model]
activation = "relu"
density = 0.1
[train]
steps = 300
record_every = 50
[axes]
density = { logspace = [0.05, 1.0], num = 3 }
"""


@pytest.fixture
def main(sweep_cli):
    return sweep_cli


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny spec file and its uninterrupted single-process run (the reference)."""
    root = tmp_path_factory.mktemp("tiny")
    spec_file = root / "tiny.toml"
    spec_file.write_text(TINY)
    spec = sweeps.load_spec(spec_file)
    reference = sweeps.run(spec, root / "reference")
    return spec_file, spec, root / "reference", reference


def _identical(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)  # values bit for bit (NaN == NaN), coords, attrs
    for name in a.variables:
        assert a[name].dtype == b[name].dtype, name


def _snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_results_schema(tiny):
    _, spec, folder, ds = tiny
    assert tuple(ds.dims) == DIMS or set(ds.dims) == set(DIMS)
    expected = {
        "W": (("density", "importance", "seed", "hidden", "feature"), np.float32),
        "b": (("density", "importance", "seed", "feature"), np.float32),
        "loss": (("density", "importance", "seed"), np.float64),
        "loss_exact": (("density", "importance", "seed"), np.float64),
        "norm": (("density", "importance", "seed", "feature"), np.float32),
        "interference": (("density", "importance", "seed", "feature"), np.float32),
        "dimensionality": (("density", "importance", "seed", "feature"), np.float32),
        "feature_benefit": (("density", "importance", "seed"), np.float32),
        "interference_loss": (("density", "importance", "seed"), np.float32),
        "phase_model": (("density", "importance", "seed"), np.str_),
        "phase_paper": (("density", "importance"), np.str_),
        "phase_best": (("density", "importance"), np.str_),
        "phase_fraction": (("density", "importance", "phase"), np.float64),
        "cell_index": (("density", "importance"), np.int64),
        "diverged": (("density", "importance", "seed"), np.bool_),
    }
    assert set(ds.data_vars) == set(expected)
    for name, (dims, dtype) in expected.items():
        assert ds[name].dims == dims, name
        assert np.issubdtype(ds[name].dtype, dtype), (name, ds[name].dtype)
    assert ds.sizes == {
        "density": 3,
        "importance": 3,
        "seed": 2,
        "hidden": 1,
        "feature": 2,
        "phase": 4,  # the rule's three and diverged
    }
    np.testing.assert_array_equal(ds.density, spec.axes[0].values)
    np.testing.assert_array_equal(ds.importance, spec.axes[1].values)
    for coord in ("seed", "hidden", "feature"):
        assert ds[coord].dtype == np.int64
        np.testing.assert_array_equal(ds[coord], np.arange(ds.sizes[coord]))
    assert tuple(ds.phase.values) == (*LABELS, "diverged")
    assert not ds.diverged.any() and ds.attrs["diverged_models"] == 0
    np.testing.assert_array_equal(ds.cell_index.values.ravel(), np.arange(9))
    assert json.loads(ds.attrs["spec"]) == spec.to_dict()
    assert ds.attrs["root_seed"] == 3 and isinstance(ds.attrs["root_seed"], int)
    assert ds.attrs["toymodels_version"]
    assert json.loads(ds.attrs["thresholds"])["norm_represented"] == 0.5
    assert "j = i excluded" in ds.attrs["interference_definition"]
    assert "loss_exact" in ds.attrs["selection_loss"]
    # values: relu n=2 has an exact loss; phases agree with the phase rule
    assert np.isfinite(ds.loss_exact).all() and np.isfinite(ds.W).all()
    np.testing.assert_allclose(ds.phase_fraction.sum("phase"), 1.0)
    extra = ds.isel(feature=-1)
    codes = classify(extra.norm.values, extra.interference.values)
    np.testing.assert_array_equal(ds.phase_model.values, np.asarray(LABELS)[codes])
    best = ds.loss_exact.argmin("seed")
    np.testing.assert_array_equal(ds.phase_best.values, ds.phase_model.isel(seed=best).values)
    # the file on disk is the same dataset
    _identical(sweeps.load(folder), ds)


def test_results_file_round_trip(tiny, tmp_path):
    """The netCDF4 file reads back with the schema's dtypes (int64, str) and values."""
    from sweeps._dataset import read_results, write_results

    _, _, _, ds = tiny
    write_results(ds, tmp_path / "r.nc")
    back = read_results(tmp_path / "r.nc")
    _identical(back, ds)
    assert back["cell_index"].dtype == np.int64 and back["phase_best"].dtype.kind == "U"


def test_models_come_from_their_own_seeds(tiny):
    """Model (cell, replicate) is trained from SeedSequence(root_seed, spawn_key=(cell,
    replicate)) with the cell's config, exactly as toymodels.train would alone."""
    _, spec, _, ds = tiny
    chunk = plan_chunks(spec)[1]
    cells, reps = chunk.models // spec.seeds, chunk.models % spec.seeds
    configs = [spec.model_config(spec.cell_point(int(c))) for c in cells]
    seeds = [model_seed(3, int(c), int(r)) for c, r in zip(cells, reps, strict=True)]
    again = train(configs, spec.train, seeds)
    flat = ds.W.stack(model=("density", "importance", "seed")).transpose("model", ...)
    np.testing.assert_array_equal(again.params["W"], flat.values[chunk.models])
    assert chunk_task(spec, chunk).seeds[0].spawn_key == (int(cells[0]), int(reps[0]))


def test_plan_depends_on_spec_only(tiny):
    _, spec, _, _ = tiny
    chunks = plan_chunks(spec)
    assert [c.size for c in chunks] == [4, 4, 4, 3, 3]  # 18 models, near-equal chunks <= 4
    np.testing.assert_array_equal(np.concatenate([c.models for c in chunks]), np.arange(18))


def test_jobs_two_equals_jobs_one(tiny, tmp_path):
    _, spec, _, reference = tiny
    _identical(sweeps.run(spec, tmp_path / "two", jobs=2), reference)


def test_dask_cluster_equals_jobs_one(tiny, main, tmp_path, monkeypatch, capsys):
    """A real distributed LocalCluster with 2 single-threaded worker processes, reached by
    its scheduler address (``--backend dask --scheduler``) as an existing cluster would
    be; then the same workers behind ``--backend dask --jobs 2`` (the cluster the sweep
    starts itself is swapped for this one, to pay for one cluster start only)."""
    import distributed

    spec_file, _, _, reference = tiny
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        args = ["sweep", "run", str(spec_file), "--backend", "dask", "--quiet"]
        out = tmp_path / "dask"
        assert main([*args, "--scheduler", cluster.scheduler_address, "--out", str(out)]) == 0
        _identical(sweeps.load(out), reference)

        started = []

        def local_cluster(**kwargs):
            started.append(kwargs)
            return cluster

        monkeypatch.setattr(distributed, "LocalCluster", local_cluster)
        assert main([*args, "--jobs", "2", "--out", str(tmp_path / "local")]) == 0
        _identical(sweeps.load(tmp_path / "local"), reference)
        assert started[0]["n_workers"] == 2 and started[0]["threads_per_worker"] == 1
        assert started[0]["processes"] is True
    assert "18 models" in capsys.readouterr().out


def test_unreachable_scheduler_is_one_clear_error(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr("sweeps._backends._CONNECT_TIMEOUT", 1)
    _, spec, _, _ = tiny
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        sweeps.run(spec, tmp_path / "x", backend="dask", scheduler="tcp://127.0.0.1:9")
    assert not (tmp_path / "x").exists()


def test_resume_never_recomputes_and_damaged_chunks_are_recomputed(tiny, tmp_path, monkeypatch):
    _, spec, reference_dir, reference = tiny
    folder = tmp_path / "copy"
    shutil.copytree(reference_dir, folder)
    (folder / storage.RESULTS_FILE).unlink()
    paths = sorted((folder / storage.CHUNKS_DIR).glob("chunk-*.npz"))
    # corrupted: bytes flipped in the middle; truncated: cut in half; forged: a valid npz
    # whose arrays were altered after the checksum was taken
    data = bytearray(paths[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    paths[0].write_bytes(bytes(data))
    paths[1].write_bytes(paths[1].read_bytes()[: paths[1].stat().st_size // 2])
    with np.load(paths[2]) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["W"] = arrays["W"] + np.float32(1e-3)
    np.savez(paths[2], **arrays)
    st = sweeps.status(folder)
    assert (st.finished_chunks, st.damaged_chunks, st.total_chunks) == (2, 3, 5)
    assert not st.consolidated
    untouched = {p.name: p.stat().st_mtime_ns for p in paths[3:]}

    trained = []
    original = sweeps._backends.train_chunk

    def counting(task, progress=None, threads=1):
        trained.append(task.index)
        return original(task, progress, threads)

    monkeypatch.setattr("sweeps._backends.train_chunk", counting)
    _identical(sweeps.run(spec, folder), reference)
    assert sorted(trained) == [0, 1, 2]
    assert {p.name: p.stat().st_mtime_ns for p in paths[3:]} == untouched
    trained.clear()
    _identical(sweeps.run(spec, folder), reference)  # finished: nothing is trained again
    assert trained == []


KILLABLE = {
    # enough steps per chunk (~0.3 s each here) that the run is caught between chunks
    "relu": (TINY, ["train.steps=300"], 5),
    "hidden": (HIDDEN_DEMO, ["chunk_size=2", "train.steps=3000", "train.record_every=500"], 3),
}


@pytest.mark.parametrize("family", sorted(KILLABLE))
def test_kill_9_then_resume_equals_uninterrupted(family, tmp_path):
    """A sweep killed with SIGKILL in a real subprocess, then resumed, gives the arrays of
    an uninterrupted run; chunks finished before the kill are kept as they were."""
    text, overrides, total = KILLABLE[family]
    spec_file = tmp_path / "kill.toml"
    spec_file.write_text(text)
    spec = sweeps.load_spec(spec_file).with_overrides(parse_overrides(overrides))
    spec_file = tmp_path / "kill.json"
    spec_file.write_text(spec.to_json())
    folder = tmp_path / "killed"
    code = "import sys, sweeps; sweeps.run(sweeps.load_spec(sys.argv[1]), sys.argv[2])"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen([sys.executable, "-c", code, str(spec_file), str(folder)], env=env)
    chunks = folder / storage.CHUNKS_DIR
    deadline = time.monotonic() + 60
    try:
        while not list(chunks.glob("chunk-*.npz")):
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no chunk was written within 60 s"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    st = sweeps.status(folder)
    assert 1 <= st.finished_chunks < st.total_chunks == total
    assert not st.consolidated
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in chunks.glob("chunk-*")}

    resumed = sweeps.run(spec, folder)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in chunks.glob("chunk-*")}
    assert all(after[name] == value for name, value in before.items())
    assert not list(chunks.glob(".*.tmp"))
    uninterrupted = sweeps.run(spec, tmp_path / "straight")
    _identical(resumed, uninterrupted)


def test_hidden_demo_trains_stores_and_loads_with_a_step_dim(main, tmp_path, capsys):
    spec_file = tmp_path / "hidden-demo.toml"
    spec_file.write_text(HIDDEN_DEMO)
    out = tmp_path / "DIR"
    assert main(["sweep", "run", str(spec_file), "--out", str(out), "--quiet"]) == 0
    assert "hidden-demo: density 3 x 2 seeds = 6 models" in capsys.readouterr().out
    ds = sweeps.load(out)
    assert list(ds["step"].values) == [0, 50, 100, 150, 200, 250, 300]
    assert ds["loss_trajectory"].dims == ("density", "seed", "step")
    assert ds["W1"].dims == ("density", "seed", "unit", "input")
    assert (ds.sizes["unit"], ds.sizes["input"], ds.sizes["output"]) == (4, 6, 6)
    assert ds["unit_norm_trajectory"].dims == ("density", "seed", "step", "unit")
    trajectory = ds["loss_trajectory"].values
    assert np.isfinite(trajectory).all() and (trajectory[..., -1] < trajectory[..., 0]).all()
    assert ds.attrs["family"] == "hidden" and ds.attrs["task"] == "features"
    # the preset of the same name is this spec
    assert sweeps.load_preset("hidden-demo").identity() == sweeps.load_spec(spec_file).identity()


def test_spec_mismatch_is_refused(tiny, main, tmp_path, capsys):
    spec_file, _, reference_dir, _ = tiny
    folder = tmp_path / "copy"
    shutil.copytree(reference_dir, folder)
    before = _snapshot(folder)
    code = main(["sweep", "run", str(spec_file), "--out", str(folder), "--set", "train.steps=81"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "holds a different sweep" in err and "train.steps: stored 80, given 81" in err
    assert _snapshot(folder) == before


def test_resume_with_another_package_version_is_refused(tiny, tmp_path):
    _, spec, reference_dir, _ = tiny
    folder = tmp_path / "copy"
    shutil.copytree(reference_dir, folder)
    (folder / storage.VERSION_FILE).write_text("0.0.1\n")
    sweeps.run(spec, folder)  # consolidated: nothing left to compute, so nothing mixes
    (folder / storage.RESULTS_FILE).unlink()
    with pytest.raises(ConfigError, match="started with toymodels 0.0.1"):
        sweeps.run(spec, folder)


def test_sweep_command_run_status_and_resume(tiny, main, tmp_path, capsys):
    spec_file, _, _, reference = tiny
    folder = tmp_path / "cli"
    assert main(["sweep", "run", str(spec_file), "--out", str(folder), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "18 models" in out and err == ""
    _identical(sweeps.load(folder), reference)
    assert main(["sweep", "status", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "sweep: tiny (3x3 grid for tests)" in out
    assert "chunks: 5/5 finished (18/18 models)" in out and "consolidated: yes" in out
    # resuming from the folder alone (its spec.json), with a progress bar on stderr
    assert main(["sweep", "run", str(folder), "--out", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "18 models" in out and "100%" in err and "model-step" in err


def test_progress_callback_counts_model_steps(tiny, tmp_path):
    _, spec, _, _ = tiny
    calls = []
    sweeps.run(spec, tmp_path / "p", progress=lambda done, total: calls.append((done, total)))
    total = spec.n_models * spec.train.steps
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))


def test_structure_axes_pad_and_classify_each_models_own_extra_feature(tmp_path):
    spec = sweeps.load_preset("paper-2to1").with_overrides(
        {
            "seeds": 1,
            "train.steps": 30,
            "train.batch_size": 32,
            "train.eval_batch": 64,
            "axes.family": ["linear", "relu"],
            "axes.n_features": [2, 3],
            "axes.density": [0.5],
            "axes.importance": None,
        }
    )
    ds = sweeps.run(spec, tmp_path / "s")
    # an overridden axis keeps its place; new axes come after
    assert ds.W.dims == ("density", "family", "n_features", "seed", "hidden", "feature")
    assert ds.sizes["feature"] == 3 and ds.n_features.dtype == np.int64
    small = ds.sel(n_features=2)
    assert np.isnan(small.W.sel(feature=2)).all() and np.isfinite(small.W.sel(feature=[0, 1])).all()
    assert np.isfinite(ds.W.sel(n_features=3)).all()
    for n in (2, 3):
        extra = ds.sel(n_features=n).isel(feature=n - 1)
        codes = classify(extra.norm.values, extra.interference.values)
        np.testing.assert_array_equal(
            ds.phase_model.sel(n_features=n).values, np.asarray(LABELS)[codes]
        )
    assert ds.family.values.tolist() == ["linear", "relu"]
    assert np.isfinite(ds.loss_exact).all()  # linear and relu n <= 4 have exact losses
