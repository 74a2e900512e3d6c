"""The registries (a name each entry declares -> the entry) and the package's names
imported on first use."""

import subprocess
import sys
from types import SimpleNamespace

import pytest

import toymodels
from toymodels import FAMILIES, PHASE_RULES
from toymodels.registry import by_name
from toymodels.volumes import VOLUMES


def test_a_registry_keeps_the_order_given_and_refuses_a_name_twice():
    a, b = SimpleNamespace(name="a"), SimpleNamespace(name="b")
    assert list(by_name(b, a).items()) == [("b", b), ("a", a)]
    with pytest.raises(ValueError, match="'a'"):
        by_name(a, b, SimpleNamespace(name="a"))


@pytest.mark.parametrize("registry", [FAMILIES, VOLUMES, PHASE_RULES])
def test_every_entry_is_registered_under_its_own_name(registry):
    assert all(entry.name == name for name, entry in registry.items())


def test_the_package_names_are_imported_on_first_use():
    assert dir(toymodels) == sorted(toymodels.__all__)
    assert toymodels.FAMILIES is FAMILIES
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = toymodels.nope
    code = "import sys, toymodels, toymodels.errors; print('torch' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.stdout.strip() == "False", found.stderr
