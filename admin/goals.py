"""Individual goals and their weekly Goal Attainment Scaling scores: set before the
programme, scored −2..+2 every week (0 = the expected outcome), adjusted with the earlier
wording kept, and judged at week 12. The trainer scores a whole group in one sitting."""
import json
import math
from datetime import date

from flask import Blueprint, g, jsonify, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from common.db import transaction
from common.protocol import one_of
from common.vocabulary import GOAL_ROLES

from .audit import audit
from .auth import api_error, api_roles, web_roles
from .db import get_db, now_iso
from .errors import Invalid
from .forms import see_other, wants_fragment

bp = Blueprint("goals", __name__)
api_bp = Blueprint("goals_api", __name__, url_prefix="/api/v1")

# Codes in the API, labels on the pages (translated when shown).
DOMAINS = {"physical": _l("lichamelijk"), "mental": _l("mentaal"), "social": _l("sociaal")}
SCORES = {-2: _l("veel minder dan verwacht"), -1: _l("minder dan verwacht"), 0: _l("verwacht"),
          1: _l("meer dan verwacht"), 2: _l("veel meer dan verwacht")}
WEEKS = range(0, 13)      # 0 is the baseline, set with the goal
LAST_WEEK = 12
RHO = 0.3                 # Kiresuk–Sherman: the assumed correlation between goals' scores

SCORE_ROLES = GOAL_ROLES
READ_ROLES = GOAL_ROLES + ("lifecoach",)   # a LifeCoach: their own people only


def gas_t_score(scores):
    """The Kiresuk–Sherman T-score of final scores with equal weights: 50 + 10·Σx / √(0.7n + 0.3n²)."""
    n = len(scores)
    if n == 0:
        return None
    return 50 + 10 * sum(scores) / math.sqrt((1 - RHO) * n + RHO * n * n)


def _goal(conn, goal_id):
    row = conn.execute("SELECT * FROM goals WHERE id = ?", (goal_id,)).fetchone()
    if row is None:
        raise LookupError("no such goal")
    return row


def _text(body, key, max_len):
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(key, "required")
    if len(value) > max_len:
        raise Invalid(key, "too_long", max=max_len)
    return value.strip()


def add_goal(conn, actor, participant_id, body):
    """A new goal in the participant's words; returns its id. `baseline` (−2..2, default −1) is week 0."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    domain = body.get("domain")
    if not one_of(domain, DOMAINS):
        raise Invalid("domain", "choice", choices=", ".join(DOMAINS))
    text = _text(body, "text", 300)
    baseline = _score(body.get("baseline", -1))
    levels = body.get("levels", {})
    if not isinstance(levels, dict) or not all(
            k in {str(s) for s in SCORES} and isinstance(v, str) and len(v) <= 200 for k, v in levels.items()):
        raise Invalid("levels", "levels")
    with transaction(conn):
        if conn.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone() is None:
            raise LookupError("no such participant")
        goal_id = conn.execute(
            "INSERT INTO goals(participant_id, domain, text, levels_json, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (participant_id, domain, text, json.dumps(levels, ensure_ascii=False), actor.id, now_iso())).lastrowid
        _store_score(conn, actor, goal_id, participant_id, 0, baseline, "")
        audit(conn, actor, participant_id, "change", f"goal {goal_id} set ({domain})")
    return goal_id


def adjust_goal(conn, actor, goal_id, body):
    """New wording for a goal; the earlier one is kept with the last week scored under it."""
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    text = _text(body, "text", 300)
    with transaction(conn):
        goal = _goal(conn, goal_id)
        last = conn.execute("SELECT max(week) FROM goal_evaluations WHERE goal_id = ?", (goal_id,)).fetchone()[0]
        conn.execute("INSERT INTO goal_revisions(goal_id, participant_id, text, until_week, changed_by, changed_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (goal_id, goal["participant_id"], goal["text"], last or 0, actor.id, now_iso()))
        conn.execute("UPDATE goals SET text = ? WHERE id = ?", (text, goal_id))
        audit(conn, actor, goal["participant_id"], "change", f"goal {goal_id} adjusted")


def _score(value):
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCORES:
        raise Invalid("score", "whole_number", low=-2, high=2)
    return value


def score_week(conn, actor, goal_id, week, body):
    """Score a goal for a week (0 = baseline .. 12); the same week again replaces it (audited)."""
    if isinstance(week, bool) or not isinstance(week, int) or week not in WEEKS:
        raise Invalid("week", "week", low=0, high=12)
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    score = _score(body.get("score"))
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise Invalid("note", "text_max", max=500)
    with transaction(conn):
        goal = _goal(conn, goal_id)
        _store_score(conn, actor, goal_id, goal["participant_id"], week, score, note.strip())


def _store_score(conn, actor, goal_id, participant_id, week, score, note):
    before = conn.execute("SELECT score FROM goal_evaluations WHERE goal_id = ? AND week = ?",
                          (goal_id, week)).fetchone()
    conn.execute(
        "INSERT INTO goal_evaluations(goal_id, participant_id, week, score, note, scored_by, scored_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(goal_id, week) DO UPDATE SET score = excluded.score, "
        "note = excluded.note, scored_by = excluded.scored_by, scored_at = excluded.scored_at",
        (goal_id, participant_id, week, score, note, actor.id, now_iso()))
    if before is not None and before["score"] != score:
        audit(conn, actor, participant_id, "change",
              f"goal {goal_id} week {week} score {before['score']} replaced by {score}")


def participant_goals(conn, participant_id):
    """A participant's goals with their scores by week, whether each was achieved (the week-12
    score ≥ 0) and the GAS T-score — both None until week 12 is scored for every goal."""
    goals = []
    for goal in conn.execute("SELECT * FROM goals WHERE participant_id = ? ORDER BY id", (participant_id,)):
        evaluations = [{"week": r["week"], "score": r["score"], "note": r["note"]} for r in conn.execute(
            "SELECT week, score, note FROM goal_evaluations WHERE goal_id = ? ORDER BY week", (goal["id"],))]
        final = next((e["score"] for e in evaluations if e["week"] == LAST_WEEK), None)
        history = [{"text": r["text"], "until_week": r["until_week"]} for r in conn.execute(
            "SELECT text, until_week FROM goal_revisions WHERE goal_id = ? ORDER BY id", (goal["id"],))]
        goals.append({"id": goal["id"], "domain": goal["domain"], "text": goal["text"],
                      "levels": json.loads(goal["levels_json"]), "evaluations": evaluations,
                      "earlier_wordings": history, "achieved": None if final is None else final >= 0})
    finals = [g_["evaluations"][-1]["score"] for g_ in goals if g_["achieved"] is not None]
    complete = goals and len(finals) == len(goals)
    return {"goals": goals, "gas_t_score": round(gas_t_score(finals), 1) if complete else None}


# --- who may see whose goals ----------------------------------------------------

def may_read(conn, staff, participant_id):
    """Trainers, coordinators and admins all; a LifeCoach only their own participants."""
    if staff["role"] != "lifecoach":
        return True
    row = conn.execute("SELECT lifecoach_id FROM participants WHERE id = ?", (participant_id,)).fetchone()
    return row is not None and row["lifecoach_id"] == staff["id"]


# --- the weekly evaluation page -------------------------------------------------

def group_week(conn, group_id, week):
    """Every participant of a group with their goals and this week's score: the trainer's page."""
    people = []
    # Who was in the programme that week: everyone still in it, and those who stopped later.
    for person in conn.execute(
            "SELECT id, first_name FROM participants p WHERE group_id = ? AND anonymised_at IS NULL AND "
            "(status IN ('intake', 'active', 'completed') OR EXISTS (SELECT 1 FROM goal_evaluations e "
            "WHERE e.participant_id = p.id AND e.week >= ?)) ORDER BY first_name, id", (group_id, max(week, 1))):
        goals = [dict(r) for r in conn.execute(
            "SELECT g.id, g.domain, g.text, e.score, e.note FROM goals g LEFT JOIN goal_evaluations e "
            "ON e.goal_id = g.id AND e.week = ? WHERE g.participant_id = ? ORDER BY g.id", (week, person["id"]))]
        people.append({"id": person["id"], "first_name": person["first_name"], "goals": goals,
                       "missing": sum(1 for goal in goals if goal["score"] is None)})
    return people


@bp.get("/goals")
@web_roles(*SCORE_ROLES)
def index():
    """The groups, each with a link to this week's scoring page."""
    today = date.today()
    groups = []
    for row in get_db().execute("SELECT * FROM groups ORDER BY starts_on DESC, name"):
        week = (today - date.fromisoformat(row["starts_on"])).days // 7 + 1
        groups.append({"id": row["id"], "name": row["name"], "location": row["location"],
                       "week": week if 1 <= week <= LAST_WEEK else None})
    return render_template("goals/index.html", groups=groups)


@bp.get("/groups/<int:group_id>/goals")
@web_roles(*SCORE_ROLES)
def week_page(group_id):
    """One page per group per week: every participant's goals, one tap per score."""
    conn = get_db()
    group = conn.execute("SELECT * FROM groups WHERE id = ?", (group_id,)).fetchone()
    if group is None:
        return gettext("Groep niet gevonden"), 404
    week = request.args.get("week", type=int)
    if week not in WEEKS:
        week = 1
    people = group_week(conn, group_id, week)
    audit(conn, g.actor, None, "view", f"goals of group {group_id}, week {week}")
    return render_template("goals/week.html", group=group, week=week, weeks=WEEKS, people=people,
                           scores=SCORES, domains=DOMAINS, missing=sum(p["missing"] for p in people))


@bp.post("/goals/<int:goal_id>/weeks/<int:week>")
@web_roles(*SCORE_ROLES)
def score_from_page(goal_id, week):
    """A tap on a score: saved at once, the goal's row comes back (htmx) or the page again."""
    conn = get_db()
    try:
        score = int(request.form.get("score", ""))
    except ValueError:
        score = None
    status = 200
    try:
        score_week(conn, g.actor, goal_id, week, {"score": score, "note": request.form.get("note", "")})
        error = None
    except Invalid as exc:
        error, status = exc.message(), 422
    except LookupError:
        return gettext("Doel niet gevonden"), 404
    goal = conn.execute("SELECT g.id, g.domain, g.text, g.participant_id, e.score, e.note FROM goals g "
                        "LEFT JOIN goal_evaluations e ON e.goal_id = g.id AND e.week = ? WHERE g.id = ?",
                        (week, goal_id)).fetchone()
    if not wants_fragment():
        group_id = conn.execute("SELECT group_id FROM participants WHERE id = ?",
                                (goal["participant_id"],)).fetchone()[0]
        return see_other(url_for("goals.week_page", group_id=group_id, week=week))
    return render_template("goals/_goal.html", goal=dict(goal), week=week, scores=SCORES, domains=DOMAINS,
                           error=error), status


# --- API ------------------------------------------------------------------------

def _call(fn, *args, created=False):
    try:
        value = fn(*args)
    except Invalid as exc:
        return api_error(400, str(exc))
    except LookupError as exc:
        return api_error(404, str(exc))
    return (jsonify(id=value), 201) if created else jsonify(ok=True)


@api_bp.post("/participants/<int:participant_id>/goals")
@api_roles(*SCORE_ROLES)
def api_add_goal(participant_id):
    """Set a goal: {"domain", "text", "baseline"?, "levels"?} → 201 {"id"}."""
    return _call(add_goal, get_db(), g.actor, participant_id, request.get_json(silent=True), created=True)


@api_bp.get("/participants/<int:participant_id>/goals")
@api_roles(*READ_ROLES)
def api_goals(participant_id):
    """A participant's goals, scores by week, achieved and GAS T-score (audited)."""
    conn = get_db()
    if conn.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone() is None:
        return api_error(404, "no such participant")
    if not may_read(conn, g.staff, participant_id):
        return api_error(403, "not one of your participants")
    audit(conn, g.actor, participant_id, "view", "goals")
    return jsonify(participant_goals(conn, participant_id))


@api_bp.put("/goals/<int:goal_id>")
@api_roles(*SCORE_ROLES)
def api_adjust_goal(goal_id):
    """Adjust a goal's wording: {"text"}; the earlier wording stays in its history."""
    return _call(adjust_goal, get_db(), g.actor, goal_id, request.get_json(silent=True))


@api_bp.put("/goals/<int:goal_id>/evaluations/<int(signed=True):week>")
@api_roles(*SCORE_ROLES)
def api_score(goal_id, week):
    """Score a week: {"score": -2..2, "note"?}; the same week again replaces it."""
    return _call(score_week, get_db(), g.actor, goal_id, week, request.get_json(silent=True))
