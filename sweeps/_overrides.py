"""``--set key=value`` overrides: dotted keys into the TOML layout of a spec."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from typing import Any

from toymodels.errors import ConfigError, did_you_mean

from ._fields import RULES, TABLES, TRAIN_FIELDS, check_keys


def apply_override(data: dict, key: str, value: Any) -> None:
    """Set dotted ``key`` in ``data`` (a spec's ``to_dict`` layout) in place."""
    parts = key.split(".")
    head = parts[0]
    if len(parts) == 1 and head not in TABLES and head:
        data[head] = value  # the spec checks the key (the family declares some of them)
    elif len(parts) == 2 and head == "model":
        data.setdefault("model", {})[parts[1]] = value
    elif len(parts) == 2 and head == "train":
        check_keys("train.", {parts[1]: 0}, TRAIN_FIELDS)
        data["train"][parts[1]] = value
    elif len(parts) == 2 and head == "axes":
        if value is None:
            data["axes"].pop(parts[1], None)
        else:
            data["axes"][parts[1]] = value
    elif len(parts) == 3 and head == "axes":
        name, sub = parts[1], parts[2]
        axis = data["axes"].get(name)
        if axis is None:
            raise ConfigError(
                f'--set {key}: there is no axis "{name}"{did_you_mean(name, data["axes"])}; '
                f"axes: {', '.join(data['axes']) or 'none'}"
            )
        if not isinstance(axis, dict):
            raise ConfigError(f"--set {key}: axes.{name} is an explicit list; set axes.{name}")
        if sub in RULES:
            axis = {sub: value, "num": axis["num"]}
        elif sub == "num":
            axis = {**axis, "num": value}
        else:
            raise ConfigError(
                f'unknown key "{key}"{did_you_mean(sub, (*RULES, "num"))}; '
                f"allowed: axes.{name}.logspace, axes.{name}.linspace, axes.{name}.num"
            )
        data["axes"][name] = axis
    else:
        raise ConfigError(
            f'unknown key "{key}"; keys look like seeds, n_hidden, model.density, '
            "train.steps, axes.density, axes.density.num"
        )


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["train.steps=200", "family=linear"]`` -> ``{"train.steps": 200, "family":
    "linear"}``: values are TOML (``3``, ``1e-3``, ``[1, 2]``, ``{ logspace = [0.1, 1],
    num = 5 }``), and anything that is not TOML is taken as text."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like key=value, e.g. train.steps=200")
        try:
            value = tomllib.loads(f"value = {text.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        overrides[key] = value
    return overrides
