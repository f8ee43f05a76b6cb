"""Demo data for the programme's results: a finished group of 16 (screening, load tests,
goals scored every week, handover notes, placements, the ladder) and goals for the
running groups, so the weekly page, the handover and the outcome report have something to show."""
import json
import random
import uuid
from datetime import timedelta

from . import goals as goal_rules
from . import outcomes, programme
from .auth import SYSTEM, Actor
from .db import now_iso

GOALS = [("physical", "de trap op naar de derde verdieping zonder te stoppen"),
         ("physical", "elke dag een half uur wandelen"),
         ("mental", "elke ochtend opstaan als de kinderen naar school gaan"),
         ("mental", "minder piekeren voor het slapen"),
         ("social", "één keer per week met een buurvrouw koffie drinken"),
         ("social", "zelf de bus nemen naar het wijkcentrum")]
FIRST = ["Gülşen", "Piet", "Khadija", "Rob", "Ilse", "Tarik", "Mirjam", "Sjaak",
         "Nour", "Wendy", "Hamza", "Els", "Rachid", "Tineke", "Omar", "Linda"]
LAST = ["Aydın", "Verbeek", "Benali", "Koster", "de Groot", "Amrani", "Smits", "Vermeulen",
        "Haddad", "Bakker", "Tahiri", "Visser", "Ouali", "Peters", "Saidi", "Kok"]


def seed_outcomes(conn, today, coaches, physio, running_groups):
    """The finished Groep Voorjaar and goals for the running groups."""
    rng = random.Random(12)
    trainer = Actor(conn.execute("SELECT id FROM staff WHERE role = 'trainer'").fetchone()[0], "trainer", "demo")
    doctor = Actor(conn.execute("SELECT id FROM staff WHERE role = 'doctor'").fetchone()[0], "doctor", "demo")
    starts = today - timedelta(days=today.weekday() + 7 * 12 + 7 * 30)     # ended some 30 weeks ago
    group = programme.create_group(conn, {
        "name": "Groep Voorjaar", "location": "Rotterdam-Zuid", "starts_on": starts.isoformat(), "weeks": 12,
        "grace_minutes": 10, "sessions": [{"weekday": d, "start": "09:00", "end": "12:00"} for d in (0, 2, 4)]},
        "Europe/Amsterdam")
    kiosk = conn.execute("SELECT id FROM kiosks WHERE name = 'archief'").fetchone()[0]
    seq = conn.execute("SELECT coalesce(max(seq), 0) FROM measurements WHERE kiosk_id = ?", (kiosk,)).fetchone()[0]
    end = starts + timedelta(days=84)
    for i, first in enumerate(FIRST):
        pid = programme.create_participant(conn, SYSTEM, {
            "first_name": first, "last_name": LAST[i], "group_id": group, "lifecoach_id": coaches[i % 2],
            "phone": f"06-2345{i:04d}", "status": "referred_in"})
        outcomes.record_screening(conn, doctor, pid, {"date": (starts - timedelta(days=14)).isoformat(),
                                                      "decision": "eligible"})
        weight, systolic, walk = rng.uniform(78, 110), rng.randint(130, 152), rng.uniform(330, 470)
        for moment, day, k in (("intake", starts - timedelta(days=10), 0), ("week12", end - timedelta(days=3), 1)):
            outcomes.record_load_test(conn, Actor(physio, "physio", "demo"), pid, {
                "moment": moment, "date": day.isoformat(), "walk_6min_m": round(walk + k * rng.uniform(20, 70)),
                "chair_stands_30s": rng.randint(8, 12) + 2 * k, "grip_left_kg": round(rng.uniform(18, 34), 1),
                "load_capacity": "moderate" if k == 0 else "good"})
            seq += 1
            at = f"{day.isoformat()}T09:30:00.000+00:00"
            conn.execute(
                "INSERT INTO measurements(id, kiosk_id, generation, seq, participant_id, taken_by, moment, values_json, "
                "sources_json, at, time_source, kiosk_wall_at, received_at) "
                "VALUES (?, ?, 'demo', ?, ?, ?, ?, ?, ?, ?, 'synced', ?, ?)",
                (str(uuid.uuid4()), kiosk, seq, pid, physio, moment,
                 json.dumps({"weight_kg": round(weight - k * rng.uniform(0.5, 4), 1),
                             "systolic_mmhg": systolic - k * rng.randint(2, 10), "diastolic_mmhg": 88 - 4 * k}),
                 json.dumps({"scale": {"driver": "tanita-bc418", "device_model": "BC-418", "device_serial": "BC418-0042"}}),
                 at, at, at))
        dropped = i in (5, 11)
        for domain, text in rng.sample(GOALS, 2 if i % 3 else 3):
            goal = goal_rules.add_goal(conn, trainer, pid, {"domain": domain, "text": text})
            final = rng.choices((-1, 0, 1, 2), weights=(8, 50, 32, 10))[0]
            for week in range(1, 7 if dropped else 13):
                goal_rules.score_week(conn, trainer, goal, week, {"score": round(-1 + (final + 1) * week / 12)})
        for day in (starts + timedelta(days=n) for n in range(42 if dropped else 84)):
            if day.weekday() in (0, 2, 4) and rng.random() < 0.86:
                seq += 1
                at = f"{day.isoformat()}T07:{rng.randint(40, 59)}:00.000+00:00"
                conn.execute(
                    "INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
                    "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
                    "VALUES (?, ?, 'demo-voorjaar', ?, ?, ?, 'on_time', ?, ?, 'synced', ?, 1, 'demo', 0, ?)",
                    (str(uuid.uuid4()), kiosk, seq, f"0101050200{i:06X}", pid, at, day.isoformat(), at, at))
        if dropped:
            conn.execute("UPDATE participants SET status = 'withdrawn', end_reason = ? WHERE id = ?",
                         ("verhuisd" if i == 5 else "gezondheid", pid))
            continue
        conn.execute("UPDATE participants SET status = 'active' WHERE id = ?", (pid,))
        outcomes.close_programme(conn, trainer, pid, "Komt graag, heeft veel vertrouwen gekregen in eigen kunnen.")
        for moment, rung in (("intake", 2), ("end", 3), ("m3", 3 + (i % 3 == 0)), ("m6", 3 + (i % 2))):
            outcomes.record_rung(conn, Actor(coaches[i % 2], "lifecoach", "demo"), pid,
                                 {"moment": moment, "rung": rung})
        if i % 2:
            outcomes.record_placement(conn, Actor(coaches[i % 2], "lifecoach", "demo"), pid, {
                "kind": "volunteer" if i % 4 == 1 else "paid_work",
                "starts_on": (end + timedelta(days=40 + 7 * i)).isoformat(), "hours_per_week": 8 + 2 * (i % 5)})
    # The running groups: goals set at the start and scored up to last week.
    week_now = (today - (today - timedelta(days=today.weekday() + 21))).days // 7
    for person in conn.execute("SELECT id FROM participants WHERE group_id IN (?, ?) ORDER BY id",
                               running_groups).fetchall():
        for domain, text in rng.sample(GOALS, 2):
            goal = goal_rules.add_goal(conn, trainer, person[0], {"domain": domain, "text": text})
            for week in range(1, week_now):
                goal_rules.score_week(conn, trainer, goal, week, {"score": rng.choice((-1, -1, 0, 0, 1))})
    conn.execute("UPDATE meta SET value = ? WHERE key = 'demo_seeded'", (now_iso(),))
