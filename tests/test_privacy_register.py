"""docs/privacy.md names every table and column of both databases with its purpose, legal
basis, who may see it, where it lives and its retention: a field the register does not
name, or one it names that no longer exists, fails here."""
import re
from pathlib import Path

import pytest

from common.db import connect, init_schema

REGISTER = Path(__file__).resolve().parent.parent / "docs" / "privacy.md"


def register():
    """{table: {columns}} as docs/privacy.md names them (### table, then | `column` | rows)."""
    tables, current = {}, None
    for line in REGISTER.read_text().splitlines():
        heading = re.match(r"### (\w+)\s*$", line)
        if heading:
            current = tables.setdefault(heading.group(1), set())
        elif line.startswith("## "):
            current = None
        elif current is not None:
            column = re.match(r"\| `(\w+)` \|", line)
            if column:
                current.add(column.group(1))
    return tables


def schema(tmp_path, kind):
    conn = connect(tmp_path / f"{kind}.sqlite")
    init_schema(conn, kind)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%'")]
    return {t: {c[1] for c in conn.execute(f"PRAGMA table_info([{t}])")} for t in names}


@pytest.mark.parametrize("kind", ["admin", "kiosk"])
def test_every_table_and_column_is_in_the_register(tmp_path, kind):
    named = register()
    missing = {table: sorted(columns - named.get(table, set()))
               for table, columns in schema(tmp_path, kind).items() if columns - named.get(table, set())}
    assert not missing, f"docs/privacy.md does not name these fields of the {kind} database: {missing}"


def test_the_register_names_nothing_that_does_not_exist(tmp_path):
    actual = {}
    for kind in ("admin", "kiosk"):
        for table, columns in schema(tmp_path, kind).items():
            actual.setdefault(table, set()).update(columns)
    stale = {table: sorted(columns - actual.get(table, set()))
             for table, columns in register().items() if columns - actual.get(table, set())}
    assert not stale, f"docs/privacy.md names fields that no longer exist: {stale}"


def test_the_register_gives_every_table_a_basis_a_place_and_a_retention():
    text = REGISTER.read_text()
    sections = re.split(r"^### ", text.split("## Admin database", 1)[1].split("## Kiosk database")[0], flags=re.M)[1:]
    for section in sections:
        name, body = section.split("\n", 1)
        intro = body.split("| field |")[0]
        assert "Retention" in intro or "retention" in intro.lower(), f"{name}: no retention"
        if name not in ("meta", "_sqlite_migrations"):
            assert "Basis:" in intro and "Where:" in intro, f"{name}: no legal basis or place"


def test_every_table_of_a_persons_data_has_a_retention_rule(tmp_path):
    from admin.privacy import BLANKED, KEPT_ON_ERASURE, PERSON_KINDS
    ruled = set(KEPT_ON_ERASURE) | set(BLANKED) | {"badges"}   # badges go when the person is anonymised
    for kind in PERSON_KINDS:
        ruled |= set(kind.tables) | set(kind.blanked)
    personal = {table for table, columns in schema(tmp_path, "admin").items() if "participant_id" in columns}
    assert personal - ruled == set(), "tables of a person's data that no retention kind covers"
