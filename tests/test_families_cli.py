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
