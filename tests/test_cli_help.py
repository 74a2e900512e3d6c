"""Every command's ``--help``: each option says its default and, where its argument type
bounds it, the values it allows; descriptions are whole sentences."""

import argparse
import math
from pathlib import Path

import pytest

from cli.main import build_parser


def _parsers(parser: argparse.ArgumentParser):
    """Every parser under ``parser`` (itself included), once each."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen = set()
            for sub in action.choices.values():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _parsers(sub)


PARSERS = {p.prog: p for p in _parsers(build_parser())}


def _shown(value) -> list[str]:
    """The ways a default may be written in a help text."""
    if isinstance(value, list | tuple):
        return [" ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)]
    if isinstance(value, float):
        mantissa, _, exponent = f"{value:.0e}".partition("e")
        short = f"{mantissa}e{int(exponent)}"  # 1e-3
        return [str(value), f"{value:g}", f"{value:,.0f}" if value.is_integer() else short]
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value), f"{value:,}"]
    if isinstance(value, Path):
        return [str(value)]
    return [str(value)]


def _options(parser):
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        yield action


def test_every_command_is_walked():
    # the walk reaches the nested subcommands (a command added later is walked too)
    for prog in (
        "toymodels phase-diagram",
        "toymodels figures",
        "toymodels families",
        "toymodels conflict phase-diagram",
        "toymodels competition compare",
        "toymodels multitask train",
        "toymodels analytic critical-temperature",
        "toymodels sweep run",
        "toymodels bench",
    ):
        assert prog in PARSERS


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_option_shows_its_default_and_what_it_allows(prog):
    parser = PARSERS[prog]
    text = parser.format_help()  # renders every help text (a bad %-format raises here)
    assert "%(" not in text
    for action in _options(parser):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{prog} {name}: no help"
        if action.nargs == 0 or action.required:
            continue  # a flag, or a value the user must give
        default = action.default
        if default is None or default == []:
            # the real default comes from elsewhere (a preset, the protocol): said in words
            assert "default" in action.help or "repeatable" in action.help, (
                f"{prog} {name}: help does not say what happens without it: {action.help!r}"
            )
        else:
            assert any(s in action.help for s in _shown(default)), (
                f"{prog} {name}: default {default!r} not in {action.help!r}"
            )
        allowed = getattr(action.type, "allowed", None)
        if allowed:
            assert allowed in action.help, f"{prog} {name}: {allowed!r} not in {action.help!r}"


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_descriptions_are_whole_sentences(prog):
    description = PARSERS[prog].description
    if description:
        assert description.rstrip().endswith((".", ")")), f"{prog}: {description!r}"


def test_a_default_written_with_a_number_format_is_found():
    assert "1,000" in _shown(1000) and "0.01" in _shown(0.01) and not math.isnan(1.0)


def _help(prog: str, option: str) -> str:
    return next(a.help for a in PARSERS[prog]._actions if option in a.option_strings)


def test_defaults_taken_from_presets_are_the_presets():
    # These options default to their preset's values, which their help states in words;
    # a preset changed without its help fails here.
    import sweeps

    for task in ("clusters", "annealing", "features"):
        for kind, command in (("competition", "phase-diagram"), ("competition-compare", "compare")):
            spec = sweeps.load_preset(f"{kind}-{task}").to_dict()
            prog = f"toymodels competition {command}"
            assert str(spec["train"]["steps"]) in _help(prog, "--steps"), (kind, task)
            assert str(spec["n_hidden"]) in _help(prog, "--width"), (kind, task)
            assert str(spec["seeds"]) in _help(prog, "--seeds"), (kind, task)
            assert f"{spec['train']['lr']:g}" in _help(prog, "--lr"), (kind, task)
            if kind == "competition":
                assert spec["model"]["volume"] in _help(prog, "--volume"), task
                assert spec["model"]["activation"] in _help(prog, "--activation"), task
    prog = "toymodels conflict phase-diagram"
    for axis in ("width", "strength"):
        spec = sweeps.load_preset(f"conflict-linear-{axis}").to_dict()
        assert f"default {spec['seeds']}" in _help(prog, "--seeds")
        assert f"default {spec['n_items']}" in _help(prog, "--items")
        assert f"default {spec['train']['steps']}" in _help(prog, "--epochs")
        assert f"default {spec['train']['lr']:g}" in _help(prog, "--lr")
        assert f"default {spec['model']['init_std']:g}" in _help(prog, "--init")
    ratio = sweeps.load_preset("conflict-linear-width").to_dict()["model"]["view_ratio"]
    assert f"default {ratio:g}" in _help(prog, "--ratio")
