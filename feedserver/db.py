"""Database access: the schema (write side, for init-db and import) and the
read-only connection pool the server uses.

Every server connection is opened read-only by URI and set up in one place,
`prepare_connection`, with `query_only`, a busy timeout and a time limit per
query, so no code path of the server can write the CMS's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import aiosqlite

SCHEMA_VERSION = 2
# Forward migrations: MIGRATIONS[n] takes a database from version n to n + 1.
# Each only alters what exists (columns, changed triggers, backfills); init_db
# then runs schema.sql, whose IF NOT EXISTS statements add every new table,
# index and trigger, all in the same transaction.
MIGRATIONS: dict[int, str] = {
    # Version 2: tag and author slugs, and the feed change stamps (schema.sql).
    1: """
ALTER TABLE tags ADD COLUMN slug TEXT;
ALTER TABLE tags ADD COLUMN slug_source TEXT;
ALTER TABLE authors ADD COLUMN slug TEXT;
ALTER TABLE authors ADD COLUMN slug_source TEXT;
-- Freeze what the existing rows' slugs derive from. Without their update
-- triggers for the backfill (schema.sql creates them again), which would take
-- it for a rename of every tag and author and move every feed's date.
DROP TRIGGER IF EXISTS tags_update;
DROP TRIGGER IF EXISTS authors_update;
UPDATE tags SET slug_source = name;
UPDATE authors SET slug_source = name;
""",
}


class DatabaseUnavailable(Exception):
    """The database cannot be read: missing, locked, corrupt or of an unknown version."""

    @property
    def is_lock(self) -> bool:
        """SQLITE_BUSY / SQLITE_LOCKED: a CMS write in progress, not a broken database."""
        text = str(self)
        return "locked" in text or "busy" in text


class QueryTimeout(DatabaseUnavailable):
    """A query ran past database.query_timeout_seconds and was interrupted."""


def schema_sql() -> str:
    return resources.files("feedserver").joinpath("schema.sql").read_text(encoding="utf-8")


def open_for_writing(path: Path) -> sqlite3.Connection:
    """A read-write connection for the CLI (init-db, import); never used by the server."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def init_db(path: Path) -> int:
    """Create the schema (or migrate it forward) and switch to WAL. Returns the version."""
    conn = open_for_writing(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise DatabaseUnavailable(
                f"{path} has schema version {version}; this feedserver knows up to {SCHEMA_VERSION}: upgrade it"
            )
        if version < SCHEMA_VERSION:
            steps = "\n".join(MIGRATIONS[n] for n in range(version, SCHEMA_VERSION)) if version else ""
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{steps}\n{schema_sql()}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
            )
        # Tables, indexes and triggers added within a version (feed_hours) are
        # created if missing: every statement of the schema is IF NOT EXISTS.
        conn.executescript(f"BEGIN IMMEDIATE;\n{schema_sql()}\nCOMMIT;")
        return SCHEMA_VERSION
    finally:
        conn.close()


def schema_problem(version: int, path: Path) -> str | None:
    """Why a database of this schema version cannot be served, or None."""
    if version == 0:
        return f"database {path} has no feedserver schema (schema version 0; run feedserver init-db)"
    if version > SCHEMA_VERSION:
        return f"database {path} has schema version {version}; this server supports up to {SCHEMA_VERSION}"
    if version < SCHEMA_VERSION:
        return f"database {path} has schema version {version}; run feedserver init-db to migrate it"
    return None


def read_only_uri(path: Path) -> str:
    return "file:" + quote(str(path.resolve())) + "?mode=ro"


def _decode_text(data: bytes) -> str:
    # The CMS may have stored invalid UTF-8; a feed must still render.
    return data.decode("utf-8", "replace")


async def prepare_connection(conn: aiosqlite.Connection, busy_timeout: float) -> list[float]:
    """Set up one server connection: read-only, bounded in lock wait and query time.

    Returns the connection's deadline cell: the progress handler interrupts a
    query once `time.monotonic()` passes `cell[0]` (0 means no deadline).
    """
    await conn.execute("PRAGMA query_only = 1")
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    deadline = [0.0]

    def progress() -> int:
        return 1 if deadline[0] and time.monotonic() > deadline[0] else 0

    await conn.set_progress_handler(progress, 10_000)
    return deadline


@dataclass(frozen=True)
class FileIdentity:
    """The database file as seen on disk.

    A file renamed over the old one has a new (device, inode): open connections
    keep reading the old file, so the pool must be reopened. A new mtime or
    size with the same inode (a checkpoint, or a copy written in place) only
    calls for a fresh look at the data.
    """

    device: int
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return cls(stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def same_file(self, other: FileIdentity | None) -> bool:
        return other is not None and (self.device, self.inode) == (other.device, other.inode)


async def connect_reader(path: Path, busy_timeout: float) -> tuple[aiosqlite.Connection, list[float]]:
    """One read-only server connection, set up; see prepare_connection."""
    conn = await aiosqlite.connect(read_only_uri(path), uri=True, isolation_level=None)
    try:
        return conn, await prepare_connection(conn, busy_timeout)
    except BaseException:
        await conn.close()
        raise


@dataclass
class _Reader:
    conn: aiosqlite.Connection
    deadline: list[float]


class ReadPool:
    """A few read-only aiosqlite connections, used one query at a time each.

    With `hold` (the default) they are opened once and kept. Without it each
    query opens its own connection and closes it after, at most `size` at once:
    on a Litestream read replica an open connection, even idle, stops
    `litestream restore -f` from applying anything until it closes (measured
    with Litestream 0.5.17; see the README's operations section). Renders are
    rare (hits never query), so the ~2.5 ms a connection costs is paid per change,
    not per request.
    """

    def __init__(self, path: Path, size: int, query_timeout: float, busy_timeout: float, hold: bool = True) -> None:
        self.path = path
        self.size = size
        self.query_timeout = query_timeout
        self.busy_timeout = busy_timeout
        self.hold = hold
        self._idle: asyncio.Queue[_Reader] = asyncio.Queue()
        self._slots = asyncio.Semaphore(size)  # connections open at once without `hold`
        self._all: list[_Reader] = []
        self.queries = 0  # counted so tests can prove a warm request does no database I/O

    async def open(self) -> None:
        """Open every connection and check the schema version; raises DatabaseUnavailable."""
        if not self.path.is_file():
            if self.path.exists():  # a directory, a device: nothing SQLite can read
                raise DatabaseUnavailable(f"database {self.path} is not a regular file")
            raise DatabaseUnavailable(f"database {self.path} does not exist")
        try:
            for _ in range(self.size if self.hold else 0):
                reader = _Reader(*await connect_reader(self.path, self.busy_timeout))
                self._all.append(reader)
                self._idle.put_nowait(reader)
            await self.check_schema()
        except sqlite3.Error as exc:
            await self.close()
            raise DatabaseUnavailable(f"cannot open database {self.path}: {exc}") from None
        except DatabaseUnavailable:
            await self.close()
            raise

    async def check_schema(self) -> None:
        """Raise DatabaseUnavailable unless the schema version is the one this server reads."""
        rows = await self.fetchall("PRAGMA user_version")
        problem = schema_problem(int(rows[0][0]), self.path)
        if problem:
            raise DatabaseUnavailable(problem)

    async def close(self) -> None:
        readers, self._all = self._all, []
        for reader in readers:
            with contextlib.suppress(Exception):
                await reader.conn.close()

    async def fetchall(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        """Run one read query within the time limit; sqlite errors become DatabaseUnavailable."""
        self.queries += 1
        reader = await self._acquire()
        # The connection runs one query at a time and this task holds it, so
        # arming its deadline here cannot race another query.
        reader.deadline[0] = time.monotonic() + self.query_timeout
        try:
            try:
                return list(await reader.conn.execute_fetchall(sql, params))
            except sqlite3.OperationalError as exc:
                if "decode" not in str(exc):
                    raise
                # Invalid UTF-8 written by the CMS: read this query again with a
                # tolerant decoder (slower, so not the default).
                reader.conn.text_factory = _decode_text
                try:
                    return list(await reader.conn.execute_fetchall(sql, params))
                finally:
                    reader.conn.text_factory = str
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout(f"query interrupted after {self.query_timeout:g} s") from None
            raise DatabaseUnavailable(f"database error: {exc}") from None
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise DatabaseUnavailable(f"database error: {exc}") from None
        finally:
            reader.deadline[0] = 0.0
            await self._release(reader)

    async def _acquire(self) -> _Reader:
        if self.hold:
            return await self._idle.get()
        await self._slots.acquire()
        try:
            return _Reader(*await connect_reader(self.path, self.busy_timeout))
        except sqlite3.Error as exc:
            self._slots.release()
            raise DatabaseUnavailable(f"cannot open database {self.path}: {exc}") from None
        except BaseException:
            self._slots.release()
            raise

    async def _release(self, reader: _Reader) -> None:
        if self.hold:
            self._idle.put_nowait(reader)
            return
        try:
            await reader.conn.close()
        finally:
            self._slots.release()
