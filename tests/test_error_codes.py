"""Every error code the API answers with is registered (``core.errors.register_error_codes``).

Three nets, from the source of every product module (tests and migrations aside):

- each code constant of the apps' code modules is registered;
- the ``default_code`` of every ``ApiError`` subclass is registered;
- every code a module hands to an ``ApiError``, ``FieldError`` or ``for_field`` by name or as
  a literal is registered. A code computed at run time is not seen; the first two nets are
  there for those.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from core import errors, idempotency
from core.errors import ApiError, FieldError
from credit import codes as credit_codes
from declarations.clearance import lifecycle
from declarations.customs import codes as customs_codes
from declarations.export import codes as export_codes
from declarations.export import lifecycle as export_lifecycle
from declarations.export import returns_codes, summaries_codes
from declarations.intake import codes as intake_codes
from finance import codes as finance_codes
from logistics import codes as logistics_codes
from single_window import error_codes
from tests.test_import_contract import product_modules

# The modules that hold nothing but codes, and the other code constants, by the app that owns them.
CODE_MODULES: dict[str, list[ModuleType]] = {
    "core": [errors],
    "single_window": [error_codes],
    "declarations": [intake_codes, customs_codes, export_codes, summaries_codes, returns_codes],
    "credit": [credit_codes],
    "finance": [finance_codes],
    "logistics": [logistics_codes],
}
OTHER_CODES: dict[str, list[str]] = {
    "core": [
        idempotency.IDEMPOTENCY_KEY_INVALID,
        idempotency.IDEMPOTENCY_KEY_REUSED,
        idempotency.IDEMPOTENCY_IN_FLIGHT,
    ],
    "declarations": [
        lifecycle.TRANSITION_NOT_ALLOWED,
        lifecycle.UNKNOWN_RECEIPT_CODE,
        export_lifecycle.TRANSITION_NOT_ALLOWED,
    ],
}


def _modules() -> Iterator[tuple[ModuleType, Path]]:
    for name, path in sorted(product_modules().items()):
        # Settings modules are read once, by Django; production's refuses to load without secrets.
        if not name.startswith("config.settings"):
            yield importlib.import_module(name), path


def _subclasses(cls: type[ApiError]) -> Iterator[type[ApiError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _resolve(node: ast.expr, namespace: dict[str, object]) -> object:
    """The object a name (``codes.DUPLICATE``) or literal stands for at module level; None when
    it is anything else (a local variable, a call)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _code_argument(call: ast.Call, target: object) -> ast.expr | None:
    """The expression a call passes as the error code, if ``target`` takes one."""
    keyword = next((k.value for k in call.keywords if k.arg == "code"), None)
    if inspect.isclass(target) and issubclass(target, ApiError):
        return keyword
    is_for_field = inspect.ismethod(target) and target.__name__ == "for_field"
    if target is FieldError or is_for_field:
        return keyword or (call.args[1] if len(call.args) > 1 else None)
    return None


def _codes_handed_to_errors(module: ModuleType, path: Path) -> Iterator[tuple[str, int, str]]:
    namespace = vars(module)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        argument = _code_argument(node, _resolve(node.func, namespace))
        code = _resolve(argument, namespace) if argument is not None else None
        if isinstance(code, str):
            yield module.__name__, node.lineno, code


def test_each_code_constant_of_each_app_is_registered_as_that_apps() -> None:
    owned = [
        (app_label, code)
        for app_label, modules in CODE_MODULES.items()
        for code in [
            *(code for module in modules for code in errors.code_constants(vars(module))),
            *OTHER_CODES.get(app_label, []),
        ]
    ]
    missing = [f"{app_label}: {code}" for app_label, code in owned if app_label not in errors.error_code_apps(code)]

    assert len(owned) > 50
    assert missing == []


def test_the_default_code_of_every_error_class_is_registered() -> None:
    list(_modules())  # every error class is defined once its module is imported
    classes: list[type[ApiError]] = [ApiError, *_subclasses(ApiError)]
    unregistered = sorted(
        f"{cls.__module__}.{cls.__qualname__}: {cls.default_code}"
        for cls in classes
        if cls.default_code not in errors.registered_error_codes()
    )
    assert unregistered == []


def test_every_code_a_module_raises_by_name_is_registered() -> None:
    found = [hit for module, path in _modules() for hit in _codes_handed_to_errors(module, path)]
    unregistered = [
        f"{module}:{line} {code}" for module, line, code in found if code not in errors.registered_error_codes()
    ]

    assert len(found) > 20  # the net catches something: the services raise with named codes
    assert unregistered == []


def test_a_code_belongs_to_one_app_unless_core_shares_it() -> None:
    shared = {
        code: sorted(errors.error_code_apps(code))
        for code in errors.registered_error_codes()
        if len(errors.error_code_apps(code)) > 1
    }
    assert all("core" in apps for apps in shared.values()), shared
