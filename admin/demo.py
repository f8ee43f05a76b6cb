"""Demo data for `make demo` and screenshots: staff, three groups, participants, badges,
and three weeks of history (check-ins, excuses, follow-ups, measurements)."""
import json
import random
import uuid
from datetime import timedelta

from common.clock import iso, utc_now
from common.db import get_meta, set_meta, transaction
from common.schedule import local_date, sessions_on

from . import programme
from .attendance import load_groups
from .auth import SYSTEM, hash_password
from .db import now_iso

LOCATION = "Rotterdam-Zuid"
STAFF = [("beheer@fitwerk.test", "admin", "Beheer"), ("coordinator@fitwerk.test", "coordinator", "Carla de Wit"),
         ("coach@fitwerk.test", "lifecoach", "Lars Visser"), ("fysio@fitwerk.test", "physio", "Fenna Bakker"),
         ("coach2@fitwerk.test", "lifecoach", "Samira Ouali"), ("trainer@fitwerk.test", "trainer", "Tim Koster"),
         ("arts@fitwerk.test", "doctor", "Dr. Ingrid Vos")]
EXCUSE_REASONS = ["tandarts", "sollicitatiegesprek", "ziek", "afspraak gemeente", "kind ziek"]
ABSENCE_REASONS = ["verslapen", "bus reed niet", "vergeten", "zich niet lekker gevoeld"]
PHYSIO_BADGE = "0102030405060AAA"
PHYSIO_PIN = "2468"  # the station asks it after the physio's badge
DEMO_MEN = {"Mohamed", "Kees", "Joost", "Ricardo", "Youssef", "Bram", "Henk", "Piet", "Rob", "Sem", "Daan"}
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
                                                      f"010-12345{len(name):02d}", now_iso()))
        set_meta(conn, "demo_seeded", now_iso())
    coach = conn.execute("SELECT id FROM staff WHERE email = 'coach@fitwerk.test'").fetchone()["id"]
    coach2 = conn.execute("SELECT id FROM staff WHERE email = 'coach2@fitwerk.test'").fetchone()["id"]
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
        programme.create_participant(conn, SYSTEM, {
            "first_name": first, "last_name": LAST_NAMES[i], "group_id": ids[2] if i < 8 else ids[i % 2],
            "badge_uid": demo_badge(i), "lifecoach_id": coach if i % 3 else coach2, "phone": f"06-1234{i:04d}",
            # Most have a sex and birth date for the scale; the last one shows the station's weight-only path.
            **({} if i == len(PEOPLE) - 1 else {"sex": "male" if first in DEMO_MEN else "female",
                                                 "birth_date": f"{1968 + 3 * i % 35}-0{1 + i % 9}-1{i % 10}"})})
    programme.assign_staff_badge(conn, physio, PHYSIO_BADGE)
    programme.set_pin(conn, physio, PHYSIO_PIN)
    _seed_history(conn, monday, physio, coach)
    from .demo_outcomes import seed_outcomes
    seed_outcomes(conn, today, [coach, coach2], physio, ids[:2])
    yield f"demo staff (password '{password}'): " + ", ".join(f"{e} ({r})" for e, r, _ in STAFF)
    yield (f"demo groups at {LOCATION}: Groep A, Groep B, Groep Demo (a session every day, all day), "
           "and Groep Voorjaar (finished: goals, handover, work found)")
    yield (f"demo badges: {demo_badge(0)} ({PEOPLE[0]}) … {demo_badge(len(PEOPLE) - 1)}; physio badge {PHYSIO_BADGE}, "
           f"station PIN {PHYSIO_PIN}")


def _seed_history(conn, monday, physio, coach):
    """Past sessions with check-ins (mostly on time), excuses, closed follow-ups and
    measurements, recorded by a retired 'archief' kiosk so they do not sway today's board."""
    rng = random.Random(7)  # the same demo every time
    now = utc_now()
    today = local_date(now, "Europe/Amsterdam")
    kiosk_id = str(uuid.uuid4())
    with transaction(conn):
        # Enrolled a week before the start, so the first weeks are theirs.
        conn.execute("UPDATE participants SET created_at = ?", (iso((now - timedelta(days=(today - monday).days + 7)).timestamp()),))
        conn.execute("INSERT INTO kiosks(id, name, location, token_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (kiosk_id, "archief", LOCATION, uuid.uuid4().hex, now_iso(), now_iso()))
        seq = 0
        people = conn.execute("SELECT p.id, p.group_id, p.lifecoach_id, b.uid FROM participants p "
                              "JOIN badges b ON b.participant_id = p.id AND b.revoked_at IS NULL").fetchall()
        groups = {g.id: g for g in load_groups(conn)}
        for person in people:
            group = groups[person["group_id"]]
            day = monday
            while day < today:
                for session in sessions_on(group, day):
                    roll = rng.random()
                    if roll < 0.80:
                        at = session.start + timedelta(minutes=rng.randint(-20, 8))
                    elif roll < 0.88:
                        at = session.start + timedelta(minutes=rng.randint(12, 40))
                    elif roll < 0.94:
                        conn.execute("INSERT INTO excuses(participant_id, date, reason, created_by, created_at) "
                                     "VALUES (?, ?, ?, ?, ?)", (person["id"], day.isoformat(),
                                                                 rng.choice(EXCUSE_REASONS), coach, now_iso()))
                        continue
                    else:
                        opened = iso((session.grace_until + timedelta(minutes=1)).timestamp())
                        conn.execute(
                            "INSERT OR IGNORE INTO follow_ups(participant_id, session_date, session_start, group_id, "
                            "lifecoach_id, opened_at, contacted, reason, excused, note, next_step, closed_at, "
                            "updated_at, picked_up_at, resolution, mail_result) "
                            "VALUES (?, ?, ?, ?, ?, ?, 'reached', ?, 0, 'Gebeld, afspraak herhaald.', "
                            "'Volgende sessie extra aandacht', ?, ?, ?, 'handled', 'demo')",
                            (person["id"], day.isoformat(), session.start_local, group.id, person["lifecoach_id"],
                             opened, rng.choice(ABSENCE_REASONS), opened, opened, opened))
                        continue
                    seq += 1
                    conn.execute(
                        "INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
                        "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
                        "VALUES (?, ?, 'demo', ?, ?, ?, ?, ?, ?, 'synced', ?, 1, 'demo', 0, ?)",
                        (str(uuid.uuid4()), kiosk_id, seq, person["uid"], person["id"],
                         session.tap_result(at), iso(at.timestamp()), day.isoformat(), iso(at.timestamp()),
                         iso(at.timestamp())))
                day += timedelta(days=1)
        for person in people[:6]:
            weight, fat = rng.uniform(78, 104), rng.uniform(26, 38)
            systolic, diastolic = rng.randint(132, 150), rng.randint(84, 96)
            for week in range(0, (today - monday).days // 7 + 1):
                at = now - timedelta(days=(today - monday).days - 7 * week - 1)
                if at > now:
                    break
                manual = week == 1
                values = {"weight_kg": round(weight - 0.7 * week + rng.uniform(-.3, .3), 1),
                          "fat_pct": round(fat - 0.5 * week + rng.uniform(-.3, .3), 1),
                          "bmi": round((weight - 0.7 * week) / 1.75 ** 2, 1),
                          "systolic_mmhg": systolic - 3 * week + rng.randint(-3, 3),
                          "diastolic_mmhg": diastolic - 2 * week + rng.randint(-2, 2),
                          "pulse_bpm": rng.randint(64, 84)}
                sources = {"scale": {"driver": "tanita-bc418", "device_model": "BC-418", "device_serial": "BC418-0042"},
                           "bp": ({"manual": True, "reason": "bloeddrukmeter gaf foutmelding E2"} if manual else
                                  {"driver": "omron-hbp9030", "device_model": "HBP-9030", "device_serial": "HBP-77120"})}
                seq += 1
                conn.execute(
                    "INSERT INTO measurements(id, kiosk_id, generation, seq, participant_id, taken_by, moment, "
                    "values_json, sources_json, at, time_source, kiosk_wall_at, received_at) "
                    "VALUES (?, ?, 'demo', ?, ?, ?, ?, ?, ?, ?, 'synced', ?, ?)",
                    (str(uuid.uuid4()), kiosk_id, seq, person["id"], physio, "intake" if week == 0 else "other",
                     json.dumps(values), json.dumps(sources), iso(at.timestamp()), iso(at.timestamp()),
                     iso(at.timestamp())))
