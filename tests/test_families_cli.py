"""``toymodels families``: every family's declarations as text and JSON."""

import json

import cli.main as cli
from toymodels import FAMILIES, field_specs


def test_json_lists_every_family_with_its_declarations(capsys):
    assert cli.main(["families", "--json"]) == 0
    found = {f["name"]: f for f in json.loads(capsys.readouterr().out)["families"]}
    assert set(found) == set(FAMILIES)
    for name, cls in FAMILIES.items():
        entry = found[name]
        assert list(entry["tasks"]) == list(cls.tasks)
        assert entry["estimators"] == list(cls.estimators)
        assert set(entry["outputs"]) == set(cls.params) | set(cls.metrics)
        for task in cls.tasks:
            fields = entry["fields"][task]
            assert list(fields) == list(field_specs(name, task))
            for fname, spec in field_specs(name, task).items():
                assert fields[fname]["per_model"] == spec.per_model
                assert fields[fname]["where"] == ("top level" if spec.top else "[model]")
    assert found["relu"]["phase_rule"]["labels"] == list(FAMILIES["relu"].phase_rule.labels)
    assert found["hidden"]["phase_rule"] is None


def test_text_names_fields_and_unknown_families_are_refused(capsys):
    assert cli.main(["families", "hidden"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hidden: ") and "fields with task clusters" in out
    assert "n_clusters" in out and "activation" in out and "relu:" not in out
    assert cli.main(["families", "hiden"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'did you mean "hidden"' in err


def test_every_family_and_task_has_its_own_one_line_description(capsys):
    from toymodels import TASKS

    assert cli.main(["families", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["families"]
    for family in found:
        described = [(family["name"], family["description"], FAMILIES[family["name"]])]
        described += [(t, text, TASKS[t]) for t, text in family["tasks"].items()]
        for name, text, cls in described:
            # the class's own docstring, not one inherited or left empty
            assert cls.__dict__.get("__doc__"), name
            assert len(text) > 30 and text.endswith("."), (name, text)
            assert "docstring" not in text and "\n" not in text, (name, text)


def test_a_family_named_twice_is_shown_once_and_help_is_whole(capsys):
    assert cli.main(["families", "gdln", "gdln", "relu"]) == 0
    out = capsys.readouterr().out
    assert out.count("gdln:") == 1 and out.index("gdln:") < out.index("relu:")
    assert cli.main(["families", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "with defaults and what is allowed." in text
