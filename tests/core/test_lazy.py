"""Lazy package namespaces (``core.lazy``): every listed name resolves, unknown names fail as
for any module, and a name that is also a submodule is refused."""

from __future__ import annotations

import importlib

import pytest

from core.lazy import exports

LAZY = ("agents", "approvals", "inference")


@pytest.mark.parametrize("package", LAZY)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))


@pytest.mark.parametrize("package", LAZY)
def test_an_unknown_name_is_an_attribute_error(package: str) -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = importlib.import_module(package).no_such_name
    with pytest.raises(ImportError):
        exec(f"from {package} import no_such_name")


def test_a_name_that_is_also_a_submodule_is_refused() -> None:
    with pytest.raises(ValueError, match="probe"):
        exports("sandbox", {"sandbox.probe": ["ProbeReport", "probe"]})
