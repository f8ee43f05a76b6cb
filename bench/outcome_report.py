"""Outcome report over years of data: five years of 20 groups a year, 16 people each (1,600
participants) with screening, goals scored every week, measurements and load tests at intake
and week 12, three sessions a week of check-ins, placements and ladder rungs. Target: the
whole report (all groups) in ≤ 1 s. Computed in-process on the admin's own function, so the
figure is the report's work; a request adds what any request costs (see attendance view).
Baseline in the same process: reading every participant with their group once."""
import json
import random
import time
import uuid
from datetime import date, timedelta

from admin.outcomes import outcome_figures
from common.db import connect, init_schema

from ._stats import row

PATH = "outcome report"
TARGET_MS = 1000.0


def build(path, years, groups_per_year, people=16):
    """The dataset; returns its counts."""
    rng = random.Random(5)
    conn = connect(path)
    init_schema(conn, "admin")
    conn.execute("INSERT INTO kiosks(id, name, location, token_hash, created_at) VALUES ('k', 'k', 'Rotterdam', 'x', 'x')")
    first = date.today() - timedelta(days=365 * years)
    counts = {"groups": 0, "participants": 0, "checkins": 0, "evaluations": 0}
    conn.execute("BEGIN")
    seq = 0
    for g in range(years * groups_per_year):
        starts = first + timedelta(days=g * 365 // groups_per_year)
        location = ("Rotterdam-Zuid", "Rotterdam-Noord", "Schiedam", "Vlaardingen")[g % 4]
        gid = conn.execute("INSERT INTO groups(name, location, starts_on, weeks, grace_minutes, timezone, created_at) "
                           "VALUES (?, ?, ?, 12, 10, 'Europe/Amsterdam', 'x')",
                           (f"Groep {g}", location, starts.isoformat())).lastrowid
        conn.executemany("INSERT INTO schedule_slots(group_id, weekday, start, end) VALUES (?, ?, '09:00', '12:00')",
                         [(gid, d) for d in (0, 2, 4)])
        counts["groups"] += 1
        for p in range(people):
            status = rng.choices(("completed", "withdrawn", "referred"), weights=(84, 8, 8))[0]
            pid = conn.execute("INSERT INTO participants(first_name, last_name, group_id, status, created_at) "
                               "VALUES (?, 'X', ?, ?, 'x')", (f"P{p}", gid, status)).lastrowid
            counts["participants"] += 1
            conn.execute("INSERT INTO screenings(participant_id, date, decision, created_at) VALUES (?, ?, ?, 'x')",
                         (pid, starts.isoformat(), "not_eligible" if status == "referred" else "eligible"))
            if status == "referred":
                continue
            rows = []
            for day in (starts + timedelta(days=n) for n in range(84)):
                if day.weekday() in (0, 2, 4) and rng.random() < 0.85:
                    seq += 1
                    at = f"{day.isoformat()}T08:00:00+00:00"
                    rows.append((str(uuid.uuid4()), seq, pid, at, day.isoformat(), at, at))
            conn.executemany("INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
                             "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
                             "VALUES (?, 'k', 'g', ?, 'AB', ?, 'on_time', ?, ?, 'synced', ?, 1, 'b', 0, ?)", rows)
            counts["checkins"] += len(rows)
            for moment, k in (("intake", 0), ("week12", 1)):
                seq += 1
                conn.execute("INSERT INTO measurements(id, kiosk_id, generation, seq, participant_id, moment, values_json, "
                             "sources_json, at, time_source, kiosk_wall_at, received_at) "
                             "VALUES (?, 'k', 'g', ?, ?, ?, ?, '{}', 'x', 'synced', 'x', 'x')",
                             (str(uuid.uuid4()), seq, pid, moment,
                              json.dumps({"weight_kg": 90 - 2 * k, "systolic_mmhg": 140 - 5 * k, "diastolic_mmhg": 90})))
                conn.execute("INSERT INTO load_tests(participant_id, moment, date, walk_6min_m, created_at) "
                             "VALUES (?, ?, 'x', ?, 'x')", (pid, moment, 400 + 40 * k))
            for n in range(rng.randint(1, 3)):
                goal = conn.execute("INSERT INTO goals(participant_id, domain, text, created_at) VALUES (?, ?, 'x', 'x')",
                                    (pid, ("physical", "mental", "social")[n])).lastrowid
                weeks = range(0, 13 if status == "completed" else 6)
                conn.executemany("INSERT INTO goal_evaluations(goal_id, participant_id, week, score, scored_at) "
                                 "VALUES (?, ?, ?, ?, 'x')", [(goal, pid, w, min(2, -1 + w // 4)) for w in weeks])
                counts["evaluations"] += len(weeks)
            for moment in ("intake", "end", "m3", "m6"):
                conn.execute("INSERT INTO ladder_rungs(participant_id, moment, rung, recorded_at) VALUES (?, ?, ?, 'x')",
                             (pid, moment, rng.randint(2, 5)))
            if rng.random() < 0.4:
                conn.execute("INSERT INTO placements(participant_id, kind, starts_on, recorded_at) "
                             "VALUES (?, 'volunteer', ?, 'x')", (pid, (starts + timedelta(days=120)).isoformat()))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return counts


def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        begun = time.perf_counter()
        fn()
        times.append((time.perf_counter() - begun) * 1000)
    return times


def run(ctx):
    """Build the dataset, time the report three ways; returns table rows."""
    years, per_year = (2, 10) if ctx.quick else (5, 20)
    path = ctx.folder("outcome_report") / "admin.sqlite"
    counts = build(path, years, per_year)
    conn = connect(path)
    rounds = 3 if ctx.quick else 7
    baseline = timed(lambda: conn.execute("SELECT p.*, g.starts_on FROM participants p JOIN groups g "
                                          "ON g.id = p.group_id").fetchall(), rounds)
    base = sorted(baseline)[len(baseline) // 2]
    everything = timed(lambda: outcome_figures(conn), rounds)
    one_location = timed(lambda: outcome_figures(conn, location="Schiedam"), rounds)
    last_year = date.today() - timedelta(days=365)
    one_year = timed(lambda: outcome_figures(conn, starts_from=last_year), rounds)
    conn.close()
    note = (f"{counts['groups']} groups, {counts['participants']:,} participants, {counts['checkins']:,} check-ins, "
            f"{counts['evaluations']:,} goal scores")
    rows = [row(PATH, "baseline: every participant with their group, one query", "ms", baseline, note=note)]
    for label, times in (("whole report, all groups of all years", everything),
                         ("one location (a quarter of the groups)", one_location),
                         ("groups that started in the last year", one_year)):
        median = sorted(times)[len(times) // 2]
        rows.append(row(PATH, label, "ms", times, baseline=base, target="≤ 1000 ms", ok=median <= TARGET_MS,
                        note=f"n={rounds}"))
    return rows
