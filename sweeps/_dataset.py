"""Chunk files -> one labelled ``xarray.Dataset`` (the results schema), and back.

Dims: the sweep axes in spec order, then ``seed``, then each variable's own dims as the
family, the task and the regulariser declare them (``_schema``), and ``phase`` for the
fraction of seeds in each phase.  Per-model arrays are filled chunk by chunk into
preallocated arrays, so consolidation holds the results once plus one chunk.  When a size
is an axis (``n_features``, ``n_hidden``, ...), a dim runs to the largest size and smaller
models are NaN-padded; when the number of steps or ``record_every`` is an axis, ``step``
is the union of the recorded steps, NaN where a model was not recorded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from toymodels import strict_json
from toymodels.families import FAMILIES
from toymodels.files import atomic_write, interrupts_deferred
from toymodels.phases import aggregate

from ._plan import plan_chunks
from ._schema import STEP, Variable, sizes, variables
from ._version import package_version
from .spec import SweepSpec

SEED_RULE = "numpy.random.SeedSequence(root_seed, spawn_key=(cell_index, seed))"

# netCDF4 (HDF5) through h5netcdf: int64, unsigned and variable-length strings round-trip.
ENGINE = "h5netcdf"


class _Layout:
    """The union schema of a sweep: every variable, each dim's largest size, the steps."""

    def __init__(self, spec: SweepSpec, chunks):
        self.vars: dict[str, Variable] = {}
        self.size: dict[str, int] = {}
        self.steps: set[int] = set()
        self.chunk_steps: dict[int, tuple[int, ...]] = {}
        self.families: set[str] = set()
        for chunk in chunks:
            point = spec.cell_point(int(chunk.models[0]) // spec.seeds)
            config, train = spec.model_config(point), spec.train_config(point)
            self.families.add(config.family)
            for name, var in variables(config, train).items():
                self.vars.setdefault(name, var)
            for dim, n in sizes(config, train).items():
                self.size[dim] = max(self.size.get(dim, 0), n)
            self.chunk_steps[chunk.index] = train.record_steps()
            self.steps.update(train.record_steps())
        self.step_values = np.array(sorted(self.steps), dtype=np.int64)

    def shape(self, var: Variable) -> tuple[int, ...]:
        return tuple(len(self.step_values) if d == STEP else self.size[d] for d in var.dims)


def consolidate(spec: SweepSpec, read) -> object:
    """The results dataset of ``spec``; ``read(chunk)`` returns a verified chunk's arrays."""
    import xarray as xr

    K, C = spec.seeds, spec.n_cells
    chunks = plan_chunks(spec)
    layout = _Layout(spec, chunks)
    data = {}
    for name, var in layout.vars.items():
        fill = np.nan if var.dtype.kind == "f" else 0
        data[name] = np.full((C * K, *layout.shape(var)), fill, var.dtype)
    rule = _phase_rule(layout.families)
    reduced: dict[str, np.ndarray] = {}  # the rule's per-model scalars, by name
    params = {name for f in layout.families for name in FAMILIES[f].params}
    diverged = np.zeros(C * K, dtype=bool)
    for chunk in chunks:
        arrays = read(chunk)
        idx = chunk.models
        step_index = np.searchsorted(layout.step_values, layout.chunk_steps[chunk.index])
        for name, var in layout.vars.items():
            if name not in arrays:
                continue
            value = arrays[name]
            where = [idx]
            for axis, dim in enumerate(var.dims, start=1):
                where.append(step_index if dim == STEP else slice(0, value.shape[axis]))
            data[name][np.ix_(*_as_index(where, value.shape))] = value
        diverged[idx] = _diverged(arrays, params)
        if rule:
            for k, v in rule.reduce({k: arrays[k] for k in rule.needs}).items():
                reduced.setdefault(k, np.full(C * K, np.nan))[idx] = v
        del arrays

    axes = [a.name for a in spec.axes]
    shape = spec.shape
    per_model = (*axes, "seed")
    data_vars = {
        name: ((*per_model, *var.dims), data[name].reshape(*shape, K, *data[name].shape[1:]))
        for name, var in layout.vars.items()
    }
    selection_name = "loss_exact" if "loss_exact" in data else "loss"
    coords = {a.name: np.asarray(a.values) for a in spec.axes}
    coords["seed"] = np.arange(K, dtype=np.int64)
    for dim, n in layout.size.items():
        if dim != STEP and any(dim in v.dims for v in layout.vars.values()):
            coords[dim] = np.arange(n, dtype=np.int64)
    if len(layout.step_values):
        coords[STEP] = layout.step_values
    attrs = {
        "spec": strict_json.dumps(spec.to_dict()),  # ASCII (escaped), as netCDF3 text needs
        "root_seed": spec.root_seed,
        "toymodels_version": package_version(),
        "family": spec.family,
        "task": spec.task,
        "seed_rule": SEED_RULE,
        "selection_loss": (
            "loss_exact where finite, else loss (fresh-sample final loss)"
            if selection_name == "loss_exact"
            else "loss (fresh-sample final loss)"
        ),
    }
    for family in sorted(layout.families):
        attrs |= FAMILIES[family].definitions
    data_vars["diverged"] = (per_model, diverged.reshape(*shape, K))
    attrs["diverged_models"] = int(diverged.sum())
    if rule:
        loss = data["loss"]
        if selection_name == "loss_exact":
            loss = np.where(np.isfinite(data["loss_exact"]), data["loss_exact"], loss)
        agg = aggregate(
            rule,
            loss.reshape(C, K),
            {k: v.reshape(C, K) for k, v in reduced.items()},
            diverged.reshape(C, K),
        )
        names = np.asarray(agg["labels"])
        data_vars["phase_model"] = (per_model, names[agg["model"]].reshape(*shape, K))
        if "paper" in agg:
            data_vars["phase_paper"] = (tuple(axes), names[agg["paper"]].reshape(shape))
        data_vars["phase_best"] = (tuple(axes), names[agg["best"]].reshape(shape))
        data_vars["phase_fraction"] = (
            (*axes, "phase"),
            agg["fraction"].reshape(*shape, len(names)),
        )
        coords["phase"] = names
        attrs["phase_rule"] = rule.name
        attrs["thresholds"] = strict_json.dumps(rule.thresholds)
    data_vars["cell_index"] = (tuple(axes), np.arange(C, dtype=np.int64).reshape(shape))
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    for name, var in layout.vars.items():
        ds[name].attrs["description"] = var.description
    ds["diverged"].attrs["description"] = DIVERGED_DESCRIPTION
    return ds


DIVERGED_DESCRIPTION = (
    "the model's final loss or a parameter is not finite (phase 'diverged': never ranked, "
    "averaged or classified)"
)


def _diverged(arrays: dict[str, np.ndarray], params) -> np.ndarray:
    """Per model of one chunk: a non-finite loss or parameter (unpadded arrays)."""
    bad = ~np.isfinite(arrays["loss"])
    for name in params & arrays.keys():
        value = arrays[name]
        if value.dtype.kind == "f":
            bad |= ~np.isfinite(value.reshape(len(value), -1)).all(-1)
    return bad


def _as_index(where: list, shape: tuple) -> list:
    """Index arrays for ``np.ix_`` from integer arrays and slices (of the value's size)."""
    out = []
    for w, n in zip(where, shape, strict=True):
        out.append(np.arange(n) if isinstance(w, slice) else np.asarray(w))
    return out


def _phase_rule(families: set[str]):
    rules = {FAMILIES[f].phase_rule for f in families}
    if len(rules) != 1:  # the spec admits only families with one vocabulary, hence one rule
        raise ValueError(f"families {sorted(families)} classify into different phases")
    return rules.pop()


# The attribute of results.nc that holds its content digest (dropped when it is read back).
DIGEST_ATTR = "content_sha256"


class DamagedResults(OSError):
    """``results.nc`` is unreadable or does not hold the dataset that was written."""


def write_results(ds, path: Path):
    """Write ``ds`` with its content digest and return it as read back from the file.

    The file is read back and verified before it replaces ``path``, so no results file is
    ever written that :func:`read_results` would call damaged (a digest that did not
    survive the netCDF round trip fails here, loudly, rather than on every later read).
    """
    stamped = ds.copy(deep=False)
    stamped.attrs = {**ds.attrs, DIGEST_ATTR: content_digest(ds)}
    back = []

    def write(tmp: Path) -> None:
        stamped.to_netcdf(tmp, engine=ENGINE)
        back.append(read_results(tmp))

    with interrupts_deferred():
        atomic_write(Path(path), write)
    return back[0]


def read_results(path: Path):
    """Load ``results.nc`` into memory (file closed), with the schema's dtypes.

    Raises :class:`DamagedResults` when the file cannot be read or its content differs
    from the digest written with it; a file without a digest (written before there was
    one) is only checked by reading it whole.
    """
    import xarray as xr

    path = Path(path)
    with open(path, "rb"):  # missing or forbidden is not damaged: let that error through
        pass
    try:
        with interrupts_deferred():  # HDF5's locks (see interrupts_deferred)
            ds = xr.load_dataset(path, engine=ENGINE)
        for name in list(ds.variables):
            if ds[name].dtype.kind == "O":  # variable-length strings come back as objects
                ds[name] = ds[name].astype(str)
        ds.attrs["root_seed"] = int(ds.attrs["root_seed"])
        stored = ds.attrs.pop(DIGEST_ATTR, None)
        matches = stored is None or str(stored) == content_digest(ds)
    except MemoryError:
        raise
    # A damaged HDF5 file fails in many ways (OSError, KeyError, ValueError, decoding
    # errors, a missing attribute); any of them means the file cannot be trusted.
    except Exception as exc:
        reason = (str(exc).splitlines() or [""])[0][:160]
        raise DamagedResults(f"{path} is unreadable ({type(exc).__name__}: {reason})") from exc
    if not matches:
        raise DamagedResults(f"{path} does not match the checksum written with it")
    return ds


def content_digest(ds) -> str:
    """SHA-256 (hex) of every variable (name, dims, dtype, shape, values, attributes) and
    every attribute of ``ds`` but the digest itself.

    Values are hashed in a canonical form that survives the netCDF round trip: strings as
    length-prefixed UTF-8 (their numpy width depends on the longest value present and
    they come back as objects), every NaN as one bit pattern (decoding a fill value may
    change the pattern), numbers little-endian, numpy scalars in attributes as Python
    ones (the file gives back numpy scalars for Python ints).
    """
    h = hashlib.sha256()
    h.update(_canonical_attrs({k: v for k, v in ds.attrs.items() if k != DIGEST_ATTR}))
    for name in sorted(ds.variables, key=str):
        var = ds.variables[name]
        kind, data = _canonical_values(var.values)
        header = [str(name), [str(d) for d in var.dims], kind, list(var.shape)]
        h.update(json.dumps(header).encode() + _canonical_attrs(var.attrs))
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _canonical_values(values) -> tuple[str, bytes | np.ndarray]:
    """``(kind, bytes)`` of ``values`` in the canonical form (see :func:`content_digest`);
    numbers as a view of a little-endian array, copied only to unify NaNs or byte order
    (a results file is mostly float trajectories, hashed twice: written and read back)."""
    a = np.asarray(values)
    if a.dtype.kind in "OUS":
        items = [v.decode() if isinstance(v, bytes) else str(v) for v in a.ravel().tolist()]
        encoded = [v.encode() for v in items]
        return "str", b"".join(len(v).to_bytes(8, "little") + v for v in encoded)
    dtype = a.dtype.newbyteorder("<")
    if a.dtype.kind in "fc":
        nan = np.isnan(a)
        if nan.any():
            a = np.where(nan, np.nan, a)
    return dtype.str, np.ascontiguousarray(a, dtype=dtype).reshape(-1).view(np.uint8)


def _canonical_attrs(attrs) -> bytes:
    return json.dumps({str(k): _plain(v) for k, v in attrs.items()}, sort_keys=True).encode()


def _plain(value):
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value
