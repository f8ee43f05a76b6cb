"""Named schema migrations for both databases, with sqlite-utils' Migrations (recorded in
the table `_sqlite_migrations`).

schema.sql is the current shape of a database: a new file is made from it. A migration
brings a file written by an earlier release up to that shape where CREATE … IF NOT EXISTS
cannot: a column added to an existing table, a table rebuilt, data moved. Migrations run
before schema.sql on every start, so a table that does not exist yet is left to schema.sql,
which then creates it whole (see add_column).

To add one: a function under `@admin(name="NNNN_what")` or `@kiosk(...)`, numbered after
the last, taking the sqlite_utils Database; and the same change in schema.sql.
"""
from sqlite_utils.migrations import Migrations

from common.chain import GENESIS, entry_hash

admin = Migrations("fitwerk-admin")
kiosk = Migrations("fitwerk-kiosk")
SETS = {"admin": admin, "kiosk": kiosk}


class NewerDatabase(RuntimeError):
    """The database was migrated by a newer fitwerk than this code."""


def add_column(db, table, column, declaration):
    """ALTER TABLE … ADD COLUMN, unless the table is not there yet (schema.sql makes it whole)
    or already has the column."""
    if db[table].exists() and column not in db[table].columns_dict:
        db.execute(f"ALTER TABLE [{table}] ADD COLUMN [{column}] {declaration}")


def refuse_newer(db, kind, path=""):
    """Raise NewerDatabase when the file records migrations this code does not know."""
    migrations = SETS[kind]
    known = {m.name for m in migrations._migrations}
    unknown = [m.name for m in migrations.applied(db) if m.name not in known]
    if unknown:
        raise NewerDatabase(
            f"the {kind} database {path} was upgraded by a newer fitwerk (migration "
            f"{', '.join(unknown)}); install that version or newer, or restore a backup")


def widen_check(db, table, old, new):
    """Replace `old` by `new` in a table's CHECK constraint, in place. Only for a constraint
    that now allows more, so every stored row still satisfies it (SQLite's documented way
    to change a constraint without rebuilding the table: edit the schema text, bump the
    schema version so every connection reads it again, check the file)."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()
    if sql is None or old not in sql[0]:
        return
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", [sql[0].replace(old, new), table])
    db.execute(f"PRAGMA schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    problem = db.execute("PRAGMA integrity_check").fetchone()[0]
    if problem != "ok":
        raise RuntimeError(f"{table}: integrity check after widening its constraint: {problem}")


# --- the admin database --------------------------------------------------------------

@admin(name="0001_follow_up_mail_and_login_client")
def _follow_up_mail_and_login_client(db):
    # Release 0.1.0 added these with a list checked at every start; a file from before
    # that list may lack any of them.
    for column, declaration in [("group_id", "INTEGER"), ("picked_up_at", "TEXT"),
                                ("closed_by", "INTEGER"), ("updated_by", "INTEGER"),
                                ("resolution", "TEXT"), ("mail_claimed_at", "TEXT"),
                                ("mail_sent_at", "TEXT"), ("mail_result", "TEXT"),
                                ("escalation_mailed_at", "TEXT")]:
        add_column(db, "follow_ups", column, declaration)
    add_column(db, "login_failures", "client", "TEXT NOT NULL DEFAULT ''")


@admin(name="0002_participant_language")
def _participant_language(db):
    add_column(db, "participants", "language", "TEXT NOT NULL DEFAULT 'nl'")


@admin(name="0003_audit_hash_chain")
def _audit_hash_chain(db):
    # Entries written before the chain existed are chained now, in order; the old
    # no-delete trigger gives way to one that lets retention cut behind a checkpoint.
    if not db["audit_log"].exists():
        return
    add_column(db, "audit_log", "prev_hash", "TEXT")
    add_column(db, "audit_log", "hash", "TEXT")
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    previous = GENESIS
    for row in db.query("SELECT * FROM audit_log ORDER BY id"):
        digest = entry_hash(previous, row)
        db.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", [previous, digest, row["id"]])
        previous = digest


@admin(name="0004_participant_legal_hold_and_erasure")
def _participant_legal_hold_and_erasure(db):
    for column in ("legal_hold", "anonymised_at", "erased_at"):
        add_column(db, "participants", column, "TEXT")


@admin(name="0005_badge_format")
def _badge_format(db):
    # Badges enrolled before keyboard-wedge readers were all tapped on NFC readers: hex UIDs.
    add_column(db, "badges", "format", "TEXT NOT NULL DEFAULT 'hex'")


@admin(name="0006_kiosk_role_and_record_flags")
def _kiosk_role_and_record_flags(db):
    # The server decides a kiosk's role now. A kiosk registered before kept the role it
    # last reported; one that never reported one is a check-in kiosk.
    add_column(db, "kiosks", "role", "TEXT")
    if db["kiosks"].exists():
        db.execute("UPDATE kiosks SET role = 'checkin' WHERE role IS NULL OR role NOT IN ('checkin', 'station')")
    add_column(db, "checkins", "flag", "TEXT")
    add_column(db, "measurements", "flag", "TEXT")


@admin(name="0007_participant_sex_and_birth_date")
def _participant_sex_and_birth_date(db):
    # What a body-composition scale computes with; NULL (unknown) means weight only.
    add_column(db, "participants", "sex", "TEXT CHECK (sex IN ('male', 'female'))")
    add_column(db, "participants", "birth_date", "TEXT")


@admin(name="0008_staff_pin")
def _staff_pin(db):
    add_column(db, "staff", "pin_hash", "TEXT")


@admin(name="0009_programme_path")
def _programme_path(db):
    # Referral before intake, and the trainer and doctor among the staff.
    widen_check(db, "participants", "CHECK (status IN ('intake', ",
                "CHECK (status IN ('referred_in', 'intake', ")
    widen_check(db, "staff", "'lifecoach', 'physio'))", "'lifecoach', 'physio', 'trainer', 'doctor'))")
    add_column(db, "participants", "end_reason", "TEXT")


@admin(name="0010_measurement_details")
def _measurement_details(db):
    # Contraindications, skipped instruments, the blood-pressure series, confirmed warnings.
    add_column(db, "measurements", "details_json", "TEXT NOT NULL DEFAULT '{}'")


@admin(name="0011_session_moved_to_another_day")
def _session_moved_to_another_day(db):
    # A session held on another date (the gym closed on its own day).
    add_column(db, "calendar_changes", "moved_to", "TEXT")


# --- the kiosk database --------------------------------------------------------------

def add_roster_columns(db, table, *columns):
    """Add (column, declaration) pairs a kiosk roster table lacks; when any was missing, pull
    the whole roster again (version 0), so the rows already held come down with the new fields."""
    if not db[table].exists():
        return
    missing = [(column, declaration) for column, declaration in columns if column not in db[table].columns_dict]
    for column, declaration in missing:
        add_column(db, table, column, declaration)
    if missing:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'roster_version'")


@kiosk(name="0001_roster_people_language")
def _roster_people_language(db):
    add_roster_columns(db, "roster_people", ("language", "TEXT NOT NULL DEFAULT 'nl'"))


@kiosk(name="0002_roster_sex_and_birth_year")
def _roster_sex_and_birth_year(db):
    # A station's roster carries them for the scale; a check-in kiosk's leaves them NULL.
    add_roster_columns(db, "roster_people", ("sex", "TEXT"), ("birth_year", "INTEGER"))


@kiosk(name="0003_station_pin")
def _station_pin(db):
    add_column(db, "station_state", "pin_staff_id", "INTEGER")
    add_column(db, "station_state", "pin_staff_role", "TEXT")
    add_column(db, "station_state", "pin_uid", "TEXT")
    add_column(db, "station_state", "pin_epoch", "REAL")
    add_roster_columns(db, "roster_badges", ("pin_hash", "TEXT"))   # staff badges again, with PINs


@kiosk(name="0004_roster_groups_calendar")
def _roster_groups_calendar(db):
    # Cancelled and moved sessions come down with the roster.
    add_roster_columns(db, "roster_groups", ("calendar_json", "TEXT NOT NULL DEFAULT '[]'"))


@kiosk(name="0005_roster_station_facts")
def _roster_station_facts(db):
    # What is done per moment and the standing answers.
    add_roster_columns(db, "roster_people", ("station_json", "TEXT NOT NULL DEFAULT '{}'"))
