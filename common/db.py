"""SQLite connections and the schema in schema.sql, for both databases."""
import re
import secrets
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from common import migrations

# common/schema.sql links to the top-level schema.sql, so an installed package carries it too.
SCHEMA_PATH = Path(__file__).resolve().parent / "schema.sql"
SECTIONS = {"admin": ("shared", "admin"), "kiosk": ("shared", "kiosk")}


def connect(path, *, check_same_thread=True):
    """Open a connection with the settings every process relies on."""
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None,
                           check_same_thread=check_same_thread)
    conn.row_factory = sqlite3.Row
    # WAL lets the screen read while the reader writes; FULL makes a commit survive
    # a power cut, which "saved" on the kiosk promises.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    # Erased and purged personal data must be gone from the file, not only unlinked.
    conn.execute("PRAGMA secure_delete=ON")
    return conn


def schema_sections(text=None):
    """Split schema.sql into {section name: sql}."""
    text = SCHEMA_PATH.read_text() if text is None else text
    parts = re.split(r"^-- @section (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def schema_statements(kind):
    """The statements of schema.sql for a database of `kind`, one at a time."""
    sections = schema_sections()
    buffer = ""
    for name in SECTIONS[kind]:
        for line in sections[name].splitlines(keepends=True):
            buffer += line
            if sqlite3.complete_statement(buffer):
                yield buffer.strip()
                buffer = ""


def init_schema(conn, kind, path=""):
    """Create or upgrade the database of `kind` ('admin' or 'kiosk'); idempotent.

    Under one write lock, so two processes starting together do not both migrate:
    pending migrations first (each in its own savepoint), then schema.sql."""
    db = database(conn)
    with transaction(conn):
        migrations.refuse_newer(db, kind, path)
        migrations.SETS[kind].apply(db)
        for statement in schema_statements(kind):
            conn.execute(statement)
        # The generation id tells a re-created database apart from the old one.
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', ?)",
                     (secrets.token_hex(8),))
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('kind', ?)", (kind,))


def get_meta(conn, key, default=None):
    """Read one meta value."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn, key, value):
    """Write one meta value."""
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, str(value)))


class transaction:
    """`with transaction(conn):` BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error.

    Inside an open transaction it is a savepoint instead, so a helper that needs one can be
    called on its own or from within a larger one: only the outermost block commits."""

    def __init__(self, conn):
        self.conn = conn
        self.savepoint = None

    def __enter__(self):
        if self.conn.in_transaction:
            self.savepoint = f"nested_{secrets.token_hex(8)}"
            self.conn.execute(f"SAVEPOINT {self.savepoint}")
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        if self.savepoint is None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        elif exc_type:
            self.conn.execute(f"ROLLBACK TO {self.savepoint}")
            self.conn.execute(f"RELEASE {self.savepoint}")
        else:
            self.conn.execute(f"RELEASE {self.savepoint}")
        return False


def database(conn):
    """sqlite-utils' Database over an open connection, for its table helpers (no pragma
    changed, no plugin run: the connection stays as connect() made it)."""
    return Database(conn, recursive_triggers=False, execute_plugins=False)


def all_of(*conditions):
    """('a AND b', arguments) from (sql fragment, *arguments) conditions; a condition that
    is None or has a None argument is left out (no filter asked for). ('1', []) when none
    is left, so `WHERE {clause}` always reads right."""
    used = [c for c in conditions if c is not None and None not in c[1:]]
    if not used:
        return "1", []
    return " AND ".join(c[0] for c in used), [arg for c in used for arg in c[1:]]
