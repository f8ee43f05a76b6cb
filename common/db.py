"""SQLite connections and the schema in schema.sql, for both databases."""
import re
import secrets
import sqlite3
from pathlib import Path

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
    return conn


def schema_sections(text=None):
    """Split schema.sql into {section name: sql}."""
    text = SCHEMA_PATH.read_text() if text is None else text
    parts = re.split(r"^-- @section (\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


# Columns added to a table after it first shipped. CREATE TABLE IF NOT EXISTS leaves an
# existing table as it is, so init_schema adds these when they are missing.
ADDED_COLUMNS = {
    "admin": [
        ("login_failures", "client", "TEXT NOT NULL DEFAULT ''"),
        ("follow_ups", "group_id", "INTEGER"),
        ("follow_ups", "picked_up_at", "TEXT"),
        ("follow_ups", "closed_by", "INTEGER"),
        ("follow_ups", "updated_by", "INTEGER"),
        ("follow_ups", "resolution", "TEXT"),
        ("follow_ups", "mail_claimed_at", "TEXT"),
        ("follow_ups", "mail_sent_at", "TEXT"),
        ("follow_ups", "mail_result", "TEXT"),
        ("follow_ups", "escalation_mailed_at", "TEXT"),
    ],
    "kiosk": [],
}


def add_missing_columns(conn, kind):
    """ALTER TABLE … ADD COLUMN for every column of ADDED_COLUMNS a table lacks; idempotent."""
    # Under the write lock: two workers starting at once must not both add a column.
    with transaction(conn):
        for table, column, declaration in ADDED_COLUMNS[kind]:
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def init_schema(conn, kind):
    """Create or migrate the database of `kind` ('admin' or 'kiosk'); idempotent."""
    sections = schema_sections()
    for name in SECTIONS[kind]:
        conn.executescript(sections[name])
    add_missing_columns(conn, kind)
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
    """`with transaction(conn):` BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
