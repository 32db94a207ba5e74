"""The register of error codes: each app declares its own once; core's codes are shared."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import errors


@pytest.fixture
def own_register(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of the register as the apps left it, for tests that register codes of their own."""
    monkeypatch.setattr(errors, "_CODES", {code: set(apps) for code, apps in errors._CODES.items()})
    monkeypatch.setattr(errors, "_REGISTERED_APPS", set(errors._REGISTERED_APPS))


def test_core_registered_its_codes() -> None:
    for code in errors.code_constants(vars(errors)):
        assert "core" in errors.error_code_apps(code), code


def test_code_constants_takes_the_upper_case_strings_of_a_module() -> None:
    namespace = {"NOT_FOUND": "not_found", "LIMIT": 3, "lower": "no", "_PRIVATE": "no", "ApiError": errors.ApiError}

    assert errors.code_constants(namespace) == ["not_found"]


def test_an_app_registers_its_codes(own_register: None) -> None:
    errors.register_error_codes("test_app", ["test_code_one", "test_code_two"])

    assert {"test_code_one", "test_code_two"} <= errors.registered_error_codes()
    assert errors.error_code_apps("test_code_one") == {"test_app"}


def test_an_app_registering_twice_is_refused(own_register: None) -> None:
    errors.register_error_codes("test_app", ["test_code_one"])

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        errors.register_error_codes("test_app", ["test_code_two"])

    assert "test_code_two" not in errors.registered_error_codes()


def test_a_code_of_another_app_is_refused_and_nothing_of_the_refused_app_is_kept(own_register: None) -> None:
    errors.register_error_codes("test_app", ["test_code_one"])

    with pytest.raises(ImproperlyConfigured, match="test_app, test_other"):
        errors.register_error_codes("test_other", ["test_code_other", "test_code_one"])

    assert errors.error_code_apps("test_code_one") == {"test_app"}
    assert "test_code_other" not in errors.registered_error_codes()
    # Refused as a whole, so the app may still register once its codes are fixed.
    errors.register_error_codes("test_other", ["test_code_other"])


def test_a_code_of_core_may_be_declared_by_any_app_too(own_register: None) -> None:
    errors.register_error_codes("test_app", [errors.INVALID, errors.UNKNOWN_ENTERPRISE])
    errors.register_error_codes("test_other", [errors.INVALID])
    errors.register_error_codes("test_third", [errors.INVALID])

    assert errors.error_code_apps(errors.INVALID) >= {"core", "declarations", "test_app", "test_other", "test_third"}


def test_an_app_before_core_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "_CODES", {})
    monkeypatch.setattr(errors, "_REGISTERED_APPS", set())

    with pytest.raises(ImproperlyConfigured, match="put core first"):
        errors.register_error_codes("test_app", [errors.INVALID])

    assert errors.registered_error_codes() == frozenset()
