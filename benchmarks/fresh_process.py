"""Running one benchmark function in a fresh Python process, or in this one.

A fresh process gives each timing a clean memory high-water mark and allocator state,
and keeps one method from warming caches for another.  The function travels as an
importable reference, ``"module:qualname"``, resolved once in the process that runs it;
a tuple of references means "the first whose module this tree holds", which lets one
benchmark time a git revision whose code sits elsewhere.  The child gets its arguments
and returns its result as JSON (a dataclass result as its fields), so the answer is the
same plain data in both modes, whichever tree's code produced it.

Only the standard library is imported at module level: the child loads this very file
by path (see ``_CHILD``) under another tree's ``PYTHONPATH``, and must not pull in this
tree's packages by doing so.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# The project folder this package sits in: the tree a fresh process imports by default.
ROOT = Path(__file__).resolve().parents[1]
# What a fresh process runs.  It loads this file by path rather than importing
# ``benchmarks``: the tree on its PYTHONPATH may be an older revision without the package.
_CHILD = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_benchmark_child', sys.argv[1])\n"
    "child = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(child)\n"
    "child.child_main(sys.argv[2])\n"
)

Function = Callable[..., Any] | str | Sequence[str]


def reference(function: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a module-level function.  A function of a module run as
    a script (``python -m benchmarks.x`` or ``python benchmarks/x.py``) is named by
    the module's importable name, since ``__main__`` means another module in a child."""
    module = function.__module__
    if module == "__main__":
        main = sys.modules["__main__"]
        if main.__spec__ is not None:
            module = main.__spec__.name
        else:
            path = Path(main.__file__).resolve().with_suffix("")
            module = ".".join(path.relative_to(ROOT).parts)
    if "<locals>" in function.__qualname__:
        raise ValueError(f"{function.__qualname__}: only a module-level function can be run")
    return f"{module}:{function.__qualname__}"


def _references(function: Function) -> tuple[str, ...]:
    if callable(function):
        return (reference(function),)
    found = (function,) if isinstance(function, str) else tuple(function)
    bad = [r for r in found if r.count(":") != 1 or not all(r.split(":"))]
    if not found or bad:
        raise ValueError(f"{bad or found}: a reference is written 'module:qualname'")
    return found


def resolve(references: Sequence[str]) -> Callable[..., Any]:
    """The function named by the first reference this tree holds: its module exists and
    defines it (an older tree may hold a module of the same name that does not).  A
    module that exists but fails to import is an error, not a reason to try the next."""
    for ref in references:
        module_name, qualname = ref.split(":")
        try:
            found = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name is not None and (module_name + ".").startswith(missing.name + "."):
                continue
            raise
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is not None:
            return found
    raise ModuleNotFoundError(f"none of {', '.join(references)} is in this tree")


def _plain(result: Any) -> Any:
    # The same data a child sends back as JSON, so both modes answer alike.
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    return json.loads(json.dumps(result))


def child_main(payload: str) -> None:
    """Entry point of the fresh process: run the function, print its result as JSON."""
    job = json.loads(payload)
    result = resolve(job["references"])(*job["args"], **job["kwargs"])
    sys.stdout.write("\n" + json.dumps(_plain(result)) + "\n")


def run(
    function: Function, *args: Any, fresh: bool = True, tree: Path | None = None, **kwargs: Any
) -> Any:
    """``function(*args, **kwargs)`` as plain data (JSON types; a dataclass as a dict).

    With ``fresh`` (the default) it runs in a new interpreter whose ``PYTHONPATH`` is
    ``tree`` alone (this project by default), started outside every tree so the working
    directory shadows nothing; otherwise in this process, where ``tree`` must not be
    given.  Arguments and the result must be JSON-serialisable."""
    if not fresh:
        if tree is not None:
            raise ValueError("a tree other than this one needs a fresh process")
        target = function if callable(function) else resolve(_references(function))
        return _plain(target(*args, **kwargs))
    references = _references(function)
    job = json.dumps({"references": references, "args": args, "kwargs": kwargs})
    env = {**os.environ, "PYTHONPATH": str(tree or ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(Path(__file__).resolve()), job],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"{references[0]} failed in a fresh process: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])
