"""The admin database: each server thread's own connection, lent to one request at a
time on `g`; `init-db` at start-up."""
import contextlib
import sqlite3
import threading

from flask import current_app, g

from common import db as common_db
from common.clock import stamp, utc_now
from common.migrations import NewerDatabase

_thread = threading.local()


def get_db():
    """This request's connection to the admin database: the thread's own, kept open
    between requests. Opening one costs more than many requests, and closing the last
    open one checkpoints the WAL with an fsync, on every request of an idle server."""
    if "db" not in g:
        path = current_app.config["ADMIN_DB"]
        kept = getattr(_thread, "kept", None)
        if kept is None or kept[0] != path:
            if kept is not None:
                kept[1].close()
            _thread.kept = kept = (path, common_db.connect(path))
        g.db = kept[1]
    return g.db


def close_db(_exc=None):
    """End the request's use of the connection: no transaction outlives the request."""
    conn = g.pop("db", None)
    if conn is not None and conn.in_transaction:
        conn.rollback()


@contextlib.contextmanager
def without_fsync(conn):
    """Commits inside do not wait for the disk (WAL with synchronous=NORMAL: a power cut may
    lose them, never corrupt anything): for writes worth nothing a few seconds later. The
    connection waits for the disk again afterwards."""
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield conn
    finally:
        conn.execute("PRAGMA synchronous=FULL")


def init_db(path):
    """Create or migrate the admin database at `path` (idempotent)."""
    conn = common_db.connect(path)
    try:
        common_db.init_schema(conn, "admin", path)
    finally:
        conn.close()


def init_app(app):
    """Register teardown, and make sure the schema exists before serving."""
    app.teardown_appcontext(close_db)
    try:
        init_db(app.config["ADMIN_DB"])
    except NewerDatabase as error:
        raise SystemExit(f"fitwerk admin: {error}") from None


def now_iso():
    """Server time now, UTC ISO-8601."""
    return stamp(utc_now())


def bump_roster(conn):
    """Next roster version: every change a kiosk must learn about takes one."""
    conn.execute("INSERT INTO meta(key, value) VALUES ('roster_version', '1') "
                 "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
    return int(common_db.get_meta(conn, "roster_version"))


IntegrityError = sqlite3.IntegrityError
