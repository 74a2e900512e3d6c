"""The sweep folder: stored spec, one file per finished chunk, the consolidated dataset.

Layout of ``DIR``::

    spec.json                 the spec (written when the sweep starts; resume checks it)
    toymodels-version.txt     the package version that started it (resume checks it too)
    chunks/chunk-000000.npz   per-model arrays of one chunk + their SHA-256
    results.nc                the labelled dataset (written when every chunk exists)
    .lock                     held while a run writes (a second run on DIR is refused)

Every file is written atomically (temporary file in the same folder, fsync, rename), so
a killed run leaves finished files or none.  A chunk file whose checksum, keys or model
numbers do not match, or that was written for another spec (its identity's hash) or by
another package version, is treated as missing and recomputed, never trusted.
``results.nc`` carries a digest of its content too: a damaged one is rebuilt from the
chunk files (by a resumed run, or by :func:`load` when every chunk is intact).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toymodels.errors import ConfigError
from toymodels.files import atomic_write

from ._dataset import DamagedResults, consolidate, read_results, write_results
from ._plan import Chunk, plan_chunks
from ._schema import chunk_arrays
from ._version import package_version
from .spec import SweepSpec

SPEC_FILE = "spec.json"
VERSION_FILE = "toymodels-version.txt"
RESULTS_FILE = "results.nc"
CHUNKS_DIR = "chunks"
LOCK_FILE = ".lock"
_CHECKSUM_KEY = "sha256"
# What a chunk was computed for: a chunk copied from a sweep with the same grid but another
# root_seed or training setting (or from another version of the engine) passes every
# shape check, so only these tell it apart.  Both are covered by the chunk's checksum.
_SPEC_KEY = "spec_sha256"
_VERSION_KEY = "toymodels_version"


# -- chunk files ----------------------------------------------------------------------------
def checksum(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """SHA-256 over names, dtypes, shapes and bytes of ``arrays`` (as 32 uint8)."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8)


def chunk_path(folder: Path, index: int) -> Path:
    return Path(folder) / CHUNKS_DIR / f"chunk-{index:06d}.npz"


def spec_digest(spec: SweepSpec) -> np.ndarray:
    """SHA-256 of the spec's identity (what determines the numbers), as 32 uint8."""
    text = json.dumps(spec.identity(), sort_keys=True)
    return np.frombuffer(hashlib.sha256(text.encode()).digest(), dtype=np.uint8)


def _origin(spec: SweepSpec) -> dict[str, np.ndarray]:
    return {_SPEC_KEY: spec_digest(spec), _VERSION_KEY: np.array(package_version())}


def write_chunk(folder: Path, index: int, arrays: dict[str, np.ndarray], spec: SweepSpec) -> None:
    tagged = {**arrays, **_origin(spec)}
    payload = {**tagged, _CHECKSUM_KEY: checksum(tagged)}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)

    atomic_write(chunk_path(folder, index), write)


def chunk_schema(spec: SweepSpec, chunk: Chunk) -> dict[str, tuple[np.dtype, tuple]]:
    """The arrays a chunk of ``spec`` holds (its models share every non-per-model field)."""
    point = spec.cell_point(int(chunk.models[0]) // spec.seeds)
    return chunk_arrays(spec.model_config(point), spec.train_config(point))


def read_chunk(folder: Path, chunk: Chunk, spec: SweepSpec) -> dict[str, np.ndarray] | None:
    """The chunk's arrays, or None when the file is missing or fails any check."""
    path = chunk_path(folder, chunk.index)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    # Truncation and corruption surface as many exception types (zip, zlib, format,
    # value errors); any failure to read means the file cannot be trusted.
    except Exception:
        return None
    stored = arrays.pop(_CHECKSUM_KEY, None)
    if stored is None or not np.array_equal(stored, checksum(arrays)):
        return None
    for key, expected in _origin(spec).items():
        value = arrays.pop(key, None)
        if value is None or value.dtype != expected.dtype or not np.array_equal(value, expected):
            return None
    schema = chunk_schema(spec, chunk)
    if set(arrays) != set(schema):
        return None
    k, seeds = chunk.size, spec.seeds
    if any(a.shape != (k, *schema[n][1]) or a.dtype != schema[n][0] for n, a in arrays.items()):
        return None
    if not (
        np.array_equal(arrays["cell"], chunk.models // seeds)
        and np.array_equal(arrays["replicate"], chunk.models % seeds)
    ):
        return None
    return arrays


# -- the folder -----------------------------------------------------------------------------
def stored_spec(folder: Path) -> SweepSpec | None:
    path = Path(folder) / SPEC_FILE
    if not path.is_file():
        return None
    try:
        return SweepSpec.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # ConfigError is a ValueError
        raise ConfigError(f"{path} is unreadable ({exc}); use a new --out folder") from None


def check_folder(folder: Path, spec: SweepSpec) -> bool:
    """Refuse a folder that holds something else; True when it already holds this sweep."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder} is a file; give a folder")
    old = stored_spec(folder) if folder.is_dir() else None
    if old is None:
        if folder.is_dir() and any(not _ours(p) for p in folder.iterdir()):
            raise ConfigError(
                f"--out {folder} is not empty and holds no sweep ({SPEC_FILE} missing); "
                "give a new or empty folder"
            )
        return False
    if old.identity() != spec.identity():
        raise ConfigError(
            f"--out {folder} holds a different sweep ({spec_difference(old, spec)}); "
            f"resume with the same spec ({folder / SPEC_FILE}) or use a new --out folder"
        )
    started = _started_version(folder)
    if started != package_version() and results_if_intact(folder) is None:
        # Chunks from two versions of the engine would not be one reproducible result.
        raise ConfigError(
            f"--out {folder} was started with toymodels {started} and this is "
            f"{package_version()}; finish it with {started} or use a new --out folder"
        )
    return True


def _started_version(folder: Path) -> str:
    version = Path(folder) / VERSION_FILE
    return version.read_text().strip() if version.is_file() else package_version()


def _ours(path: Path) -> bool:
    """Files a run creates before ``spec.json`` exists (killed before it was written)."""
    if path.name in (LOCK_FILE, VERSION_FILE):
        return True
    return path.name.startswith(".") and path.name.endswith(".tmp")


def spec_difference(
    old: SweepSpec, new: SweepSpec, labels: tuple[str, str] = ("stored", "given")
) -> str:
    """The first few fields that differ, as 'key: stored X, given Y'."""
    a, b = _flat(old.identity()), _flat(new.identity())
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    first, second = labels
    shown = [f"{k}: {first} {_short(a.get(k))}, {second} {_short(b.get(k))}" for k in keys[:3]]
    more = f"; {len(keys) - 3} more" if len(keys) > 3 else ""
    return "; ".join(shown) + more


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if key == "axes":
            out["axes (names)"] = [name for name, _ in value]
            for name, values in value:
                out[f"axes.{name}"] = values
        elif isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def create_folder(folder: Path, spec: SweepSpec) -> None:
    """Create ``folder`` with ``spec.json`` and the chunk folder (idempotent)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / SPEC_FILE).is_file():
        version = package_version() + "\n"
        atomic_write(folder / VERSION_FILE, lambda tmp: tmp.write_text(version))
        atomic_write(folder / SPEC_FILE, lambda tmp: tmp.write_text(spec.to_json() + "\n"))
    (folder / CHUNKS_DIR).mkdir(exist_ok=True)


def remove_temporaries(folder: Path) -> None:
    """Delete half-written files left by a killed run (call while holding the lock)."""
    for pattern in (".*.tmp", f"{CHUNKS_DIR}/.*.tmp"):
        for path in Path(folder).glob(pattern):
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``DIR/.lock`` (released by the kernel if the process dies)."""
    import fcntl

    with open(Path(folder) / LOCK_FILE, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"{folder} is being written by another sweep run; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# -- reading back ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepStatus:
    path: Path
    name: str
    description: str
    total_chunks: int
    finished_chunks: int
    damaged_chunks: int  # files present that failed their checks (recomputed on resume)
    total_models: int
    finished_models: int
    consolidated: bool  # results.nc exists and passes its check
    damaged_results: str = ""  # why results.nc failed its check ("" when it did not)


def status(folder: str | Path) -> SweepStatus:
    """How far the sweep in ``folder`` got (every chunk file and results.nc are verified)."""
    folder = Path(folder)
    spec = _require_spec(folder)
    chunks = plan_chunks(spec)
    finished = damaged = models = 0
    for chunk in chunks:
        if read_chunk(folder, chunk, spec) is not None:
            finished += 1
            models += chunk.size
        elif chunk_path(folder, chunk.index).exists():
            damaged += 1
    try:
        consolidated, damage = read_consolidated(folder) is not None, ""
    except DamagedResults as exc:
        consolidated, damage = False, str(exc)
    return SweepStatus(
        path=folder,
        name=spec.name,
        description=spec.description,
        total_chunks=len(chunks),
        finished_chunks=finished,
        damaged_chunks=damaged,
        total_models=spec.n_models,
        finished_models=models,
        consolidated=consolidated,
        damaged_results=damage,
    )


def read_consolidated(folder: Path):
    """The verified results dataset, or None when ``results.nc`` does not exist (raises
    :class:`DamagedResults` when it fails its check or holds another spec's results)."""
    path = Path(folder) / RESULTS_FILE
    if not path.is_file():
        return None
    results = read_results(path)
    try:
        spec = stored_spec(folder)
    except ConfigError:  # status and run report an unreadable spec.json; the file still loads
        spec = None
    if spec is not None:
        # A results.nc copied from another sweep passes its own digest: compare its spec.
        try:
            theirs = SweepSpec.from_dict(json.loads(results.attrs["spec"]))
        except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ValueError
            raise DamagedResults(f"{path} has no readable spec attribute ({exc})") from None
        if theirs.identity() != spec.identity():
            raise DamagedResults(
                f"{path} holds another sweep's results "
                f"({spec_difference(spec, theirs, (SPEC_FILE, RESULTS_FILE))})"
            )
    return results


def results_if_intact(folder: Path):
    """The verified results dataset, or None when ``results.nc`` is missing or damaged."""
    try:
        return read_consolidated(folder)
    except DamagedResults:
        return None


def load(folder: str | Path):
    """The consolidated results of the sweep in ``folder`` as an in-memory
    ``xarray.Dataset`` (file closed); see the results schema in README.

    A damaged ``results.nc`` is rebuilt from the chunk files when every one is intact
    (holding the folder's lock); otherwise a ConfigError names the missing chunks.
    """
    folder = Path(folder)
    try:
        results, damage = read_consolidated(folder), ""
    except DamagedResults as exc:
        results, damage = None, str(exc)
    if damage:
        return _rebuild(folder, damage)
    if results is None:
        done = status(folder)  # refuses folders that hold no sweep
        raise ConfigError(
            f"{folder} has no {RESULTS_FILE} yet ({done.finished_chunks}/{done.total_chunks} "
            f"chunks finished); finish it with: toymodels sweep run {folder} --out {folder}"
        )
    return results


class _MissingChunk(Exception):
    pass


def _rebuild(folder: Path, damage: str):
    """Consolidate the chunk files again over a damaged ``results.nc``."""
    spec = stored_spec(folder)
    if spec is None:
        raise ConfigError(f"{damage}, and {folder} has no {SPEC_FILE} to rebuild it from")

    def read(chunk: Chunk) -> dict[str, np.ndarray]:
        arrays = read_chunk(folder, chunk, spec)
        if arrays is None:
            raise _MissingChunk
        return arrays

    with locked(folder):  # a run writing this folder would race the rebuilt file
        try:
            return write_results(consolidate(spec, read), folder / RESULTS_FILE)
        except _MissingChunk:
            chunks = plan_chunks(spec)
            missing = [c.index for c in chunks if read_chunk(folder, c, spec) is None]
    started = _started_version(folder)
    # Chunks of another version fail their checks, and only that version may resume.
    other = (
        f" (with toymodels {started}, which started the sweep; this is {package_version()})"
        if started != package_version()
        else ""
    )
    raise ConfigError(
        f"{damage}, and chunk files {_ranges(missing)} (of {len(chunks)}) are missing or "
        f"fail their checks; recompute them and rebuild it with: "
        f"toymodels sweep run {folder} --out {folder}{other}"
    )


def _ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    parts: list[str] = []
    for i in indices:
        if parts and int(parts[-1].rpartition("-")[2]) == i - 1:
            parts[-1] = f"{parts[-1].partition('-')[0]}-{i}"
        else:
            parts.append(str(i))
    return ", ".join(parts)


def _require_spec(folder: Path) -> SweepSpec:
    if not folder.is_dir():
        raise ConfigError(f"{folder} does not exist; give a sweep folder (one with {SPEC_FILE})")
    spec = stored_spec(folder)
    if spec is None:
        raise ConfigError(f"{folder} is not a sweep folder: it has no {SPEC_FILE}")
    return spec
