"""Demo data for `make demo` and screenshots: staff, three groups, participants, badges."""
from datetime import timedelta

from common.clock import utc_now
from common.db import get_meta, set_meta, transaction
from common.schedule import local_date

from . import programme
from .auth import hash_password
from .db import now_iso

LOCATION = "Rotterdam-Zuid"
STAFF = [("beheer@fitwerk.test", "admin", "Beheer"), ("coordinator@fitwerk.test", "coordinator", "Carla de Wit"),
         ("coach@fitwerk.test", "lifecoach", "Lars Visser"), ("fysio@fitwerk.test", "physio", "Fenna Bakker")]
PHYSIO_BADGE = "0102030405060AAA"
PEOPLE = ["Anoeshka", "Mohamed", "Fatima", "Kees", "Sanne", "Priya", "Dewi", "Joost",
          "Aylin", "Ricardo", "Marieke", "Youssef", "Nadia", "Bram", "Esra", "Henk"]
LAST_NAMES = ["Ramdin", "El Amrani", "Bouzid", "de Vries", "Jansen", "Kalloe", "Setiawan", "Smit",
              "Yilmaz", "Martina", "Bos", "Haddou", "Mulder", "Dekker", "Demir", "van Dijk"]


def demo_badge(index):
    """The FeliCa IDm of demo participant `index` (0-based)."""
    return f"01010501B00A{index + 1:04X}"


def seed(conn, password):
    """Insert the demo data once; yields lines describing it."""
    if get_meta(conn, "demo_seeded"):
        yield "demo data already present"
        return
    with transaction(conn):
        for email, role, name in STAFF:
            conn.execute("INSERT OR IGNORE INTO staff(email, name, role, password_hash, phone, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (email, name, role, hash_password(password),
                                                      "010-1234567", now_iso()))
        set_meta(conn, "demo_seeded", now_iso())
    coach = conn.execute("SELECT id FROM staff WHERE email = 'coach@fitwerk.test'").fetchone()["id"]
    physio = conn.execute("SELECT id FROM staff WHERE email = 'fysio@fitwerk.test'").fetchone()["id"]
    today = local_date(utc_now(), "Europe/Amsterdam")
    monday = today - timedelta(days=today.weekday() + 21)
    groups = [
        ("Groep A", [(0, "09:00", "12:00"), (2, "09:00", "12:00"), (4, "09:00", "12:00")]),
        ("Groep B", [(1, "13:00", "16:00"), (3, "13:00", "16:00"), (4, "13:00", "16:00")]),
        # Every day, all day: so a demo tap at any hour has a session to count for.
        ("Groep Demo", [(d, "00:00", "23:59") for d in range(7)]),
    ]
    ids = []
    for name, slots in groups:
        ids.append(programme.create_group(conn, {
            "name": name, "location": LOCATION, "starts_on": monday.isoformat(), "weeks": 12,
            "grace_minutes": 10, "sessions": [{"weekday": d, "start": s, "end": e} for d, s, e in slots]},
            "Europe/Amsterdam"))
    for i, first in enumerate(PEOPLE):
        programme.create_participant(conn, {
            "first_name": first, "last_name": LAST_NAMES[i], "group_id": ids[2] if i < 8 else ids[i % 2],
            "badge_uid": demo_badge(i), "lifecoach_id": coach, "phone": f"06-1234{i:04d}"})
    programme.assign_staff_badge(conn, physio, PHYSIO_BADGE)
    yield f"demo staff (password '{password}'): " + ", ".join(f"{e} ({r})" for e, r, _ in STAFF)
    yield f"demo groups at {LOCATION}: Groep A, Groep B, Groep Demo (a session every day, all day)"
    yield f"demo badges: {demo_badge(0)} ({PEOPLE[0]}) … {demo_badge(len(PEOPLE) - 1)}; physio badge {PHYSIO_BADGE}"
