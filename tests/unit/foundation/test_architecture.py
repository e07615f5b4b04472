"""Issue #15 item 4: the modules point one way.

Reads every module of ``portal/``, ``kyc/`` and ``remote_signing/`` with ``ast``
(nothing is imported) and fails naming every offender:

(a) a shared module (``portal/*.py``) imports an area (``portal.<package>``,
    ``kyc``, ``remote_signing``); the composition roots ``portal/__init__.py``
    (the factory registers the blueprints and the CLI) and
    ``portal/model_registry.py`` (every model, for Alembic) are exempt;
(b) a module uses a private name (``_x``) of a module in another room
    (an area, or the shared modules), imported or read as ``module._x``;
(c) the project's modules import each other in a circle: strongly connected
    components over module-level AND function-level imports (imports under
    ``if TYPE_CHECKING:`` never run and are left out; ``from pkg import mod``
    counts as importing ``pkg.mod``);
(d) ``except ImportError`` guards an import of the project's own modules (no
    area may pretend another could be missing).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TOP_PACKAGES = ("portal", "kyc", "remote_signing")
SHARED = "portal (shared modules)"
COMPOSITION_ROOTS = {"portal", "portal.model_registry"}
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the project module it names (``pkg.mod`` for ``from pkg import mod``)
    names: tuple[str, ...]  # names taken from ``target`` (empty for a module import)
    line: int
    in_function: bool
    type_checking: bool
    guarded_by_import_error: bool

    def where(self) -> str:
        return f"{self.importer} (line {self.line})"


@cache
def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in TOP_PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def is_package(module: str) -> bool:
    return modules()[module].name == "__init__.py"


def room_of(module: str) -> str:
    """The area a module belongs to: ``portal.<package>``, ``kyc``,
    ``remote_signing``, or the shared modules (``portal/*.py``)."""
    parts = module.split(".")
    if parts[0] != "portal":
        return parts[0]
    if len(parts) >= 2 and f"portal.{parts[1]}" in modules() and is_package(f"portal.{parts[1]}"):
        return f"portal.{parts[1]}"
    return SHARED


def project_module(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is one of the project's modules."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules():
            return candidate
    return None


def absolute(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if is_package(importer) else importer.rpartition(".")[0]
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.imports: list[Import] = []
        self.aliases: dict[str, str] = {}  # local name → project module
        self.private_reads: list[tuple[str, int]] = []  # ("module._name", line)
        self._function_depth = 0
        self._type_checking = 0
        self._guarded = 0

    def _add(self, target: str, names: tuple[str, ...], line: int) -> None:
        self.imports.append(Import(self.module, target, names, line, self._function_depth > 0,
                                   self._type_checking > 0, self._guarded > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = project_module(alias.name)
            if target is None:
                continue
            self._add(target, (), node.lineno)
            if alias.asname:
                self.aliases[alias.asname] = target
            else:
                head = alias.name.split(".")[0]
                self.aliases.setdefault(head, head)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = absolute(self.module, node)
        base = project_module(source)
        if base is None:
            return
        taken: list[str] = []
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in modules():
                self._add(submodule, (), node.lineno)
                self.aliases[alias.asname or alias.name] = submodule
            else:
                taken.append(alias.name)
        if taken:
            self._add(base, tuple(taken), node.lineno)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self._function_depth += 1
        self.generic_visit(node)
        self._function_depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self._type_checking += 1
            for child in node.body:
                self.visit(child)
            self._type_checking -= 1
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(handler.type) for handler in node.handlers)
        self._guarded += guarded
        for child in node.body:
            self.visit(child)
        self._guarded -= guarded
        for child in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(child)

    visit_Try = _try
    visit_TryStar = _try

    def visit_Call(self, node: ast.Call) -> None:
        # ``__import__("pkg.mod")`` / ``importlib.import_module("pkg.mod")`` import too
        name = _dotted(node.func)
        if name in {"__import__", "importlib.import_module", "import_module"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = project_module(first.value)
                if target is not None:
                    self._add(target, (), node.lineno)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node)
        if dotted is not None:
            head, _, rest = dotted.partition(".")
            if head in self.aliases and rest:
                full = f"{self.aliases[head]}.{rest}"
                owner = project_module(full)
                if owner is not None and full != owner:
                    attribute = full[len(owner) + 1:].split(".")[0]
                    if _private(attribute):
                        self.private_reads.append((f"{owner}.{attribute}", node.lineno))
                        return
        self.generic_visit(node)


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` of an attribute chain on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _catches_import_error(handler_type: ast.expr | None) -> bool:
    if handler_type is None:
        return False
    candidates = handler_type.elts if isinstance(handler_type, ast.Tuple) else [handler_type]
    return any(isinstance(c, ast.Name) and c.id in IMPORT_ERRORS for c in candidates)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@cache
def collected() -> dict[str, _Collector]:
    result: dict[str, _Collector] = {}
    for module, path in modules().items():
        collector = _Collector(module)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        result[module] = collector
    return result


def all_imports() -> Iterator[Import]:
    for collector in collected().values():
        yield from collector.imports


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _report(title: str, offenders: list[str]) -> str:
    return f"{title} ({len(offenders)}):\n  " + "\n  ".join(sorted(set(offenders)))


def test_the_scan_sees_the_project():
    """Guards the test itself: it reads the packages and resolves their imports."""
    found = modules()
    assert {"portal", "portal.audit", "portal.auth.views", "kyc.views",
            "remote_signing.client"} <= set(found)
    assert room_of("portal.audit") == SHARED and room_of("portal.auth.views") == "portal.auth"
    assert room_of("kyc.views") == "kyc"
    audit_users = {i.importer for i in all_imports() if i.target == "portal.audit"}
    assert "portal.states" in audit_users


def test_shared_modules_never_import_an_area():
    offenders = [
        f"{imp.where()} imports {imp.target}"
        for imp in all_imports()
        if room_of(imp.importer) == SHARED and imp.importer not in COMPOSITION_ROOTS
        and room_of(imp.target) != SHARED
    ]
    assert not offenders, _report("shared modules importing an area", offenders)


def test_no_module_uses_a_private_name_of_another_room():
    offenders = [
        f"{imp.where()} imports {imp.target}.{name}"
        for imp in all_imports()
        for name in imp.names
        if _private(name) and room_of(imp.target) != room_of(imp.importer)
    ]
    for module, collector in collected().items():
        offenders += [
            f"{module} (line {line}) reads {name}"
            for name, line in collector.private_reads
            if room_of(project_module(name) or name) != room_of(module)
        ]
    assert not offenders, _report("private names used across rooms", offenders)


def test_modules_import_each_other_in_no_circle():
    graph: dict[str, set[str]] = {module: set() for module in modules()}
    for imp in all_imports():
        if not imp.type_checking and imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    circles = [component for component in strongly_connected(graph) if len(component) > 1]
    described = [f"{len(c)} modules: " + " ↔ ".join(c) for c in circles]
    assert not circles, _report("import circles", described)


def test_no_import_error_fallback_for_the_projects_own_modules():
    offenders = [f"{imp.where()} guards the import of {imp.target}"
                 for imp in all_imports() if imp.guarded_by_import_error]
    assert not offenders, _report("except ImportError around project imports", offenders)
