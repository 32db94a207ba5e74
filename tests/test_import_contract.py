"""The import contract: the parts of the product depend on each other one way only.

Read from the source with ``ast`` (nothing is imported), over every module of the product
(tests and migrations aside):

- no import cycles between modules;
- no imports inside functions, except in ``AppConfig.ready`` (Django loads models after the
  app modules) and ``manage.py``: an import inside a function is how a cycle hides;
- the layers: ``core`` knows no app; the hub (``single_window``) knows only ``core``;
  ``declarations`` knows the hub and ``core``; the systems (``risk``, ``credit``, ``finance``,
  ``logistics``) never import ``declarations`` nor each other (they read each other through
  selectors, which this allows, and learn of outcomes through events); nothing imports
  ``monitoring``; the simulators share no code with the product.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "core", "single_window", "declarations", "risk", "credit", "finance", "logistics", "monitoring")
SYSTEMS = ("risk", "credit", "finance", "logistics")
FIRST_PARTY = (*PRODUCT, "simulators", "tests")

# What each top-level package may import, besides itself.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "single_window": frozenset({"core"}),
    "declarations": frozenset({"core", "single_window", *SYSTEMS}),
    # A system may read another system's selectors (checked below) but never declarations.
    **{system: frozenset({"core", "single_window", *SYSTEMS}) for system in SYSTEMS},
    "monitoring": frozenset({"core", "single_window", "declarations", *SYSTEMS}),
    # The project wires every app: settings, URLs, Celery.
    "config": frozenset(PRODUCT),
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: str  # the enclosing function's name, "" at module level
    type_checking: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    found = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            found[_module_name(path)] = path
    return found


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.functions: list[str] = []
        self.type_checking = 0
        self.found: list[Import] = []

    def _add(self, name: str, line: int) -> None:
        if name.split(".", maxsplit=1)[0] in FIRST_PARTY:
            function = self.functions[-1] if self.functions else ""
            self.found.append(Import(self.module, name, line, function, self.type_checking > 0))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]  # noqa: N815

    def visit_If(self, node: ast.If) -> None:
        guarded = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        self.type_checking += guarded
        for child in node.body:
            self.visit(child)
        self.type_checking -= guarded
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(self.module, node, self.is_package)
        for alias in node.names:
            # "from package import module" imports the module; "from module import name" the module.
            self._add(f"{base}.{alias.name}", node.lineno)


def imports() -> Iterator[Import]:
    for module, path in product_modules().items():
        collector = _Collector(module, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(), filename=str(path)))
        yield from collector.found


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The product module an imported name lives in (a module, or a name in a module)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def module_graph() -> dict[str, set[str]]:
    modules = product_modules()
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for found in imports():
        target = _target(found.imported, modules)
        if found.type_checking or target is None or target == found.importer:
            continue
        # Importing a.b.c runs a/__init__ and a/b/__init__ first; those count only when they
        # hold code, which the cycle search sees through their own imports.
        graph[found.importer].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for following in sorted(graph[node]):
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in on_stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_product_has_no_import_cycles() -> None:
    assert cycles(module_graph()) == []


def test_the_cycle_search_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_is_imported_inside_a_function_but_in_app_ready() -> None:
    inside = [
        f"{found.importer}:{found.line} imports {found.imported} in {found.in_function}()"
        for found in imports()
        if found.in_function and not (found.importer.endswith(".apps") and found.in_function == "ready")
    ]
    assert inside == []


def test_each_part_imports_only_the_layers_below_it() -> None:
    crossings = []
    for found in imports():
        importer, imported = found.importer.split(".")[0], found.imported.split(".")[0]
        if importer == imported or found.type_checking:
            continue
        if imported not in ALLOWED[importer] and imported in FIRST_PARTY:
            crossings.append(f"{found.importer}:{found.line} imports {found.imported}")
    assert crossings == []


def test_the_systems_never_import_declarations_and_read_each_other_only_through_selectors() -> None:
    crossings = []
    for found in imports():
        importer, imported = found.importer.split(".")[0], found.imported.split(".")[0]
        if importer not in SYSTEMS or importer == imported:
            continue
        if imported == "declarations":
            crossings.append(f"{found.importer}:{found.line} imports {found.imported}")
        elif imported in SYSTEMS and not found.imported.startswith(f"{imported}.selectors"):
            crossings.append(f"{found.importer}:{found.line} reaches into {found.imported}")
    assert crossings == []


def test_nothing_imports_monitoring() -> None:
    importers = [
        f"{found.importer}:{found.line}"
        for found in imports()
        if found.imported.split(".")[0] == "monitoring" and found.importer.split(".")[0] not in {"monitoring", "config"}
    ]
    assert importers == []


def test_the_simulators_share_no_code_with_the_product() -> None:
    shared = []
    for path in (ROOT / "simulators").rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        collector = _Collector(_module_name(path), path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text()))
        shared += [
            f"{found.importer}:{found.line} imports {found.imported}"
            for found in collector.found
            if found.imported.split(".")[0] in PRODUCT
        ]
    assert shared == []
