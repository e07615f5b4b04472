"""Issue #12 item 5: PostgreSQL restarted while the portal runs. A private
cluster (initdb/pg_ctl, as scripts/services.sh starts the shared one) on a free
port, so the shared server on 54329 is never touched. While it is down every
request gets the portal's own error page in Japanese (no traceback, no
half-done change); once it is back the same browser session carries on."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal import create_app
from portal.extensions import db
from tests.conftest import DEFAULT_PASSWORD, base_config, free_port, login_customer, migrate

pytestmark = pytest.mark.slow

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


class Cluster:
    def __init__(self) -> None:
        assert PG_BIN is not None, "PostgreSQL binaries not found (make deps)"
        self.dir = Path(tempfile.mkdtemp(prefix="portal-pg-fault-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o755)
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> Cluster:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                  "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                  "-c fsync=off", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
                        str(self.dir / "data"), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster().start()
    yield own
    own.remove()


@pytest.fixture
def database_url(cluster: Cluster, tmp_path: Path) -> str:
    """Overrides the suite's database: the portal runs on the private cluster."""
    schema = create_app(base_config(tmp_path, cluster.url, 1))
    migrate(schema)
    with schema.app_context():
        db.engine.dispose()
    return cluster.url


def assert_clean_failure(response: Any, message: str = "しばらく時間を置いてから") -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == 503, response.status_code
    assert "Traceback" not in text and "psycopg" not in text and "sqlalchemy" not in text
    assert message in text


def test_postgres_restarted_while_the_portal_runs(app: Any, client: Any, factories: Any,
                                                  cluster: Cluster) -> None:
    user = factories.customer()
    email = user.email
    assert login_customer(client, email, DEFAULT_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    other = app.test_client()
    token = other.csrf_token("/login")  # the login form was open before the restart
    english = app.test_client()
    english.use_english()
    english_token = english.csrf_token("/login")
    db.session.commit()

    cluster.stop()
    assert_clean_failure(client.get("/"))
    assert_clean_failure(other.post("/login", data={"identifier": email, "csrf_token": token,
                                                    "password": DEFAULT_PASSWORD}))
    # A page that needs no query (the login form, with MyPage's maintenance
    # gate read in the last second) may still render; its submit cannot.
    refused = english.post("/login", data={"identifier": email, "csrf_token": english_token,
                                           "password": DEFAULT_PASSWORD})
    assert_clean_failure(refused, "The system is unavailable")

    cluster.start()
    assert client.get("/").status_code == 200  # the same session carries on
    fresh = app.test_client()
    assert login_customer(fresh, email, DEFAULT_PASSWORD).status_code == 302
