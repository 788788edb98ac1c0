"""A real PostgreSQL server for the tests, from the machine's packages (`make postgres` installs them).

Why a real server and not a mock: the audit's PostgreSQL backend and Dagster's instance on PostgreSQL are
judged on what a server does (COPY, transactions, lock waits between processes), which only a server shows.
`initdb` refuses to run as root, so the cluster is created and started as the `postgres` user
(`runuser -u postgres --`) in a folder of its own under the system's temporary folder, on a free port of
127.0.0.1, with password authentication (scram-sha-256) so that the connection URLs carry a secret as a
user's would. `stop()` stops the server and removes the folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*command: str) -> list[str]:
    """The command run as the `postgres` user when we are root (initdb and postgres refuse root)."""
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class PostgresServer:
    """One running cluster: `url(database)` builds connection URLs, `create_database` a fresh database."""

    folder: Path
    port: int
    password: str
    host: str = "127.0.0.1"

    @classmethod
    def start(cls) -> PostgresServer:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL under {PG_BIN}: run `make postgres` (Debian's postgresql-15)")
        folder = Path(tempfile.mkdtemp(prefix="jde-mc-pg-"))
        password = secrets.token_urlsafe(16)
        server = cls(folder=folder, port=_free_port(), password=password)
        data = folder / "data"
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(folder, SUPERUSER)
            shutil.chown(pwfile, SUPERUSER)
        folder.chmod(0o700)
        pwfile.chmod(0o600)
        try:
            subprocess.run(
                _as_postgres(
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ),
                check=True,
                capture_output=True,
                timeout=120,
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={folder} "
                "-c max_connections=200 -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            subprocess.run(
                _as_postgres(
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(folder / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ),
                check=True,
                capture_output=True,
                timeout=90,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return server

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def dagster_env(self, database: str) -> dict[str, str]:
        """The DAGSTER_POSTGRES_* variables of deploy/dagster.yaml for `database`."""
        return {
            "DAGSTER_POSTGRES_HOST": self.host,
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_USER": SUPERUSER,
            "DAGSTER_POSTGRES_PASSWORD": self.password,
            "DAGSTER_POSTGRES_DB": database,
        }

    def postmaster_pid(self) -> int:
        """The server's main process (its first line of postmaster.pid): the parent of every backend."""
        return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
