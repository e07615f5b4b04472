"""CON-9 from the outside: ``flask --app wsgi retention run`` as a scheduler runs
it, on a file SQLite database (or PostgreSQL), with the clock moved by faketime (the issue's
"Done when": +3600 days keeps a package finished today, +3700 days deletes it).
A run killed with SIGKILL mid-way leaves every package whole or tombstoned and
the next run finishes; two runs at once delete each package once."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from portal import clock
from portal.contracts.models import ContractPackage
from portal.extensions import db
from portal.models import AuditEntry
from portal.retention.models import Tombstone
from portal.retention.services import KILL_AFTER_ENV
from tests.concurrency.live import portal_env
from tests.functional.retention.conftest import blob_paths, finished_package

ROOT = Path(__file__).resolve().parents[3]
FLASK = str(ROOT / ".venv" / "bin" / "flask")
FAKETIME = shutil.which("faketime")


def flask(env: dict[str, str], *args: str, offset: str = "+3700d",
          extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
    assert FAKETIME, "faketime is needed (apt-get install faketime, see RECIPES)"
    return subprocess.Popen([FAKETIME, "-f", offset, FLASK, "--app", "wsgi", *args], cwd=ROOT,
                            env={**env, **(extra or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=180)
    return proc.returncode, out + err


def packages(app: Any, world: Any, pdf: bytes, count: int) -> dict[int, list[Path]]:
    made = {}
    for _ in range(count):
        package_id = finished_package(app, world, pdf, ended_at=clock.now())
        made[package_id] = blob_paths(app, package_id)
    db.session.commit()
    return made


def state(made: dict[int, list[Path]]) -> dict[int, str]:
    """Per package: "whole" (row and every blob), "tombstoned" or "BROKEN"."""
    db.session.expire_all()
    found = {}
    for package_id, blobs in made.items():
        row = db.session.get(ContractPackage, package_id) is not None
        tomb = db.session.execute(select(Tombstone).where(
            Tombstone.package_id == package_id)).scalars().first()
        if row and tomb is None and all(p.exists() for p in blobs):
            found[package_id] = "whole"
        elif not row and tomb is not None:
            found[package_id] = "tombstoned"
        else:
            found[package_id] = "BROKEN"
    db.session.commit()
    return found


def audit_verify(env: dict[str, str]) -> None:
    code, out = finish(flask(env, "audit", "verify", offset="+3700d"))
    assert code == 0 and "intact" in out, out


def test_faketime_3600_days_keep_a_finished_package_and_3700_days_delete_it(
        app, app_config, world, contract_pdf):
    made = packages(app, world, contract_pdf, 1)
    (package_id, blobs), = made.items()
    env = portal_env(app_config)
    code, out = finish(flask(env, "retention", "run", offset="+3600d"))
    assert code == 0, out
    assert state(made) == {package_id: "whole"}
    code, out = finish(flask(env, "retention", "run", "--dry-run"))
    assert code == 0 and f"would delete\tpackage {package_id}" in out, out
    assert state(made) == {package_id: "whole"}
    code, out = finish(flask(env, "retention", "run"))
    assert code == 0 and f"deleted\tpackage {package_id}" in out, out
    assert state(made) == {package_id: "tombstoned"}
    assert not any(p.exists() for p in blobs)
    code, out = finish(flask(env, "contracts", "export", str(package_id), "--out",
                             str(Path(app_config["FILESTORE_PATH"]).parent / "x.pdf")))
    assert code != 0
    code, out = finish(flask(env, "retention", "tombstones"))
    assert code == 0 and str(package_id) in out, out
    audit_verify(env)


def test_a_run_killed_mid_way_leaves_whole_or_tombstoned_and_the_next_run_finishes(
        app, app_config, world, contract_pdf):
    made = packages(app, world, contract_pdf, 3)
    env = portal_env(app_config)
    # The run kills itself (SIGKILL) right after the first deletion committed,
    # before that package's blobs are destroyed.
    code, out = finish(flask(env, "retention", "run", extra={KILL_AFTER_ENV: "1"}))
    # faketime answers its child's SIGKILL with exit status 1 and "Caught Killed".
    assert code in (1, -signal.SIGKILL) and "Killed" in out, out
    after_kill = state(made)
    assert sorted(after_kill.values()) == ["tombstoned", "whole", "whole"]
    pending = db.session.execute(select(Tombstone.pending_keys)).scalar_one()
    assert pending  # the committed deletion still owes its blobs

    code, out = finish(flask(env, "retention", "run"))
    assert code == 0, out
    assert set(state(made).values()) == {"tombstoned"}
    assert not any(p.exists() for blobs in made.values() for p in blobs)
    assert db.session.execute(select(Tombstone.pending_keys)).scalars().all() == [""] * 3
    deletions = db.session.execute(select(func.count()).where(
        AuditEntry.action == "retention.package_deleted")).scalar_one()
    assert deletions == 3
    audit_verify(env)


def test_two_runs_at_once_delete_each_package_once(app, app_config, world, contract_pdf):
    made = packages(app, world, contract_pdf, 4)
    env = portal_env(app_config)
    runs = [flask(env, "retention", "run") for _ in range(2)]
    results = [finish(proc) for proc in runs]
    assert all(code == 0 for code, _ in results), results
    deleted_lines = [line for _, out in results for line in out.splitlines()
                     if line.startswith("deleted\tpackage")]
    assert sorted(int(line.split()[2]) for line in deleted_lines) == sorted(made)
    assert set(state(made).values()) == {"tombstoned"}
    deletions = db.session.execute(select(AuditEntry.target_id).where(
        AuditEntry.action == "retention.package_deleted")).scalars().all()
    assert sorted(map(int, deletions)) == sorted(made)
    audit_verify(env)
