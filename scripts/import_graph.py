"""Print the room-level dependency graph of portal/, kyc/ and remote_signing/ (issue #15).

The one import reader of the project: this script, ``scripts/code_counts.py`` and
``tests/unit/foundation/test_architecture.py`` use ``Project`` below. It reads
every module with ``ast`` (nothing is imported): module- and function-level
imports count, imports under ``if TYPE_CHECKING:`` do not, ``from pkg import
mod`` counts as importing ``pkg.mod``. A room is an area package
(``portal/<package>/``, ``kyc``, ``remote_signing``) or the shared modules
(``portal/*.py``); the composition roots (``portal/__init__.py``,
``portal/model_registry.py``) name every area and are a room apart.

    .venv/bin/python scripts/import_graph.py            # mermaid, for docs/architecture.md
    .venv/bin/python scripts/import_graph.py --edges    # one "room -> room (n imports)" a line
    .venv/bin/python scripts/import_graph.py --root /tmp/before

Exit status 1 when a shared module or remote_signing imports an area, when
modules import each other in a circle, or when a room imports a room later in
``ROOM_ORDER`` (each such import is printed with its module and line).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

TOP_PACKAGES = ("portal", "kyc", "remote_signing")
SHARED = "portal"
ROOTS = "composition roots"
COMPOSITION_ROOTS = {"portal", "portal.model_registry"}
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}

# Issue #15 item 4, docs/architecture.md: a room imports only rooms earlier in this list
# (the composition roots may import any room).
ROOM_ORDER = (
    "remote_signing", SHARED, "portal.dev",
    "portal.auth", "portal.mypage", "kyc", "portal.certs", "portal.users",
    "portal.contracts", "portal.retention", "portal.console", "portal.demo",
)


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the project module it names (``pkg.mod`` for ``from pkg import mod``)
    names: tuple[str, ...]  # names taken from ``target`` (empty for a module import)
    line: int
    column: int
    in_function: bool
    type_checking: bool
    guarded: bool  # inside ``try:`` with ``except ImportError``

    @property
    def statement(self) -> tuple[str, int, int]:
        """One import statement may name several modules."""
        return (self.importer, self.line, self.column)

    def where(self) -> str:
        return f"{self.importer} (line {self.line})"


@dataclass(frozen=True)
class PrivateRead:
    reader: str
    name: str  # ``module._name``, read as an attribute of an imported module
    line: int


@dataclass
class _Scan:
    imports: list[Import]
    private_reads: list[PrivateRead]


@dataclass
class Project:
    root: Path
    paths: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for top in TOP_PACKAGES:
            for path in sorted((self.root / top).rglob("*.py")):
                parts = path.relative_to(self.root).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                self.paths[".".join(parts)] = path

    def is_package(self, module: str) -> bool:
        return self.paths[module].name == "__init__.py"

    def module_of(self, dotted: str) -> str | None:
        """The longest prefix of ``dotted`` that is one of the project's modules."""
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in self.paths:
                return candidate
        return None

    def room_of(self, module: str) -> str:
        if module in COMPOSITION_ROOTS:
            return ROOTS
        parts = module.split(".")
        if parts[0] != "portal":
            return parts[0]
        package = ".".join(parts[:2])
        if len(parts) >= 2 and package in self.paths and self.is_package(package):
            return package
        return SHARED

    @cached_property
    def _scans(self) -> dict[str, _Scan]:
        scans: dict[str, _Scan] = {}
        for module, path in self.paths.items():
            collector = _Collector(self, module)
            collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            scans[module] = _Scan(collector.found, collector.private_reads)
        return scans

    def imports(self) -> Iterator[Import]:
        for scan in self._scans.values():
            yield from scan.imports

    def private_reads(self) -> Iterator[PrivateRead]:
        for scan in self._scans.values():
            yield from scan.private_reads


class _Collector(ast.NodeVisitor):
    def __init__(self, project: Project, module: str) -> None:
        self.project = project
        self.module = module
        self.found: list[Import] = []
        self.private_reads: list[PrivateRead] = []
        self.aliases: dict[str, str] = {}  # local name → project module
        self._function = 0
        self._type_checking = 0
        self._guarded = 0

    def _add(self, target: str, names: tuple[str, ...], node: ast.stmt | ast.expr) -> None:
        self.found.append(Import(self.module, target, names, node.lineno, node.col_offset,
                                 self._function > 0, self._type_checking > 0,
                                 self._guarded > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = self.project.module_of(alias.name)
            if target is None:
                continue
            self._add(target, (), node)
            if alias.asname:
                self.aliases[alias.asname] = target
            else:
                head = alias.name.split(".")[0]
                self.aliases.setdefault(head, head)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self._absolute(node)
        base = self.project.module_of(source)
        if base is None:
            return
        taken: list[str] = []
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in self.project.paths:
                self._add(submodule, (), node)
                self.aliases[alias.asname or alias.name] = submodule
            else:
                taken.append(alias.name)
        if taken:
            self._add(base, tuple(taken), node)

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = (self.module if self.project.is_package(self.module)
                   else self.module.rpartition(".")[0]).split(".")
        package = package[: len(package) - (node.level - 1)]
        return ".".join(package + ([node.module] if node.module else []))

    def _in_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self._function += 1
        self.generic_visit(node)
        self._function -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _in_function

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

    def _try(self, node: ast.Try | ast.TryStar) -> None:
        guarded = any(_catches_import_error(h.type) for h in node.handlers)
        self._guarded += guarded
        for child in node.body:
            self.visit(child)
        self._guarded -= guarded
        rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
        for other in rest:
            self.visit(other)

    def visit_Try(self, node: ast.Try) -> None:
        self._try(node)

    def visit_TryStar(self, node: ast.TryStar) -> None:
        self._try(node)

    def visit_Call(self, node: ast.Call) -> None:
        # ``__import__("pkg.mod")`` / ``importlib.import_module("pkg.mod")`` import too
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in {"__import__", "import_module"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                target = self.project.module_of(first.value)
                if target is not None:
                    self._add(target, (), node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        private = self._private_read(node)
        if private is not None:
            self.private_reads.append(PrivateRead(self.module, private, node.lineno))
            return
        self.generic_visit(node)

    def _private_read(self, node: ast.Attribute) -> str | None:
        """``module._name`` when ``node`` reads a private name of an imported module."""
        head, _, rest = (_dotted(node) or "").partition(".")
        if head not in self.aliases or not rest:
            return None
        full = f"{self.aliases[head]}.{rest}"
        owner = self.project.module_of(full)
        if owner is None or full == owner:
            return None
        attribute = full[len(owner) + 1:].split(".")[0]
        return f"{owner}.{attribute}" if is_private(attribute) else None


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


def _catches_import_error(handler: ast.expr | None) -> bool:
    if handler is None:
        return False
    candidates = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return any(isinstance(c, ast.Name) and c.id in IMPORT_ERRORS for c in candidates)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_graph(project: Project, *, in_functions: bool = True) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in project.paths}
    for imp in project.imports():
        if imp.in_function and not in_functions:
            continue
        if not imp.type_checking and imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    return graph


def room_edges(project: Project) -> Counter[tuple[str, str]]:
    """Room → room with the number of imports (one per module or name imported)."""
    edges: Counter[tuple[str, str]] = Counter()
    for imp in project.imports():
        if imp.type_checking:
            continue
        source, target = project.room_of(imp.importer), project.room_of(imp.target)
        if source != target and target != ROOTS:
            edges[(source, target)] += max(1, len(imp.names))
    return edges


def back_edges(project: Project) -> list[Import]:
    """Imports of a room later in ``ROOM_ORDER`` (or of a room not in it)."""
    rank = {room: place for place, room in enumerate(ROOM_ORDER)}
    unplaced = len(ROOM_ORDER)
    found = []
    for imp in project.imports():
        source, target = project.room_of(imp.importer), project.room_of(imp.target)
        if imp.type_checking or source in (ROOTS, target) or target == ROOTS:
            continue
        if rank.get(target, unplaced) >= rank.get(source, unplaced):
            found.append(imp)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
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


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    return sorted((c for c in strongly_connected(graph) if len(c) > 1), key=len, reverse=True)


def _node(room: str) -> str:
    return room.replace(".", "_").replace(" ", "_")


def _label(room: str) -> str:
    if room == SHARED:
        return "portal/*.py (shared modules)"
    if room == ROOTS:
        return "portal/__init__.py, model_registry.py (composition roots)"
    return room.replace(".", "/") + "/"


def _top_down(room: str) -> tuple[int, str]:
    """Later rooms first (they import the earlier ones); unplaced rooms on top."""
    place = ROOM_ORDER.index(room) if room in ROOM_ORDER else len(ROOM_ORDER)
    return (-place, room)


def two_way(edges: Counter[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pairs of areas that import each other (in different modules: no module circle)."""
    return sorted((a, b) for (a, b) in edges if (b, a) in edges and a < b)


def mermaid(edges: Counter[tuple[str, str]]) -> str:
    """Areas in one box, the last of ``ROOM_ORDER`` first; every area imports the
    shared modules (drawn once); the composition roots register every area (drawn
    once); a pair of areas importing each other is one ``<-->`` edge."""
    areas = sorted({r for edge in edges for r in edge} - {SHARED, ROOTS}, key=_top_down)
    pairs = set(two_way(edges))
    lines = ["```mermaid", "graph TD", f'    {_node(ROOTS)}["{_label(ROOTS)}"]',
             '    subgraph areas["areas"]']
    lines += [f'        {_node(r)}["{_label(r)}"]' for r in areas if r != "remote_signing"]
    lines.append("    end")
    lines += [f'    remote_signing["{_label("remote_signing")}"]',
              f'    {_node(SHARED)}["{_label(SHARED)}"]',
              f"    {_node(ROOTS)} -.->|registers| areas"]
    for (source, target) in sorted(edges, key=lambda e: (_top_down(e[0]), _top_down(e[1]))):
        if source == ROOTS or target == SHARED or source == "remote_signing":
            continue
        if (source, target) in pairs:
            lines.append(f"    {_node(source)} <--> {_node(target)}")
        elif (target, source) not in pairs:
            lines.append(f"    {_node(source)} --> {_node(target)}")
    lines.append(f"    areas --> {_node(SHARED)}")
    lines.append("```")
    return "\n".join(lines)


def _problems(project: Project, edges: Counter[tuple[str, str]]) -> list[str]:
    wrong = sorted(f"NOT ONE WAY: {source} -> {target}" for (source, target) in edges
                   if (source == SHARED or source == "remote_signing")
                   and target not in (SHARED, "remote_signing"))
    loops = ["import circle: " + " <-> ".join(loop)
             for loop in circles(module_graph(project))]
    backwards = sorted(
        f"BACK-EDGE {project.room_of(i.importer)} -> {project.room_of(i.target)}: "
        f"{i.where()} imports {i.target}" for i in back_edges(project))
    return wrong + loops + list(dict.fromkeys(backwards))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--edges", action="store_true", help="plain list with import counts")
    args = parser.parse_args(argv)
    project = Project(args.root)
    edges = room_edges(project)
    if args.edges:
        for (source, target), count in sorted(edges.items()):
            print(f"{source} -> {target} ({count} imports)")
    else:
        print(mermaid(edges))
    print("areas importing each other (different modules): "
          + (", ".join(f"{a} <-> {b}" for a, b in two_way(edges)) or "none"))
    problems = _problems(project, edges)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
