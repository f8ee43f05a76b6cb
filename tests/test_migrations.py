"""Schema migrations: a database written by an earlier release upgrades in place with
nothing lost, a fresh one and an upgraded one end up the same shape, and a database newer
than the code is refused with a clear message."""
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from common import migrations
from common.db import connect, init_schema, transaction

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


def release_database(tmp_path, kind, release="0.1.0"):
    """A database file as release `release` left it (its SQL dump, made by that release's code)."""
    path = tmp_path / f"{kind}-{release}.sqlite"
    # The dump lists tables by name, so rows may come before the table they refer to.
    loader = sqlite3.connect(path)
    loader.executescript((FIXTURES / f"release-{release}-{kind}.sql").read_text())
    loader.close()
    return path, connect(path)


def shape(conn):
    """Every table's columns (name, type, not null, default) and every index and trigger name."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    columns = {t: sorted((c[1], c[2], c[3], c[4]) for c in conn.execute(f"PRAGMA table_info([{t}])"))
               for t in tables}
    others = sorted(tuple(r) for r in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_%'"))
    return columns, others


def rows(conn, table):
    return [tuple(r) for r in conn.execute(f"SELECT * FROM [{table}] ORDER BY rowid")]


@pytest.mark.parametrize("kind", ["admin", "kiosk"])
def test_a_database_of_the_previous_release_upgrades_in_place_with_nothing_lost(tmp_path, kind):
    path, old = release_database(tmp_path, kind)
    tables = [r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    before = {t: rows(old, t) for t in tables}
    old.close()
    if kind == "kiosk":
        # Changed on purpose: the kiosk pulls its whole roster again (languages); see the next test.
        before["meta"] = [("roster_version", "0") if r[0] == "roster_version" else r for r in before["meta"]]

    conn = connect(path)
    init_schema(conn, kind, path)
    init_schema(conn, kind, path)   # and again: nothing more to do
    for table, old_rows in before.items():
        old_width = len(old_rows[0]) if old_rows else 0
        # Columns added by migrations come after the old ones: the old values are all still there.
        assert [r[:old_width] for r in rows(conn, table)] == old_rows, table
    applied = [r["name"] for r in conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id", (f"fitwerk-{kind}",))]
    assert applied == [m.name for m in migrations.SETS[kind]._migrations]

    fresh = connect(tmp_path / "fresh.sqlite")
    init_schema(fresh, kind)
    assert shape(conn) == shape(fresh)


def test_an_upgraded_kiosk_pulls_its_whole_roster_again_to_learn_each_persons_language(tmp_path):
    path, old = release_database(tmp_path, "kiosk")
    old.close()
    conn = connect(path)
    init_schema(conn, "kiosk", path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'roster_version'").fetchone()[0] == "0"
    assert [tuple(r) for r in conn.execute("SELECT first_name, language FROM roster_people")] == \
        [("Anoeshka", "nl"), ("Mohamed", "nl")]


def test_the_previous_releases_data_still_reads_after_the_upgrade(tmp_path):
    path, old = release_database(tmp_path, "admin")
    old.close()
    conn = connect(path)
    init_schema(conn, "admin", path)
    names = {r["first_name"] for r in conn.execute("SELECT first_name FROM participants")}
    assert names == {"Anoeshka", "Mohamed"}
    assert conn.execute("SELECT COUNT(*) FROM checkins").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0] == 1
    generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    init_schema(conn, "admin", path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0] == generation


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path, conn = release_database(tmp_path, "admin")
    failing = migrations.Migrations("fitwerk-admin")

    @failing(name="0001_follow_up_mail_and_login_client")
    def _half(db):
        db.execute("ALTER TABLE follow_ups ADD COLUMN half_done TEXT")
        raise RuntimeError("disk full, say")

    monkeypatch.setitem(migrations.SETS, "admin", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        init_schema(conn, "admin", path)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(follow_ups)")}
    assert "half_done" not in columns
    assert not conn.execute("SELECT name FROM sqlite_master WHERE name = '_sqlite_migrations'").fetchall()


def make_newer(path, kind):
    conn = connect(path)
    init_schema(conn, kind, path)
    conn.execute("INSERT INTO _sqlite_migrations(migration_set, name, applied_at) VALUES (?, ?, ?)",
                 (f"fitwerk-{kind}", "9999_from_the_future", "2030-01-01 00:00:00"))
    conn.close()


@pytest.mark.parametrize("kind", ["admin", "kiosk"])
def test_a_database_newer_than_the_code_is_refused_and_left_alone(tmp_path, kind):
    path = tmp_path / f"{kind}.sqlite"
    make_newer(path, kind)
    conn = connect(path)
    with pytest.raises(migrations.NewerDatabase, match="9999_from_the_future"):
        init_schema(conn, kind, path)
    assert conn.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0] == len(
        migrations.SETS[kind]._migrations) + 1


def test_the_kiosk_will_not_start_on_a_newer_database(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    make_newer(path, "kiosk")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "kiosk", "init-db"], cwd=REPO,
                            env={"KIOSK_DB": str(path), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "upgraded by a newer fitwerk (migration 9999_from_the_future)" in result.stderr
    assert "Traceback" not in result.stderr


def test_transactions_nest_as_savepoints(tmp_path):
    conn = connect(tmp_path / "t.sqlite")
    conn.execute("CREATE TABLE t (x)")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError):
            with transaction(conn):
                conn.execute("INSERT INTO t VALUES (2)")
                raise ValueError
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (3)")
        assert conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT x FROM t")] == [1, 3]
