"""``toymodels families``: what each model family declares (tasks, estimators, outputs,
phase rule) and the fields a spec can set for it, with defaults and what is allowed.

toymodels families [NAME ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import math

from .arguments import headline


def register(sub) -> None:
    p = sub.add_parser(
        "families",
        help="list the model families, their tasks, outputs and spec fields",
        description=headline(__doc__),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="families to show (default: all)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def _doc(cls) -> str:
    """The first paragraph of a docstring as plain text (its ``code`` marks dropped)."""
    text = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    return text.replace("``", "")


def _value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return list(v) if isinstance(v, tuple) else v


def describe(name: str) -> dict:
    """Everything ``name`` declares, as plain data."""
    from toymodels import FAMILIES, TASKS, field_specs

    cls = FAMILIES[name]
    outputs = {**cls.params, **cls.metrics}
    rule = cls.phase_rule
    return {
        "name": name,
        "description": _doc(cls),
        "tasks": {t: _doc(TASKS[t]) for t in cls.tasks},
        "estimators": list(cls.estimators),
        "closed_form": cls.closed_form,
        "hand_gradient": cls.hand_gradient,
        "phase_rule": None if rule is None else {"name": rule.name, "labels": list(rule.labels)},
        "outputs": {
            k: {"dims": list(o.dims), "dtype": o.dtype, "description": o.description}
            for k, o in outputs.items()
        },
        "fields": {
            task: {
                f.name: {
                    "default": _value(f.default),
                    "allowed": f.check.allowed,
                    "where": "top level" if f.top else "[model]",
                    "per_model": f.per_model,
                    "axis": f.axis,
                    "owner": f.owner,
                    "help": f.help,
                }
                for f in field_specs(name, task).values()
            }
            for task in cls.tasks
        },
    }


def run(args: argparse.Namespace) -> int:
    from toymodels import FAMILIES
    from toymodels.errors import unknown_name

    for name in args.names:
        if name not in FAMILIES:
            raise unknown_name("model family", name, FAMILIES)
    # A family named twice is shown once, in the order first named.
    found = [describe(n) for n in dict.fromkeys(args.names or FAMILIES)]
    if args.json:
        print(json.dumps({"families": found}, indent=1, ensure_ascii=False))
        return 0
    for family in found:
        print(f"{family['name']}: {family['description']}")
        print(f"  tasks: {', '.join(family['tasks'])}")
        print(f"  estimators: {', '.join(family['estimators'])}")
        rule = family["phase_rule"]
        print(
            f"  phases: {rule['name'] + ' (' + ', '.join(rule['labels']) + ')' if rule else 'none'}"
        )
        outputs = ", ".join(f"{k}[{', '.join(o['dims'])}]" for k, o in family["outputs"].items())
        print(f"  outputs per model: {outputs}")
        for task, fields in family["fields"].items():
            print(f"  fields with task {task} (* may differ between models trained together):")
            width = max(map(len, fields))
            for fname, f in fields.items():
                mark = "*" if f["per_model"] else " "
                print(
                    f"    {fname:<{width}} {mark} {f['where']:<9}  default {f['default']!r}; "
                    f"{f['allowed']}; {f['help']}"
                )
        print()
    return 0
