"""A year of programme history in an admin database, for the attendance view and the staff
load: 40 groups of 18 in session today at four locations, and the earlier cohorts of the
past year, so the check-ins table holds at least 200,000 rows.

Today: every current group (started 1-11 weeks ago, three half-days a week) has a session
today; the even ones started 40 minutes ago (grace over: present, late, excused, absent),
the odd ones start in 25 minutes (expected; a few early check-ins). History: earlier
cohorts of 18 (status `completed`) spread over the past year, each with its 36 sessions —
80 % on time, 8 % late, 6 % excused in advance, 6 % absent with a closed follow-up case —
as many cohorts as it takes to reach the check-in count. Groups, participants, badges,
staff and kiosks are made by the admin's own functions and CLI commands; the history rows
go in with executemany, numbered per kiosk with seq 1..n, as ingest would have stored them.
Ten kiosks (kiosk-01..10 over the four locations) have delivered everything up to now.
Schedules do not cross midnight, so today's sessions are kept inside the day: in a run
late in the evening every group is past its grace.
"""
import json
import random
import shutil
import time
import uuid
from datetime import datetime, timedelta, timezone

from common.clock import iso, utc_now
from common.schedule import local_date, sessions_on

from ._procs import PASSWORD, TZ

LOCATIONS = ("Rotterdam-Zuid", "Rotterdam-Noord", "Schiedam", "Vlaardingen")
KIOSKS = 10
COACHES = 6
FIRST_NAMES = ("Anoeshka", "Mohamed", "Fatima", "Kees", "Sanne", "Priya", "Dewi", "Joost", "Aylin",
               "Ricardo", "Marieke", "Youssef", "Nadia", "Bram", "Esra", "Henk", "Lotte", "Sem")
ADMIN_EMAIL, BOARD_EMAIL = "beheer@bench.test", "coordinator@bench.test"
HISTORY_SLOTS = (((0, "09:00", "12:00"), (2, "09:00", "12:00"), (4, "09:00", "12:00")),
                 ((1, "13:00", "16:00"), (3, "13:00", "16:00"), (4, "13:00", "16:00")))


def kiosk_location(index):
    """The location of kiosk number `index` (0-based): 3, 3, 2, 2 kiosks."""
    return LOCATIONS[[0, 0, 0, 1, 1, 1, 2, 2, 3, 3][index]]


def current_uid(group_no, person_no):
    """Badge (FeliCa IDm) of person `person_no` of current group `group_no`."""
    return f"0101{group_no:06X}{person_no:06X}"


def get(cache, workdir, *, groups=40, people=18, checkins=200_000, participants=None):
    """The dataset for this run: built once into `workdir`, then reused. Returns its info."""
    key = ("dataset", groups, people, checkins, participants)
    if key not in cache:
        cache[key] = build(workdir / f"dataset-{groups}x{people}-{checkins}-{participants}.sqlite", groups=groups,
                           people=people, checkins=checkins, participants=participants)
    return cache[key]


def for_run(ctx):
    """The dataset of this run: ≥ 200,000 check-ins, or 50,000 with --quick."""
    return get(ctx.cache, ctx.shared, checkins=50_000 if ctx.quick else 200_000)


def copy(info, dest):
    """A private copy of the dataset's database file at `dest` (WAL checkpointed at build)."""
    shutil.copyfile(info["db"], dest)
    return dest


def _slot(start_dt, weekday):
    end_dt = min(start_dt + timedelta(hours=3), start_dt.replace(hour=23, minute=59))
    return {"weekday": weekday, "start": start_dt.strftime("%H:%M"), "end": end_dt.strftime("%H:%M")}


def _today_start(now_local, group_no):
    midnight = now_local.replace(hour=0, minute=0, second=0, microsecond=0)
    wanted = now_local - timedelta(minutes=40) if group_no % 2 == 0 else now_local + timedelta(minutes=25)
    # Keep today's session inside today (schedules do not cross midnight).
    return min(max(wanted, midnight), midnight + timedelta(hours=20, minutes=59)).replace(second=0, microsecond=0)


def build(path, *, groups=40, people=18, checkins=200_000, participants=None, seed=11):
    """Create the dataset at `path`; returns {'db', 'admin_token', 'kiosks': [(name, location, token)], ...}.

    With `participants`, earlier cohorts are added until there are that many people, and
    the check-ins still missing are spread over every participant's past five years
    (table size, as a provider's years of programmes would make it)."""
    from admin import create_app, programme
    from admin.auth import SYSTEM
    from admin.db import get_db

    started = time.monotonic()
    rng = random.Random(seed)
    app = create_app({"ADMIN_DB": str(path), "SECRET_KEY": "bench"})
    runner = app.test_cli_runner()

    def cli(*args, stdin=None):
        result = runner.invoke(args=list(args), input=stdin)
        if result.exit_code != 0:
            raise RuntimeError(f"flask --app admin {' '.join(args)}: {result.output}")
        return result.output.strip().splitlines()[-1]

    # The admin's own CLI commands, run in-process (flask --app admin create-user … --password-stdin).
    cli("create-user", ADMIN_EMAIL, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    admin_token = cli("create-token", ADMIN_EMAIL)
    cli("create-user", BOARD_EMAIL, "--role", "coordinator", "--name", "Carla", "--password-stdin",
        stdin=PASSWORD + "\n")
    for n in range(COACHES):
        cli("create-user", f"coach{n}@bench.test", "--role", "lifecoach", "--name", f"Coach {n}",
            "--password-stdin", stdin=PASSWORD + "\n")
    kiosks = [(f"kiosk-{i + 1:02d}", kiosk_location(i)) for i in range(KIOSKS)]
    tokens = [cli("add-kiosk", name, "--location", location) for name, location in kiosks]

    now = utc_now()
    now_local = now.astimezone(TZ)
    today = now_local.date()
    with app.app_context():
        conn = get_db()
        # Only this build: no fsync per small transaction (the admin's functions commit each call).
        conn.execute("PRAGMA synchronous=OFF")
        coaches = [r[0] for r in conn.execute("SELECT id FROM staff WHERE role = 'lifecoach' ORDER BY id")]
        kiosk_ids = {r["location"]: r["id"] for r in conn.execute(
            "SELECT id, location FROM kiosks ORDER BY name DESC")}  # the first kiosk of a location records history
        cohorts = []  # (group id, group, [(participant id, uid)], current?)

        def make_group(name, location, starts_on, weeks, slots, status, uid_of):
            group_id = programme.create_group(conn, {"name": name, "location": location,
                                                     "starts_on": starts_on.isoformat(), "weeks": weeks,
                                                     "grace_minutes": 10, "sessions": slots}, "Europe/Amsterdam")
            members = []
            for i in range(people):
                uid = uid_of(i)
                pid = programme.create_participant(conn, SYSTEM, {
                    "first_name": f"{FIRST_NAMES[i % len(FIRST_NAMES)]}", "last_name": f"G{group_id}-{i}",
                    "group_id": group_id, "badge_uid": uid, "status": status,
                    "lifecoach_id": coaches[(group_id + i) % len(coaches)] if (group_id + i) % 9 else None,
                    "phone": f"06-{rng.randint(10000000, 99999999)}"})
                members.append((pid, uid))
            return group_id, members

        for g in range(groups):
            start = _today_start(now_local, g)
            slots = [_slot(start, (today.weekday() + d) % 7) for d in (0, 2, 4)]
            weeks_in = g % 11 + 1
            group_id, members = make_group(f"Groep {LOCATIONS[g % 4][:3]}-{g + 1:02d}", LOCATIONS[g % 4],
                                           today - timedelta(days=7 * weeks_in), 12, slots, "active",
                                           lambda i, g=g: current_uid(g, i))
            cohorts.append((group_id, members, True))
        from admin.attendance import load_groups
        by_id = {gr.id: gr for gr in load_groups(conn)}

        rows, excuses, follow_ups, seqs = [], [], [], {}
        enrolled = iso((now - timedelta(days=400)).timestamp())

        def add_history(group, members, current):
            day = group.starts_on
            while day <= min(group.ends_on, today):
                for session in sessions_on(group, day):
                    if session.start - timedelta(minutes=60) > now:
                        continue  # nobody can have checked in for it yet
                    for pid, uid in members:
                        roll = rng.random()
                        if day == today and session.grace_until > now:
                            if roll > 0.3:
                                continue  # most of an upcoming session has not arrived yet
                            at = now - timedelta(minutes=rng.randint(1, 15))
                        elif roll < 0.80:
                            at = session.start + timedelta(minutes=rng.randint(-20, 8))
                        elif roll < 0.88:
                            at = session.start + timedelta(minutes=rng.randint(12, 35))
                        elif roll < 0.94:
                            excuses.append((pid, day.isoformat(), "tandarts", now.isoformat()))
                            continue
                        else:
                            if day < today:
                                stamp = iso((session.grace_until + timedelta(minutes=1)).timestamp())
                                follow_ups.append((pid, day.isoformat(), session.start_local, group.id, stamp,
                                                   stamp, stamp, stamp))
                            continue
                        kiosk_id = kiosk_ids[group.location]
                        seqs[kiosk_id] = seqs.get(kiosk_id, 0) + 1
                        text = iso(at.timestamp())
                        rows.append((str(uuid.uuid4()), kiosk_id, "history", seqs[kiosk_id], uid, pid,
                                     session.tap_result(at), text, local_date(at, group.timezone).isoformat(),
                                     text, text))
                day += timedelta(days=1)

        for group_id, members, current in cohorts:
            add_history(by_id[group_id], members, current)
        # Earlier cohorts of the past year, until the check-ins table (or the people) is as large as asked.
        n = 0
        while (len(rows) < checkins) if participants is None else (groups + n) * people < participants:
            location = LOCATIONS[n % 4]
            starts_on = today - timedelta(days=rng.randint(12 * 7 + 1, 365))
            starts_on -= timedelta(days=starts_on.weekday())
            slots = [{"weekday": d, "start": s, "end": e} for d, s, e in HISTORY_SLOTS[n % 2]]
            group_id, members = make_group(f"Groep {location[:3]}-{starts_on:%y%m}-{n}", location, starts_on, 12,
                                           slots, "completed", lambda i, n=n: f"0202{n:06X}{i:06X}")
            group = load_groups(conn, group_id)[0]
            add_history(group, members, False)
            n += 1
        conn.execute("BEGIN IMMEDIATE")
        insert = ("INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
                  "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'synced', ?, 1, 'bench-history', 0, ?)")
        conn.executemany(insert, rows)
        if len(rows) < checkins:
            bulk = checkins - len(rows)
            _bulk(conn, bulk, list(kiosk_ids.values())[0], now)
            seqs["bulk"] = bulk
        conn.executemany("INSERT INTO excuses(participant_id, date, reason, created_by, created_at) "
                         "VALUES (?, ?, ?, NULL, ?)", excuses)
        conn.executemany(
            "INSERT OR IGNORE INTO follow_ups(participant_id, session_date, session_start, group_id, opened_at, "
            "contacted, reason, excused, closed_at, updated_at, picked_up_at, resolution, mail_result) "
            "VALUES (?, ?, ?, ?, ?, 'reached', 'verslapen', 0, ?, ?, ?, 'handled', 'bench')", follow_ups)
        bulk_seq = seqs.pop("bulk", None)
        conn.executemany("INSERT INTO streams(kiosk_id, generation, acked_seq) VALUES (?, 'history', ?)",
                         list(seqs.items()))
        if bulk_seq:
            conn.execute("INSERT INTO streams(kiosk_id, generation, acked_seq) VALUES (?, 'bulk', ?)",
                         (list(kiosk_ids.values())[0], bulk_seq))
        # Enrolled before their cohort started; every kiosk has delivered up to now.
        conn.execute("UPDATE participants SET created_at = ?", (enrolled,))
        stamp = iso(time.time())
        conn.execute("UPDATE kiosks SET last_heard_at = ?, watermark_at = ?, clock_synced = 1, clock_offset_s = 0",
                     (stamp, stamp))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for table in ("groups", "participants", "checkins", "excuses", "follow_ups")}
    today_people = [(current_uid(g, i), LOCATIONS[g % 4], g % 2 == 0) for g in range(groups) for i in range(people)]
    info = {"db": str(path), "admin_token": admin_token, "board_email": BOARD_EMAIL,
            "kiosks": [(name, location, token) for (name, location), token in zip(kiosks, tokens)],
            "today_people": today_people, "counts": counts, "groups_today": groups, "people": people,
            "built_in_s": round(time.monotonic() - started, 1),
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    path.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info


def _bulk(conn, count, kiosk_id, now):
    """`count` on-time check-ins of random participants at random moments of the five years
    before today, made by SQLite itself (a Python loop takes minutes for millions), inserted
    without the secondary indexes, which are built afterwards. Their local date is taken
    in CET: these are past days, which no view computes."""
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'checkins' "
                           "AND sql IS NOT NULL").fetchall()
    for index in indexes:
        conn.execute(f"DROP INDEX {index['name']}")
    conn.execute("PRAGMA cache_size = -1000000")   # the primary key's b-tree stays in memory
    conn.execute("CREATE TEMP TABLE people AS SELECT p.id AS pid, b.uid AS uid FROM participants p "
                 "JOIN badges b ON b.participant_id = p.id")
    start = int(now.timestamp()) - 5 * 365 * 86400
    span = int((now - timedelta(days=1)).timestamp()) - start
    conn.execute(
        "INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, local_date, "
        "time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count), "
        "r AS (SELECT i, lower(hex(randomblob(16))) AS h, abs(random()) % (SELECT count(*) FROM people) + 1 AS who, "
        "      :start + abs(random()) % :span AS t FROM n), "
        "s AS (SELECT r.*, strftime('%Y-%m-%dT%H:%M:%S.000+00:00', t, 'unixepoch') AS at FROM r) "
        "SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) "
        "       || '-' || substr(h, 21, 12), :kiosk, 'bulk', i, people.uid, people.pid, 'on_time', at, "
        "       date(t + 3600, 'unixepoch'), 'synced', at, 1, 'bench-history', 0, at "
        "FROM s JOIN people ON people.rowid = s.who",
        {"count": count, "start": start, "span": span, "kiosk": kiosk_id})
    conn.execute("DROP TABLE people")
    for index in indexes:
        conn.execute(index["sql"])
