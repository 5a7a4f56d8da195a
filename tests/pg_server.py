"""A throwaway PostgreSQL server for tests and benchmarks: `initdb` + `pg_ctl` in a temporary directory.

It listens on a unix socket in that directory only (no TCP port to collide on), trusts local
connections, and trades durability for speed (fsync off). Run as root (as CI does), the server
runs as the `postgres` user, which `initdb` requires; the directory is made that user's.

    server = PostgresServer.start()        # raises Unavailable with the reason when it cannot
    url = server.create_database("t1")     # postgresql://…/t1
    server.stop()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "preclinical"
PORT = 5432  # names the socket file only; nothing listens on TCP


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why and what to install."""


def find_bindir() -> Path | None:
    """Where `initdb` and `pg_ctl` are: $PRECLINICAL_PG_BIN, the PATH, or Debian's /usr/lib/postgresql/N/bin."""
    candidates = []
    if os.environ.get("PRECLINICAL_PG_BIN"):
        candidates.append(Path(os.environ["PRECLINICAL_PG_BIN"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                      if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(p) for p in versions]
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


class PostgresServer:
    def __init__(self, bindir: Path, root: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.run_as = run_as
        self._n = 0

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def start(cls, extra_options: str = "") -> PostgresServer:
        """`extra_options`: more server settings, as `-c name=value` (the benchmark loads pg_stat_statements)."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise Unavailable("psycopg is not installed (pip install -e '.[test]')") from None
        bindir = find_bindir()
        if bindir is None:
            raise Unavailable("PostgreSQL server binaries not found: install Debian's postgresql package "
                              "(apt-get install postgresql) or set PRECLINICAL_PG_BIN to the directory of initdb")
        run_as = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no 'postgres' user to run the server as") from None
            if not shutil.which("runuser"):
                raise Unavailable("running as root and runuser is missing, so the server cannot run as 'postgres'")
            run_as = "postgres"
        root = Path(tempfile.mkdtemp(prefix="pcpg-"))  # short: a unix socket path has ~100 characters
        if run_as:
            user = pwd.getpwnam(run_as)
            os.chown(root, user.pw_uid, user.pw_gid)
        server = cls(bindir, root, run_as)
        try:
            server._run("initdb", "-D", str(server.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                        "--no-locale", "--no-sync")
            options = (f"-c listen_addresses='' -c unix_socket_directories={root} -p {PORT} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                       "-c shared_buffers=32MB " + extra_options)
            server._run("pg_ctl", "-D", str(server.data), "-o", options, "-l", str(root / "server.log"),
                        "-w", "-t", "60", "start")
        except Unavailable:
            server.stop()
            raise
        return server

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=self.root, timeout=120)
        if proc.returncode != 0:
            log = self.root / "server.log"
            detail = (proc.stderr or proc.stdout).strip()
            if log.exists():
                detail += "\n" + log.read_text(errors="replace")[-2000:]
            raise Unavailable(f"{tool} failed: {detail}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except Unavailable:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def pid(self) -> int:
        """The postmaster's process id (every backend is its child)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    # ------------------------------------------------------------------ databases
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.root}&port={PORT}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        if name is None:
            self._n += 1
            name = f"db{os.getpid()}_{self._n}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
