"""Issue #15 item 4: the modules point one way.

Reads every module of ``portal/``, ``kyc/`` and ``remote_signing/`` with the
project's one import reader, ``scripts/import_graph.py`` (``ast``, nothing is
imported; module- and function-level imports count, imports under ``if
TYPE_CHECKING:`` never run and are left out; ``from pkg import mod`` counts as
importing ``pkg.mod``), and fails naming every offender:

(a) a shared module (``portal/*.py``) imports an area (``portal.<package>``,
    ``kyc``, ``remote_signing``); the composition roots ``portal/__init__.py``
    (the factory registers the blueprints and the CLI) and
    ``portal/model_registry.py`` (every model, for Alembic) are exempt;
(b) a room imports a room that is not earlier in ``ROOM_ORDER``;
(c) a module uses a private name (``_x``) of a module in another room
    (an area, or the shared modules), imported or read as ``module._x``;
(d) the project's modules import each other in a circle (strongly connected
    components over module-level AND function-level imports);
(e) a project module is imported inside a function anywhere but in the factory;
(f) ``except ImportError`` guards an import of the project's own modules (no
    area may pretend another could be missing).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from scripts.import_graph import (
    ROOM_ORDER,
    ROOTS,
    SHARED,
    Project,
    back_edges,
    circles,
    is_private,
    module_graph,
)

ROOT = Path(__file__).resolve().parents[3]


@cache
def project() -> Project:
    return Project(ROOT)


def _report(title: str, offenders: list[str]) -> str:
    return f"{title} ({len(offenders)}):\n  " + "\n  ".join(sorted(set(offenders)))


def test_the_scan_sees_the_project():
    """Guards the test itself: it reads the packages and resolves their imports."""
    scan = project()
    assert {"portal", "portal.audit", "portal.auth.views", "kyc.views",
            "remote_signing.client"} <= set(scan.paths)
    assert scan.room_of("portal.audit") == SHARED
    assert scan.room_of("portal.auth.views") == "portal.auth"
    assert scan.room_of("kyc.views") == "kyc"
    assert scan.room_of("portal.model_registry") == ROOTS
    audit_users = {i.importer for i in scan.imports() if i.target == "portal.audit"}
    assert "portal.states" in audit_users
    assert any(i.in_function for i in scan.imports())  # the factory's


def test_shared_modules_never_import_an_area():
    scan = project()
    offenders = [
        f"{imp.where()} imports {imp.target}"
        for imp in scan.imports()
        if scan.room_of(imp.importer) == SHARED
        and scan.room_of(imp.target) not in (SHARED, "remote_signing")
    ]
    assert not offenders, _report("shared modules importing an area", offenders)


def test_every_room_has_a_place_in_the_order():
    scan = project()
    rooms = {scan.room_of(module) for module in scan.paths} - {ROOTS}
    assert rooms <= set(ROOM_ORDER), f"rooms missing from ROOM_ORDER: {rooms - set(ROOM_ORDER)}"


def test_rooms_import_only_earlier_rooms():
    """Issue #15 item 4 (docs/architecture.md "Which room imports which"): a room
    imports only rooms earlier in ROOM_ORDER; a lower room that needs a higher
    one's answer is handed it (a registered provider, a passed function)."""
    scan = project()
    offenders = [f"{scan.room_of(i.importer)} -> {scan.room_of(i.target)}: "
                 f"{i.where()} imports {i.target}" for i in back_edges(scan)]
    assert not offenders, _report("rooms importing a later room", offenders)


def test_no_module_uses_a_private_name_of_another_room():
    scan = project()
    offenders = [
        f"{imp.where()} imports {imp.target}.{name}"
        for imp in scan.imports()
        for name in imp.names
        if is_private(name) and scan.room_of(imp.target) != scan.room_of(imp.importer)
    ]
    offenders += [
        f"{read.reader} (line {read.line}) reads {read.name}"
        for read in scan.private_reads()
        if scan.room_of(scan.module_of(read.name) or read.name) != scan.room_of(read.reader)
    ]
    assert not offenders, _report("private names used across rooms", offenders)


def test_modules_import_each_other_in_no_circle():
    found = circles(module_graph(project()))
    described = [f"{len(c)} modules: " + " ↔ ".join(c) for c in found]
    assert not found, _report("import circles", described)


def test_no_function_level_import_but_the_factorys():
    """Only create_app's own wiring imports inside a function (importing one
    shared module does not load the whole application); elsewhere an import
    inside a function would hide a dependency or dodge a circle."""
    offenders = [f"{imp.where()} imports {imp.target}"
                 for imp in project().imports()
                 if imp.in_function and not imp.type_checking and imp.importer != "portal"]
    assert not offenders, _report("function-level imports of project modules", offenders)


def test_no_import_error_fallback_for_the_projects_own_modules():
    offenders = [f"{imp.where()} guards the import of {imp.target}"
                 for imp in project().imports() if imp.guarded]
    assert not offenders, _report("except ImportError around project imports", offenders)
