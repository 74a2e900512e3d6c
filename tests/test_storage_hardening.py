"""A damaged results.nc is detected and rebuilt from the chunk files; a chunk file is tied
to the spec and the package version that computed it."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sweeps
from sweeps import storage
from sweeps._dataset import DIGEST_ATTR, ENGINE, content_digest
from sweeps._plan import plan_chunks
from toymodels import ConfigError

# 2 x 2 cells x 2 seeds in chunks of 2: four chunks, about a second to train.
OVERRIDES = {
    "train.steps": 20,
    "train.batch_size": 32,
    "train.eval_batch": 64,
    "seeds": 2,
    "chunk_size": 2,
    "axes.density.num": 2,
    "axes.importance.num": 2,
}


@pytest.fixture
def main(sweep_cli):
    return sweep_cli


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The spec, a finished sweep folder (never modified) and its results."""
    spec = sweeps.load_preset("paper-2to1").with_overrides(OVERRIDES)
    folder = tmp_path_factory.mktemp("ref") / "run"
    return spec, folder, sweeps.run(spec, folder)


@pytest.fixture
def copy(reference, tmp_path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(reference[1], folder)
    return folder


@pytest.fixture
def trained(monkeypatch) -> list[int]:
    """The indices of the chunks trained from now on."""
    indices: list[int] = []
    original = sweeps._backends.train_chunk

    def counting(task, progress=None, threads=1):
        indices.append(task.index)
        return original(task, progress, threads)

    monkeypatch.setattr("sweeps._backends.train_chunk", counting)
    return indices


def _identical(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        assert a[name].dtype == b[name].dtype, name


def _chunk_stamps(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (folder / storage.CHUNKS_DIR).iterdir()}


def _flip_a_stored_value(path: Path, values: np.ndarray) -> None:
    """Flip a byte inside the stored array ``values``: the file stays readable by HDF5."""
    data = bytearray(path.read_bytes())
    at = data.find(values.tobytes())
    assert at >= 0, "the array is not stored contiguously"
    data[at + 1] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _zero_the_signature(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:8] = bytes(8)
    path.write_bytes(bytes(data))


FAULTS = {
    "flipped-value": lambda path, ds: _flip_a_stored_value(path, ds["W"].values),
    "truncated": lambda path, ds: _truncate(path),
    "overwritten-header": lambda path, ds: _zero_the_signature(path),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_damaged_results_are_reported_and_rebuilt_by_load(reference, copy, main, capsys, fault):
    _, _, ds = reference
    results = copy / storage.RESULTS_FILE
    FAULTS[fault](results, ds)
    st = sweeps.status(copy)
    assert not st.consolidated and str(results) in st.damaged_results
    assert st.finished_chunks == st.total_chunks == 4 and st.damaged_chunks == 0
    assert main(["sweep", "status", str(copy)]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith(f"consolidated: damaged ({results} ")
    assert line.endswith(f"rebuilt by: toymodels sweep run {copy} --out {copy}")

    chunks = _chunk_stamps(copy)
    _identical(sweeps.load(copy), ds)  # rebuilt from the chunk files
    assert _chunk_stamps(copy) == chunks
    assert sweeps.status(copy).consolidated
    assert not list(copy.glob(".*.tmp"))
    _identical(sweeps.load(copy), ds)  # and now read from the file


def test_resume_rebuilds_damaged_results_recomputing_only_the_bad_chunks(
    reference, copy, main, capsys, trained, tmp_path
):
    spec, _, ds = reference
    other = sweeps.run(spec.with_overrides({"root_seed": 5}), tmp_path / "other")
    assert not np.array_equal(other["W"].values, ds["W"].values)
    _truncate(copy / storage.RESULTS_FILE)
    storage.chunk_path(copy, 1).unlink()
    shutil.copy(storage.chunk_path(tmp_path / "other", 2), storage.chunk_path(copy, 2))
    kept = {k: v for k, v in _chunk_stamps(copy).items() if k != "chunk-000002.npz"}
    trained.clear()
    # --jobs 1: the chunks train in this process, where ``trained`` sees them.
    assert main(["sweep", "run", str(copy), "--out", str(copy), "--quiet", "--jobs", "1"]) == 0
    assert "8 models" in capsys.readouterr().out
    assert sorted(trained) == [1, 2]
    assert {k: v for k, v in _chunk_stamps(copy).items() if k in kept} == kept
    _identical(sweeps.load(copy), ds)
    trained.clear()
    _identical(sweeps.run(spec, copy), ds)  # intact again: nothing is trained
    assert trained == []


def test_load_names_the_missing_chunks_and_leaves_the_folder_alone(reference, copy, main):
    _truncate(copy / storage.RESULTS_FILE)
    storage.chunk_path(copy, 0).unlink()
    storage.chunk_path(copy, 1).unlink()
    data = bytearray(storage.chunk_path(copy, 3).read_bytes())
    data[len(data) // 2] ^= 0xFF
    storage.chunk_path(copy, 3).write_bytes(bytes(data))
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError) as error:
        sweeps.load(copy)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{copy / storage.RESULTS_FILE} is ")
    assert "chunk files 0-1, 3 (of 4) are missing or fail their checks" in message
    assert message.endswith(f"toymodels sweep run {copy} --out {copy}")
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_load_rebuilds_only_while_holding_the_folder_lock(reference, copy):
    _, _, ds = reference
    _flip_a_stored_value(copy / storage.RESULTS_FILE, ds["W"].values)
    damaged = (copy / storage.RESULTS_FILE).read_bytes()
    with storage.locked(copy), pytest.raises(ConfigError, match="being written by another"):
        sweeps.load(copy)
    assert (copy / storage.RESULTS_FILE).read_bytes() == damaged


def test_results_without_a_digest_are_checked_by_reading_them_whole(reference, copy):
    """A results.nc written before the digest existed still loads, and still counts as
    damaged when it cannot be read."""
    _, _, ds = reference
    results = copy / storage.RESULTS_FILE
    with xr.open_dataset(results, engine=ENGINE) as f:
        assert len(f.attrs[DIGEST_ATTR]) == 64
    ds.to_netcdf(results, engine=ENGINE)  # xarray's own writer: no digest
    _identical(sweeps.load(copy), ds)
    assert sweeps.status(copy).consolidated
    _truncate(results)
    assert "is unreadable" in sweeps.status(copy).damaged_results
    _identical(sweeps.load(copy), ds)


def test_content_digest_is_canonical(reference):
    """NaN bit patterns and string widths do not change the digest; any value does."""
    _, _, ds = reference
    digest = content_digest(ds)
    wider = ds.copy(deep=True)
    wider["phase_best"] = wider["phase_best"].astype("<U40")
    assert content_digest(wider) == digest
    nan = ds.copy(deep=True)
    nan["loss_exact"].values[0, 0, 0] = np.nan
    other_nan = ds.copy(deep=True)
    other_nan["loss_exact"].values[0, 0, 0] = -np.float64(np.nan)  # another bit pattern
    assert content_digest(nan) == content_digest(other_nan) != digest
    changed = ds.copy(deep=True)
    changed["W"].values.flat[0] = np.nextafter(changed["W"].values.flat[0], np.float32(9))
    assert content_digest(changed) != digest
    renamed = ds.assign_attrs(task="other")
    assert content_digest(renamed) != digest


def test_results_come_from_the_stored_spec_so_a_rebuild_is_identical(reference, tmp_path):
    """Resuming under another name is allowed; the results still carry the folder's
    spec.json, which is what a rebuild consolidates from."""
    spec, _, _ = reference
    folder = tmp_path / "renamed"
    sweeps.run(spec, folder)
    (folder / storage.RESULTS_FILE).unlink()
    resumed = sweeps.run(spec.with_overrides({"name": "another-name"}), folder)
    assert '"name": "paper-2to1"' in resumed.attrs["spec"]
    _truncate(folder / storage.RESULTS_FILE)
    _identical(sweeps.load(folder), resumed)


def test_results_of_another_spec_are_damaged(reference, copy, tmp_path):
    """A results.nc copied from a sweep with the same grid passes its own digest; its spec
    attribute gives it away."""
    spec, _, ds = reference
    sweeps.run(spec.with_overrides({"root_seed": 5}), tmp_path / "other")
    shutil.copy(tmp_path / "other" / storage.RESULTS_FILE, copy / storage.RESULTS_FILE)
    st = sweeps.status(copy)
    assert not st.consolidated
    assert "holds another sweep's results (root_seed: spec.json 0, results.nc 5)" in (
        st.damaged_results
    )
    _identical(sweeps.load(copy), ds)


@pytest.mark.parametrize("change", [{"root_seed": 5}, {"train.lr": 0.01}], ids=str)
def test_a_chunk_of_another_spec_with_the_same_grid_is_recomputed(
    reference, copy, trained, tmp_path, change
):
    spec, _, ds = reference
    other = spec.with_overrides(change)
    assert plan_chunks(other)[2].models.tolist() == plan_chunks(spec)[2].models.tolist()
    sweeps.run(other, tmp_path / "other")
    (copy / storage.RESULTS_FILE).unlink()
    shutil.copy(storage.chunk_path(tmp_path / "other", 2), storage.chunk_path(copy, 2))
    st = sweeps.status(copy)
    assert (st.finished_chunks, st.damaged_chunks) == (3, 1)
    trained.clear()
    _identical(sweeps.run(spec, copy), ds)
    assert trained == [2]


def test_a_chunk_of_another_package_version_is_damaged(reference, copy, monkeypatch):
    spec, _, _ = reference
    chunk = plan_chunks(spec)[0]
    arrays = storage.read_chunk(copy, chunk, spec)
    assert arrays is not None
    monkeypatch.setattr(storage, "package_version", lambda: "0.0.1")
    storage.write_chunk(copy, 0, arrays, spec)
    assert storage.read_chunk(copy, chunk, spec) is not None  # for 0.0.1, it is fine
    monkeypatch.undo()
    assert storage.read_chunk(copy, chunk, spec) is None
    assert sweeps.status(copy).damaged_chunks == 1


def test_resume_of_damaged_results_under_another_version_is_refused(reference, copy):
    """With no intact results.nc, the sweep is unfinished: only its own version resumes."""
    spec, _, _ = reference
    (copy / storage.VERSION_FILE).write_text("0.0.1\n")
    _truncate(copy / storage.RESULTS_FILE)
    damaged = (copy / storage.RESULTS_FILE).read_bytes()
    with pytest.raises(ConfigError, match="started with toymodels 0.0.1"):
        sweeps.run(spec, copy)
    assert (copy / storage.RESULTS_FILE).read_bytes() == damaged
