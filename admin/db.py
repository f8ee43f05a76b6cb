"""The admin database: one connection per request on `g`, `init-db` at start-up."""
import sqlite3

from flask import current_app, g

from common import db as common_db
from common.clock import utc_now
from common.migrations import NewerDatabase


def get_db():
    """This request's connection to the admin database."""
    if "db" not in g:
        g.db = common_db.connect(current_app.config["ADMIN_DB"])
    return g.db


def close_db(_exc=None):
    """Close the request's connection."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


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
    return utc_now().isoformat(timespec="milliseconds")


def bump_roster(conn):
    """Next roster version: every change a kiosk must learn about takes one."""
    conn.execute("INSERT INTO meta(key, value) VALUES ('roster_version', '1') "
                 "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
    return int(common_db.get_meta(conn, "roster_version"))


IntegrityError = sqlite3.IntegrityError
