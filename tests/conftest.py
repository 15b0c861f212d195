"""Fixtures: real IMAP (pymap; Dovecot when installed), a real SMTP sink, SQLite and PostgreSQL.

Only the clock is ever faked. Servers listen on free loopback ports and are torn down after
use; PostgreSQL tests get a schema of their own and drop it afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from intake.embedded import EmbeddedImap, MailSink
from tests.servers import DOVECOT, Dovecot, ImapAccount

PG_URL = os.environ.get("INTAKE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return f"PostgreSQL at {PG_URL} unreachable: {str(error).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI must run the PostgreSQL tests)")
        pytest.skip(problem)
    return PG_URL


@pytest.fixture
def postgres_url(postgres_base_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_base_url)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    url = make_url(postgres_base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    if not DOVECOT:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed (CI must run the Dovecot tests)")
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd)")
    # Not under pytest's tmp dir: that is mode 0700, and Dovecot's auth process runs as the
    # dovecot user, which must read the passwd file.
    root = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pymap_account() -> Iterator[ImapAccount]:
    with EmbeddedImap(user="coordinator", password="secret") as server:
        yield ImapAccount("pymap", server.host, server.port, server.user, server.password)


@pytest.fixture
def dovecot_account(dovecot_server: Dovecot) -> ImapAccount:
    return dovecot_server.add_user()


@pytest.fixture(params=["pymap", pytest.param("dovecot", marks=pytest.mark.dovecot)])
def imap_account(request: pytest.FixtureRequest) -> ImapAccount:
    """Each test that takes this runs against pymap and against Dovecot."""
    account: ImapAccount = request.getfixturevalue(f"{request.param}_account")
    return account


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    with MailSink() as sink:
        yield sink
