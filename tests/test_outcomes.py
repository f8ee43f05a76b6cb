"""The programme's path and results: screening by a doctor, goals scored on Goal Attainment
Scaling every week, the handover at week 12, work found afterwards, and the anonymous outcome
report checked against figures computed by hand."""
import math
import re
from datetime import date, timedelta

import pytest

from admin.auth import new_api_token
from admin.goals import gas_t_score
from admin.outcomes import mean_ci, predicted_walk_m
from tests.support.live import auth
from tests.support.site import Site, post, ram_dir


@pytest.fixture
def site():
    with ram_dir() as tmp:
        s = Site(tmp)
        ids = {role: s.staff(f"{role}@example.test", role, name=role.title())
               for role in ("admin", "coordinator", "lifecoach", "physio", "trainer", "doctor")}
        s.coach2 = s.staff("coach2@example.test", "lifecoach", name="Coach Twee")
        conn = s.conn()
        s.tokens = {role: new_api_token(conn, staff_id) for role, staff_id in ids.items()}
        s.tokens["coach2"] = new_api_token(conn, s.coach2)
        conn.close()
        s.ids = ids
        s.group_id = s.group()
        s.pid = s.participant("Anoeshka", s.group_id, lifecoach_id=ids["lifecoach"])
        yield s


def call(site, role, method, path, **kwargs):
    return site.app.test_client().open(f"/api/v1{path}", method=method, headers=auth(site.tokens[role]), **kwargs)


def count(site, table):
    return site.sql(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]


# --- the numbers, by hand ---------------------------------------------------------

def test_the_gas_t_score_is_kiresuk_and_shermans_with_rho_three_tenths():
    assert gas_t_score([0, 0, 0]) == 50
    assert gas_t_score([1, 0, -1]) == 50
    # n = 2, sum 3: 50 + 30 / sqrt(0.7·2 + 0.3·4) = 50 + 30 / sqrt(2.6)
    assert gas_t_score([2, 1]) == pytest.approx(68.6052, abs=1e-4)
    # n = 1, score -2: 50 - 20 / sqrt(0.7 + 0.3) = 30
    assert gas_t_score([-2]) == 30
    assert gas_t_score([]) is None


def test_the_predicted_walk_distance_is_enright_and_sherrills():
    assert predicted_walk_m("male", 50, 180, 80) == pytest.approx(7.57 * 180 - 5.02 * 50 - 1.76 * 80 - 309)
    assert predicted_walk_m("female", 40, 165, 70) == pytest.approx(2.11 * 165 - 2.29 * 70 - 5.78 * 40 + 667)
    assert predicted_walk_m(None, 40, 165, 70) is None


def test_a_mean_comes_with_its_95_percent_interval():
    stat = mean_ci([-2.0, -1.0, -3.0, 0.0, -4.0])
    # mean -2, sd sqrt(2.5), t(4) = 2.776: half-width 2.776 * 1.5811 / sqrt(5) = 1.963
    assert stat["n"] == 5 and stat["mean"] == -2
    assert stat["ci95"] == [pytest.approx(-3.96, abs=0.01), pytest.approx(-0.04, abs=0.01)]


# --- screening --------------------------------------------------------------------

def test_a_referral_is_screened_by_the_doctor_and_each_decision_audited(site):
    site.sql("UPDATE participants SET status = 'referred_in' WHERE id = ?", site.pid)
    r = call(site, "doctor", "POST", f"/participants/{site.pid}/screening",
             json={"date": "2026-11-02", "decision": "eligible"})
    assert r.status_code == 201
    assert site.sql("SELECT status FROM participants WHERE id = ?", site.pid)[0]["status"] == "intake"
    other = site.participant("Mohamed", site.group_id)
    r = call(site, "doctor", "POST", f"/participants/{other}/screening",
             json={"date": "2026-11-02", "decision": "not_eligible", "reason": "eerst behandeling",
                   "referred_to": "GGZ Rijnmond"})
    assert r.status_code == 201
    assert site.sql("SELECT status, end_reason FROM participants WHERE id = ?", other)[0] == {
        "status": "referred", "end_reason": "eerst behandeling"}
    audited = site.sql("SELECT what, staff_role FROM audit_log WHERE what LIKE 'screening:%' ORDER BY id")
    assert audited == [{"what": "screening: eligible", "staff_role": "doctor"},
                       {"what": "screening: not_eligible", "staff_role": "doctor"}]


@pytest.mark.parametrize("body, message", [
    ({"date": "2026-11-02", "decision": "maybe"}, "'decision' must be eligible or not_eligible"),
    ({"date": "2-11-2026", "decision": "eligible"}, "'date' must be a date YYYY-MM-DD"),
    ({"date": "2026-02-30", "decision": "eligible"}, "'date' must be a date YYYY-MM-DD"),
    ({"date": "2026-11-02", "decision": "not_eligible"}, "'reason' is required when not eligible"),
    ({"decision": "eligible"}, "'date' must be a date YYYY-MM-DD"),
])
def test_a_bad_screening_is_refused_and_nothing_written(site, body, message):
    r = call(site, "doctor", "POST", f"/participants/{site.pid}/screening", json=body)
    assert r.status_code == 400 and r.get_json() == {"error": message}
    assert count(site, "screenings") == 0


@pytest.mark.parametrize("role", ["physio", "lifecoach", "trainer", "coordinator"])
def test_only_a_doctor_or_admin_screens(site, role):
    r = call(site, role, "POST", f"/participants/{site.pid}/screening", json={"date": "2026-11-02",
                                                                            "decision": "eligible"})
    assert r.status_code == 403 and count(site, "screenings") == 0


# --- goals ------------------------------------------------------------------------

def test_a_goal_in_the_participants_words_is_scored_every_week_and_judged_at_week_12(site):
    r = call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
             json={"domain": "social", "text": "elke ochtend opstaan als de kinderen naar school gaan"})
    assert r.status_code == 201
    goal = r.get_json()["id"]
    second = call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
                  json={"domain": "physical", "text": "de trap op zonder te stoppen", "baseline": -2}).get_json()["id"]
    for week, score in [(1, -1), (6, 0), (12, 1)]:
        assert call(site, "trainer", "PUT", f"/goals/{goal}/evaluations/{week}",
                    json={"score": score, "note": "besproken in de groep"}).status_code == 200
    data = call(site, "lifecoach", "GET", f"/participants/{site.pid}/goals").get_json()
    first = data["goals"][0]
    assert first["text"] == "elke ochtend opstaan als de kinderen naar school gaan" and first["domain"] == "social"
    assert [(e["week"], e["score"]) for e in first["evaluations"]] == [(0, -1), (1, -1), (6, 0), (12, 1)]
    assert first["achieved"] is True and data["goals"][1]["achieved"] is None
    assert data["gas_t_score"] is None          # not until every goal has its week-12 score
    call(site, "trainer", "PUT", f"/goals/{second}/evaluations/12", json={"score": -1})
    data = call(site, "lifecoach", "GET", f"/participants/{site.pid}/goals").get_json()
    assert data["goals"][1]["achieved"] is False
    assert data["gas_t_score"] == round(50 + 10 * 0 / math.sqrt(0.7 * 2 + 0.3 * 4), 1) == 50.0


def test_an_adjusted_goal_keeps_its_earlier_wording_and_scores(site):
    goal = call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
                json={"domain": "mental", "text": "een keer per week iemand bellen"}).get_json()["id"]
    call(site, "trainer", "PUT", f"/goals/{goal}/evaluations/3", json={"score": 0})
    assert call(site, "trainer", "PUT", f"/goals/{goal}", json={"text": "twee keer per week iemand bellen"}
                ).status_code == 200
    data = call(site, "admin", "GET", f"/participants/{site.pid}/goals").get_json()["goals"][0]
    assert data["text"] == "twee keer per week iemand bellen"
    assert data["earlier_wordings"] == [{"text": "een keer per week iemand bellen", "until_week": 3}]
    assert [e["week"] for e in data["evaluations"]] == [0, 3]


def test_scoring_the_same_week_again_replaces_it_and_is_audited(site):
    goal = call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
                json={"domain": "physical", "text": "wandelen"}).get_json()["id"]
    call(site, "trainer", "PUT", f"/goals/{goal}/evaluations/4", json={"score": 0})
    call(site, "coordinator", "PUT", f"/goals/{goal}/evaluations/4", json={"score": 1, "note": "beter"})
    assert site.sql("SELECT score, note FROM goal_evaluations WHERE goal_id = ? AND week = 4", goal) == [
        {"score": 1, "note": "beter"}]
    assert site.sql("SELECT what, staff_role FROM audit_log WHERE what LIKE '%replaced%'") == [
        {"what": f"goal {goal} week 4 score 0 replaced by 1", "staff_role": "coordinator"}]


@pytest.mark.parametrize("week, body", [
    (13, {"score": 0}), (-1, {"score": 0}), (4, {"score": 3}), (4, {"score": -3}), (4, {"score": "1"}),
    (4, {"score": 1.5}), (4, {"score": True}), (4, {"score": None}), (4, {}), (4, {"score": 0, "note": 5}),
    (4, {"score": float("nan")}),
])
def test_a_bad_score_is_refused_and_nothing_written(site, week, body):
    goal = call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
                json={"domain": "physical", "text": "wandelen"}).get_json()["id"]
    client = site.app.test_client()
    import json
    r = client.put(f"/api/v1/goals/{goal}/evaluations/{week}", data=json.dumps(body),
                   headers={**auth(site.tokens["trainer"]), "Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.get_json()
    assert site.sql("SELECT week FROM goal_evaluations WHERE goal_id = ?", goal) == [{"week": 0}]


@pytest.mark.parametrize("body", [
    {"domain": "spiritual", "text": "x"}, {"domain": "physical"}, {"domain": "physical", "text": " "},
    {"domain": "physical", "text": "x" * 301}, {"domain": "physical", "text": "x", "baseline": 5},
    {"domain": "physical", "text": "x", "levels": {"7": "te veel"}}, [],
])
def test_a_bad_goal_is_refused_and_nothing_written(site, body):
    r = call(site, "trainer", "POST", f"/participants/{site.pid}/goals", json=body)
    assert r.status_code == 400 and "error" in r.get_json()
    assert count(site, "goals") == 0 and count(site, "goal_evaluations") == 0


def test_a_lifecoach_reads_the_goals_of_their_own_people_only(site):
    assert call(site, "lifecoach", "GET", f"/participants/{site.pid}/goals").status_code == 200
    r = call(site, "coach2", "GET", f"/participants/{site.pid}/goals")
    assert r.status_code == 403 and r.get_json() == {"error": "not one of your participants"}
    assert call(site, "lifecoach", "POST", f"/participants/{site.pid}/goals",
                json={"domain": "physical", "text": "x"}).status_code == 403
    assert call(site, "physio", "GET", f"/participants/{site.pid}/goals").status_code == 403


# --- placements and the ladder ------------------------------------------------------

def test_the_lifecoach_records_work_found_and_the_ladder_for_their_own_people(site):
    r = call(site, "lifecoach", "POST", f"/participants/{site.pid}/placements",
             json={"kind": "volunteer", "starts_on": "2027-03-01", "hours_per_week": 8})
    assert r.status_code == 201 and r.get_json()["id"]
    assert call(site, "lifecoach", "POST", f"/participants/{site.pid}/ladder",
                json={"moment": "m3", "rung": 4}).status_code == 201
    assert call(site, "coach2", "POST", f"/participants/{site.pid}/ladder",
                json={"moment": "m6", "rung": 5}).status_code == 403
    assert site.sql("SELECT moment, rung FROM ladder_rungs") == [{"moment": "m3", "rung": 4}]


@pytest.mark.parametrize("path, body", [
    ("placements", {"kind": "astronaut", "starts_on": "2027-03-01"}),
    ("placements", {"kind": "paid_work"}),
    ("placements", {"kind": "paid_work", "starts_on": "2027-03-01", "ends_on": "2027-02-01"}),
    ("placements", {"kind": "paid_work", "starts_on": "2027-03-01", "hours_per_week": 80}),
    ("placements", {"kind": "paid_work", "starts_on": "2027-03-01", "hours_per_week": float("inf")}),
    ("ladder", {"moment": "m9", "rung": 3}), ("ladder", {"moment": "m3", "rung": 7}),
    ("ladder", {"moment": "m3", "rung": 2.5}), ("ladder", {"moment": "m3"}),
])
def test_bad_placements_and_rungs_are_refused_and_nothing_written(site, path, body):
    import json
    client = site.app.test_client()
    r = client.post(f"/api/v1/participants/{site.pid}/{path}", data=json.dumps(body),
                    headers={**auth(site.tokens["lifecoach"]), "Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.get_json()
    assert count(site, "placements") == 0 and count(site, "ladder_rungs") == 0


# --- the trainer's weekly page ----------------------------------------------------

def test_the_weekly_page_shows_every_participants_goals_and_a_tap_saves_at_once(site):
    goals = [call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
                  json={"domain": d, "text": f"doel {d}"}).get_json()["id"] for d in ("physical", "social")]
    client = site.login("trainer@example.test")
    page = client.get(f"/groups/{site.group_id}/goals?week=5").get_data(as_text=True)
    assert "Anoeshka" in page and "doel physical" in page and "Nog 2 doelen zonder score deze week." in page
    r = post(client, f"/goals/{goals[0]}/weeks/5", {"score": "1"}, htmx=True)
    assert r.status_code == 200
    fragment = r.get_data(as_text=True)
    assert re.search(r'value="1" [^>]*aria-pressed="true"', fragment) and "<html" not in fragment
    assert site.sql("SELECT score FROM goal_evaluations WHERE goal_id = ? AND week = 5", goals[0]) == [{"score": 1}]
    page = client.get(f"/groups/{site.group_id}/goals?week=5").get_data(as_text=True)
    assert "Nog 1 doel zonder score deze week." in page
    # Without htmx the form still works: back to the page.
    r = post(client, f"/goals/{goals[1]}/weeks/5", {"score": "-1"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/groups/{site.group_id}/goals?week=5")
    r = post(client, f"/goals/{goals[1]}/weeks/5", {"score": "9"}, htmx=True)
    assert r.status_code == 422 and "Score moet een heel getal van -2 tot en met 2 zijn." in r.get_data(as_text=True)


# --- the outcome report -----------------------------------------------------------

def cohort(site, people, starts_on, weeks=12, name="Groep A", location="Rotterdam-Zuid"):
    """A finished group of `people`: (status, weight at intake, weight at week 12, final scores)."""
    from admin import programme
    group = site._with_request(programme.create_group, {
        "name": name, "location": location, "starts_on": starts_on.isoformat(), "weeks": weeks,
        "grace_minutes": 10, "sessions": [{"weekday": 0, "start": "09:00", "end": "12:00"}]}, "Europe/Amsterdam")
    kiosk_id = site.sql("SELECT id FROM kiosks LIMIT 1")
    if not kiosk_id:
        site.kiosk()
    kiosk_id = site.sql("SELECT id FROM kiosks LIMIT 1")[0]["id"]
    ids = []
    for i, (status, w0, w12, finals) in enumerate(people):
        pid = site.participant(f"P{i}", group)
        site.sql("UPDATE participants SET status = ? WHERE id = ?", status, pid)
        site.sql("INSERT INTO screenings(participant_id, date, decision, created_at) VALUES (?, ?, ?, ?)",
                 pid, starts_on.isoformat(), "eligible" if status != "referred" else "not_eligible", "x")
        if w0 is not None:
            site.measurement(pid, kiosk_id, "2026-01-01T09:00:00+00:00", {"weight_kg": w0}, moment="intake")
        if w12 is not None:
            site.measurement(pid, kiosk_id, "2026-03-30T09:00:00+00:00", {"weight_kg": w12}, moment="week12")
        for n, score in enumerate(finals):
            goal = site.sql("INSERT INTO goals(participant_id, domain, text, created_at) VALUES (?, ?, 'x', 'x') "
                            "RETURNING id", pid, ("physical", "social")[n % 2])[0]["id"]
            site.sql("INSERT INTO goal_evaluations(goal_id, participant_id, week, score, scored_at) "
                     "VALUES (?, ?, 12, ?, 'x')", goal, pid, score)
        ids.append(pid)
    return group, ids


def test_the_outcome_report_matches_figures_computed_by_hand(site):
    starts = date.today() - timedelta(days=400)
    people = (
        [("completed", 90.0, 88.0, [1, 0])] * 4 + [("completed", 80.0, 79.0, [0, -1])] * 4 +
        [("completed", 100.0, 97.0, [2])] * 4 + [("withdrawn", 85.0, None, [])] * 2 +
        [("referred", None, None, [])] * 2
    )
    group, ids = cohort(site, people, starts)
    site.sql("UPDATE participants SET end_reason = 'werk gevonden' WHERE status = 'withdrawn'")
    # Placements: 6 of the 12 who completed are in work 3 months after the end.
    end = starts + timedelta(days=84)
    for pid in ids[:6]:
        site.sql("INSERT INTO placements(participant_id, kind, starts_on, recorded_at) VALUES (?, 'paid_work', ?, 'x')",
                 pid, (end + timedelta(days=30)).isoformat())
    for pid in ids[:12]:
        site.sql("INSERT INTO ladder_rungs(participant_id, moment, rung, recorded_at) VALUES (?, 'end', ?, 'x')",
                 pid, 3 if pid in ids[:6] else 4)
    f = call(site, "coordinator", "GET", f"/reports/outcomes?group_id={group}").get_json()
    assert f["referred"] == 16 and f["screened"] == 16 and f["eligible"] == 14
    assert f["eligible_pct"] == round(100 * 14 / 16, 1) == 87.5
    assert f["started"] == 14 and f["completed"] == 12 and f["completed_pct"] == round(100 * 12 / 14, 1)
    assert f["dropped_out"] == "<5" and f["dropped_out_pct"] == "<5"
    assert f["dropout_reasons"] == {"werk gevonden": "<5"}
    # Goals: 4×2 + 4×2 + 4×1 = 20 set; achieved (≥ 0): 4×2 + 4×1 + 4×1 = 16.
    assert f["goals_set"] == 20 and f["goals_achieved"] == 16 and f["goals_achieved_pct"] == 80.0
    assert f["goals_by_domain"]["physical"] == {"set": 12, "achieved": 12, "achieved_pct": 100.0}
    assert f["goals_by_domain"]["social"] == {"set": 8, "achieved": "<5", "achieved_pct": "<5"}
    # T-scores: [1,0] → 50 + 10/√2.6; [0,-1] → 50 − 10/√2.6; [2] → 70; four of each.
    t = [50 + 10 / math.sqrt(2.6)] * 4 + [50 - 10 / math.sqrt(2.6)] * 4 + [70.0] * 4
    assert f["mean_gas_t_score"]["n"] == 12
    assert f["mean_gas_t_score"]["mean"] == round(sum(t) / 12, 2)
    # Weight change: −2 ×4, −1 ×4, −3 ×4 → mean −2, sd √(8/11), t(11) = 2.201 (tabled 2.228 at df 10).
    weight = f["change_intake_to_week12"]["weight_kg"]
    sd = math.sqrt(sum((d + 2) ** 2 for d in [-2] * 4 + [-1] * 4 + [-3] * 4) / 11)
    half = 2.228 * sd / math.sqrt(12)
    assert weight["n"] == 12 and weight["mean"] == -2.0
    assert weight["ci95"] == [round(-2 - half, 2), round(-2 + half, 2)]
    assert f["change_intake_to_week12"]["systolic_mmhg"]["n"] == 0
    assert f["ladder"]["end"] == {"n": 12, "mean": 3.5, "rungs": {"1": 0, "2": 0, "3": 6, "4": 6, "5": 0, "6": 0}}
    assert f["in_work"]["m3"] == {"observed": 12, "working": 6, "pct": 50.0}
    assert f["in_work"]["m15"]["observed"] == 0      # 15 months after the end is still to come


def test_a_small_selection_shows_only_suppressed_cells(site):
    group, _ids = cohort(site, [("completed", 90.0, 88.0, [1])] * 3, date.today() - timedelta(days=200))
    f = call(site, "admin", "GET", f"/reports/outcomes?group_id={group}").get_json()
    assert f["referred"] == "<5" and f["completed"] == "<5" and f["completed_pct"] == "<5"
    assert f["change_intake_to_week12"]["weight_kg"] == {"n": "<5", "mean": "<5", "ci95": "<5"}
    assert f["mean_gas_t_score"] == {"n": "<5", "mean": "<5", "ci95": "<5"}
    assert "Anoeshka" not in str(f) and "P0" not in str(f)


def test_the_report_page_csv_and_filters(site):
    cohort(site, [("completed", 90.0, 88.0, [1])] * 6, date.today() - timedelta(days=200), location="Schiedam")
    client = site.login("coordinator@example.test")
    page = client.get("/reports/outcomes?location=Schiedam").get_data(as_text=True)
    assert "Uitkomsten van het programma" in page and "Percentages van het programma" in page
    csv = client.get("/reports/outcomes?location=Schiedam&format=csv").get_data(as_text=True)
    assert '"completed";"6"' in csv and '"completed_pct";"100.0"' in csv
    assert client.get("/reports/outcomes?from=gisteren").status_code == 400
    r = call(site, "admin", "GET", "/reports/outcomes?from=gisteren")
    assert r.status_code == 400 and r.get_json() == {"error": "'from' must be a date YYYY-MM-DD"}


def test_handover_completes_the_programme_and_shows_goals_tests_and_the_note(site):
    goal = call(site, "trainer", "POST", f"/participants/{site.pid}/goals",
                json={"domain": "physical", "text": "de trap op"}).get_json()["id"]
    call(site, "trainer", "PUT", f"/goals/{goal}/evaluations/12", json={"score": 1})
    assert call(site, "physio", "POST", f"/participants/{site.pid}/load-tests",
                json={"moment": "intake", "date": "2026-09-01", "walk_6min_m": 410, "chair_stands_30s": 9,
                      "grip_left_kg": 24.5, "grip_right_kg": 27, "load_capacity": "moderate"}).status_code == 201
    client = site.login("trainer@example.test")
    r = post(client, f"/participants/{site.pid}/handover", {"note": "Heeft veel zelfvertrouwen gekregen."})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Heeft veel zelfvertrouwen gekregen." in page
    assert "de trap op" in page and "410" in page and "matig belastbaar" in page and "Behaald." in page
    assert site.sql("SELECT status FROM participants WHERE id = ?", site.pid)[0]["status"] == "completed"
    lifecoach = site.login("lifecoach@example.test")
    assert lifecoach.get(f"/participants/{site.pid}/handover").status_code == 200
    assert site.login("coach2@example.test").get(f"/participants/{site.pid}/handover").status_code == 403


def test_a_past_cohorts_report_gives_the_same_figures_after_retention_and_erasure(site):
    starts = date.today() - timedelta(days=400)
    group, ids = cohort(site, [("completed", 90.0, 88.0, [1, 0])] * 6 + [("completed", 80.0, 81.0, [-1])] * 6, starts)
    for pid in ids:
        site.sql("INSERT INTO checkins(id, kiosk_id, generation, seq, badge_uid, participant_id, result, at, "
                 "local_date, time_source, kiosk_wall_at, clock_synced, boot_id, boot_s, received_at) "
                 "SELECT ?, id, 'g', ?, 'AB', ?, 'on_time', ?, ?, 'synced', ?, 1, 'b', 1.0, ? FROM kiosks LIMIT 1",
                 f"c{pid}", pid, pid, starts.isoformat() + "T08:00:00+00:00", starts.isoformat(),
                 starts.isoformat(), starts.isoformat())
        site.sql("INSERT INTO ladder_rungs(participant_id, moment, rung, recorded_at) VALUES (?, 'end', 4, ?)",
                 pid, (starts + timedelta(days=90)).isoformat())
    site.sql("UPDATE goals SET text = 'mijn eigen woorden'")
    before = call(site, "admin", "GET", f"/reports/outcomes?group_id={group}").get_json()
    assert before["mean_attendance_pct"]["n"] == 12 and before["change_intake_to_week12"]["weight_kg"]["n"] == 12
    r = call(site, "admin", "POST", f"/participants/{ids[0]}/erase", json={"reason": "verzoek"})
    assert r.status_code == 200
    result = site.flask("retention", "--today", (date.today() + timedelta(days=21 * 365)).isoformat())
    assert result.returncode == 0, result.stderr
    for table in ("checkins", "measurements", "goal_revisions"):
        assert count(site, table) == 0, table
    assert site.sql("SELECT COUNT(*) AS n FROM goals WHERE text != ''")[0]["n"] == 0
    after = call(site, "admin", "GET", f"/reports/outcomes?group_id={group}").get_json()
    assert after == before


def test_the_programme_page_records_each_roles_part_with_errors_next_to_the_form(site):
    doctor = site.login("doctor@example.test")
    r = post(doctor, f"/participants/{site.pid}/programme/screening",
             {"date": "2026-11-02", "decision": "not_eligible", "reason": ""})
    assert r.status_code == 422 and 'id="err-screening"' in r.get_data(as_text=True)
    assert count(site, "screenings") == 0
    r = post(doctor, f"/participants/{site.pid}/programme/screening", {"date": "2026-11-02", "decision": "eligible"})
    assert r.status_code == 303 and count(site, "screenings") == 1
    assert post(doctor, f"/participants/{site.pid}/programme/ladder", {"moment": "m3", "rung": "4"}).status_code == 403
    physio = site.login("physio@example.test")
    r = post(physio, f"/participants/{site.pid}/programme/load-tests",
             {"moment": "intake", "date": "2026-11-02", "walk_6min_m": "veel"})
    assert r.status_code == 422 and count(site, "load_tests") == 0
    assert "Zesminutenwandeltest (m) moet een getal van 10 tot en met 1200 zijn." in r.get_data(as_text=True)
    r = post(physio, f"/participants/{site.pid}/programme/load-tests",
             {"moment": "intake", "date": "2026-11-02", "walk_6min_m": "412.5", "chair_stands_30s": "11"})
    assert r.status_code == 303
    assert site.sql("SELECT walk_6min_m, chair_stands_30s FROM load_tests") == [
        {"walk_6min_m": 412.5, "chair_stands_30s": 11}]
    coach = site.login("lifecoach@example.test")
    assert post(coach, f"/participants/{site.pid}/programme/ladder", {"moment": "intake", "rung": "2"}).status_code == 303
    other = site.login("coach2@example.test")
    assert post(other, f"/participants/{site.pid}/programme/ladder", {"moment": "end", "rung": "3"}).status_code == 403
    assert site.sql("SELECT moment, rung FROM ladder_rungs") == [{"moment": "intake", "rung": 2}]
    page = coach.get(f"/participants/{site.pid}/programme").get_data(as_text=True)
    assert "2. sociale contacten buiten de deur" in page
    assert "Zesminutenwandeltest" not in page and "Medische screening" not in page  # no health data


def test_due_aftercare_check_ins_appear_in_the_lifecoachs_list(site):
    starts = date.today() - timedelta(days=84 + 100)      # ended 100 days ago: the 3-month moment is due
    site.sql("UPDATE groups SET starts_on = ? WHERE id = ?", starts.isoformat(), site.group_id)
    site.sql("UPDATE participants SET status = 'completed' WHERE id = ?", site.pid)
    page = site.login("lifecoach@example.test").get("/aftercare").get_data(as_text=True)
    assert "Anoeshka" in page and "3 maanden" in page and "6 maanden" not in page
    assert "Anoeshka" not in site.login("coach2@example.test").get("/aftercare").get_data(as_text=True)
    call(site, "lifecoach", "POST", f"/participants/{site.pid}/ladder", json={"moment": "m3", "rung": 4})
    assert "Er is nu niemand aan de beurt." in site.login("lifecoach@example.test").get("/aftercare").get_data(as_text=True)


@pytest.mark.browser
def test_the_outcome_report_and_the_handover_print_to_pdf_that_renders(site, tmp_path):
    import subprocess

    from tests.support.live import ARTIFACTS
    group, _ids = cohort(site, [("completed", 90.0, 88.0, [1, 0])] * 6, date.today() - timedelta(days=200))
    client = site.login("coordinator@example.test")
    for url, name, expected in [(f"/reports/outcomes?group_id={group}&format=pdf", "outcome-report", "Participatieladder"),
                                (f"/participants/{site.pid}/handover?format=pdf", "handover", "Slotnotitie")]:
        r = client.get(url)
        assert r.status_code == 200 and r.mimetype == "application/pdf", r.get_data(as_text=True)[:300]
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(r.data)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert expected in text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / f"{name}-pdf")],
                       check=True)
        png = next(ARTIFACTS.glob(f"{name}-pdf*.png"))
        assert png.stat().st_size > 5000        # a page with text on it, not a blank one
    assert "<5" in subprocess.run(["pdftotext", str(tmp_path / "outcome-report.pdf"), "-"], capture_output=True,
                                  text=True).stdout   # the small cells stay suppressed in print too
