"""The gettext catalogues: current with the code, complete for what a participant reads,
placeholders intact, and what the apps load is what was compiled."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from common.i18n import LANGUAGES, TRANSLATIONS

REPO = Path(__file__).resolve().parent.parent
DOMAINS = {"kiosk": ("kiosk", "common"), "admin": ("admin", "common")}
# What a participant reads at the check-in kiosk (the station is run by staff, in Dutch).
PARTICIPANT_FACING = ("kiosk/screen.py", "kiosk/templates/_idle.html", "kiosk/templates/_status.html",
                      "kiosk/templates/_tap.html")


def catalogue(path, locale=None):
    with open(path, "rb") as f:
        return read_po(f, locale=locale)


def ids(cat):
    return {m.id for m in cat if m.id}


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_templates_hold_every_message_of_the_code(tmp_path, domain):
    pot = tmp_path / f"{domain}.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), *DOMAINS[domain]], cwd=REPO, check=True)
    assert ids(catalogue(pot)) == ids(catalogue(TRANSLATIONS / f"{domain}.pot")), "run make translations-update"


@pytest.mark.parametrize("path", sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")), ids=lambda p: str(p.relative_to(TRANSLATIONS)))
def test_each_catalogue_is_up_to_date_and_its_placeholders_match(path):
    language = path.parent.parent.name
    assert language in LANGUAGES
    cat = catalogue(path, language)
    assert ids(cat) == ids(catalogue(TRANSLATIONS / f"{path.stem}.pot")), "run make translations-update"
    problems = [(message.id, [str(e) for e in errors]) for message, errors in cat.check()]
    assert problems == []


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "nl"])
def test_every_text_a_participant_reads_at_the_kiosk_is_translated(language):
    cat = catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "kiosk.po", language)
    facing = [m for m in cat if m.id and any(path in PARTICIPANT_FACING for path, _line in m.locations)]
    assert len(facing) >= 25
    missing = [m.id for m in facing if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert missing == []
    assert not [m.id for m in facing if m.fuzzy]


@pytest.mark.parametrize("domain", DOMAINS)
def test_english_is_complete_for_the_staff_site_and_the_station(domain):
    # ADMIN_LANGUAGE=en and KIOSK_LANG=en promise every text in English, not most of them.
    cat = catalogue(TRANSLATIONS / "en" / "LC_MESSAGES" / f"{domain}.po", "en")
    missing = [m.id for m in cat if m.id and (m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))]
    assert missing == []


def test_the_apps_read_the_compiled_catalogues(tmp_path):
    from flask_babel import force_locale, gettext

    from kiosk import create_app
    app = create_app({"KIOSK_DB": str(tmp_path / "k.sqlite")})
    with app.test_request_context():
        for language, welcome in (("nl", "Welkom, Kees"), ("en", "Welcome, Kees"), ("tr", "Hoş geldiniz, Kees"),
                                  ("ar", "أهلاً وسهلاً، Kees"), ("pl", "Witaj, Kees")):
            with force_locale(language):
                assert gettext("Welkom, %(name)s", name="Kees") == welcome


@pytest.mark.parametrize("language, words", [("nl", "Wachtwoord"), ("en", "Password"), ("xx", "Wachtwoord")])
def test_the_staff_site_speaks_dutch_unless_admin_language_says_otherwise(tmp_path, language, words):
    from admin import create_app
    app = create_app({"ADMIN_DB": str(tmp_path / "admin.sqlite"), "ADMIN_LANGUAGE": language, "SECRET_KEY": "test"})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    page = app.test_client().get("/login").get_data(as_text=True)
    assert words in page
    assert ("Log in" in page) == (language == "en")
    assert f'<html lang="{"en" if language == "en" else "nl"}" dir="ltr">' in page


TOKEN = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]*>)", re.S)
SHOWN_ATTRIBUTES = re.compile(r'\b(?:placeholder|aria-label|title|alt|hx-confirm)="([^"]*)"')
EXPRESSIONS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
# Names and sample values that read the same in every language.
UNTRANSLATED = {"fitwerk", "fitwerk kiosk", "Fit aan het werk", "Rotterdam-Zuid", "04497622D93881", "KIOSK_TOKEN"}


def plain_texts(path):
    """Words a template shows that are not a gettext message."""
    found = []
    for i, part in enumerate(TOKEN.split(path.read_text())):
        if i % 2 == 0:
            text = " ".join(part.split()).strip(" ·–—|()")
            # Attribute text a macro writes (aria-describedby="…") is markup, not words.
            if re.search(r"[^\W\d_]", text) and text not in UNTRANSLATED and not re.search(r'[\w-]+="', text):
                found.append(text)
        elif part.startswith("<") and not part.startswith(("<script", "<style", "<!--")):
            # Words around an expression ("Weekdag sessie {{ n }}") are as shown as the ones alone.
            found += [m for m in SHOWN_ATTRIBUTES.findall(part)
                      if re.search(r"[^\W\d_]", EXPRESSIONS.sub("", m)) and m not in UNTRANSLATED]
    return found


WORDS = re.compile(r"[^\W\d_]{2,}")
CODE = re.compile(r"[a-z0-9_./%-]+")  # names, keys, endpoints, formats: not shown as words


def literal_texts(path):
    """String literals inside {{ }} and {% %} that read as words and are not inside _() / ngettext()."""
    from jinja2 import Environment
    tokens = [t for t in Environment(extensions=["jinja2.ext.i18n"]).lex(path.read_text()) if t[1] != "whitespace"]
    found = []
    for i, (_line, kind, value) in enumerate(tokens):
        text = value[1:-1] if kind == "string" else ""
        if not WORDS.search(text) or CODE.fullmatch(text) or text.startswith("<"):
            continue
        depth, j = 0, i - 1   # walk back to the call this literal is an argument of, if any
        while j > 0 and tokens[j][1] not in ("variable_begin", "block_begin"):
            if tokens[j][2] == ")":
                depth += 1
            elif tokens[j][2] == "(":
                if depth == 0 and tokens[j - 1][2] in ("_", "gettext", "ngettext"):
                    break
                depth = max(depth - 1, 0)
            j -= 1
        else:
            found.append(text)
    return found


@pytest.mark.parametrize("app", ["admin", "kiosk"])
def test_every_word_a_template_shows_is_a_message_for_the_catalogues(app):
    unwrapped = {str(p.relative_to(REPO)): texts for p in sorted((REPO / app / "templates").rglob("*.html"))
                 if (texts := plain_texts(p) + literal_texts(p))}
    assert unwrapped == {}, "wrap these in {{ _('…') }} and run make translations-update"


# --- the staff site in English: labels defined in the admin modules, charts and e-mails --------

def staff_site(path, smtp_port, language):
    """Staff, a group in session now with two absent participants (cases opened, one closed as
    excused, one being called), a measurement, a goal, load tests, work found and a ladder rung."""
    from admin import goals, outcomes
    from admin.auth import SYSTEM
    from admin.followup import update_case
    from tests.support.site import Site

    s = Site(path, ADMIN_LANGUAGE=language, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port,
             MAIL_FROM="fitwerk@example.test", ADMIN_BASE_URL="https://admin.fitwerk.test")
    s.staff("admin@example.test", "admin", name="Ada Beheer")
    coach = s.staff("coach@example.test", "lifecoach", name="Lars Visser")
    quiet_coach = s.staff("samira@example.test", "lifecoach", name="Samira Ouali", notify=False)
    s.group_id = s.group()
    s.anoeshka = s.participant("Anoeshka", s.group_id, coach, badge_uid="01010501B00A0001")
    s.mohamed = s.participant("Mohamed", s.group_id, quiet_coach, badge_uid="01010501B00A0002")
    kiosk_id, _token = s.kiosk()
    s.kiosk(name="station-1")
    s.sql("UPDATE kiosks SET role = 'station' WHERE name = 'station-1'")
    s.kiosk_delivered(kiosk_id)
    s.measurement(s.anoeshka, kiosk_id, "2026-11-02T09:00:00+00:00", {"weight_kg": 93.4, "fat_pct": 31.0})
    result = s.app.test_cli_runner().invoke(args=["follow-ups"])  # opens both cases, mails Lars
    assert result.exit_code == 0, result.output
    case = {r["participant_id"]: r["id"] for r in s.sql("SELECT id, participant_id FROM follow_ups")}
    s.case_closed, s.case_called = case[s.anoeshka], case[s.mohamed]
    s._with_request(update_case, SYSTEM, s.case_closed, {"contacted": "reached", "excused": True, "closed": True})
    s._with_request(update_case, SYSTEM, s.case_called, {"contacted": "not_reached"})
    goal = s._with_request(goals.add_goal, SYSTEM, s.anoeshka, {"domain": "physical", "text": "Trap oplopen"})
    s._with_request(goals.score_week, SYSTEM, goal, 1, {"score": 2})
    s._with_request(outcomes.record_load_test, SYSTEM, s.anoeshka,
                    {"moment": "intake", "date": "2026-10-01", "walk_6min_m": 420, "load_capacity": "moderate"})
    s._with_request(outcomes.record_placement, SYSTEM, s.anoeshka, {"kind": "volunteer", "starts_on": "2026-10-15"})
    s._with_request(outcomes.record_rung, SYSTEM, s.anoeshka, {"moment": "intake", "rung": 1})
    return s


# (page, [(Dutch text, its English translation), ...]): each Dutch text comes from a label
# table in an admin module, a chart or a format; none may show on the English staff site.
STAFF_PAGES = [
    ("/board", [("in behandeling", "in progress")]),
    ("/participants/{anoeshka}", [("kioskklok gesynchroniseerd", "kiosk clock synchronised"),
                                  ("Vetpercentage", "Body fat percentage"), ("één meting", "one measurement")]),
    ("/follow-ups?view=all", [("Geëscaleerd", "Escalated"), ("niet bereikt", "not reached"),
                              ("in behandeling", "in progress"), ("gesloten", "closed")]),
    ("/follow-ups/{case_closed}", [("afgehandeld", "handled"), ("bereikt", "reached")]),
    ("/follow-ups/{case_called}", [("uitgezet door de LifeCoach", "turned off by the LifeCoach")]),
    ("/audit", [("gewijzigd", "changed")]),
    ("/kiosks", [("intakestation", "intake station")]),
    ("/groups/{group_id}", [("woensdag", "Wednesday"), ("Weekdag sessie 1", "Weekday session 1")]),
    ("/groups/{group_id}/goals", [("lichamelijk", "physical"), ("veel meer dan verwacht", "much more than expected")]),
    ("/reports/outcomes", [("geïsoleerd", "isolated"), ("einde programma", "end of programme"),
                           ("mentaal", "mental"), ("Uitgevallen", "Dropped out"),
                           ("Zesminutenwandeltest (m)", "Six-minute walk test (m)")]),
    ("/participants/{anoeshka}/programme", [("vrijwilligerswerk", "volunteer work"),
                                            ("beperkt belastbaar", "limited load capacity"),
                                            ("15 maanden", "15 months")]),
    ("/participants/{anoeshka}/handover", [("Lichamelijk", "Physical"), ("matig belastbaar", "moderate load capacity"),
                                           ("Nog geen slotnotitie.", "No closing note yet.")]),
    ("/participants/{anoeshka}/export", [("Afmeldingen vooraf", "Absences reported in advance"),
                                         ("Wekelijkse scores van doelen", "Weekly scores of goals")]),
]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_staff_sites_labels_charts_and_mails_speak_admin_language(smtp_server, language):
    import csv
    import io

    from tests.support.site import post, ram_dir
    with ram_dir() as path:
        s = staff_site(path, smtp_server.port, language)
        admin = s.login("admin@example.test")
        ids = {"anoeshka": s.anoeshka, "group_id": s.group_id, "case_closed": s.case_closed,
               "case_called": s.case_called}
        wrong = []
        for url, pairs in STAFF_PAGES:
            response = admin.get(url.format(**ids))
            assert response.status_code == 200, url
            page = response.get_data(as_text=True)
            for dutch, english in pairs:
                if language == "en" and (dutch in page or english not in page):
                    wrong.append((url, dutch, english))
                if language == "nl" and dutch not in page:
                    wrong.append((url, dutch))
        assert wrong == []

        # Messages the Python code hands to a page: a failed login, a refused form.
        failed = s.app.test_client().post("/login", data={"email": "admin@example.test", "password": "not it"})
        refused = post(admin, "/account", {"phone": "0" * 31})
        assert (failed.status_code, refused.status_code) == (401, 422)
        for page, dutch, english in (
                (failed, "E-mailadres of wachtwoord klopt niet.", "E-mail address or password is not right."),
                (refused, "Het telefoonnummer is te lang.", "The phone number is too long.")):
            assert (english if language == "en" else dutch) in page.get_data(as_text=True)
            assert language == "nl" or dutch not in page.get_data(as_text=True)

        # The CSV headers (and the attendance CSV's cell for Anoeshka's absence excused afterwards).
        table = list(csv.reader(io.StringIO(admin.get(f"/groups/{s.group_id}/attendance.csv").get_data(as_text=True)
                                            .lstrip("\ufeff")), delimiter=";"))
        assert table[0][:4] == (["participant_id", "first_name", "last_name", "week"] if language == "en" else
                                ["deelnemer_id", "voornaam", "achternaam", "week"])
        assert {row[-1] for row in table[1:]} == {"", "yes" if language == "en" else "ja"}
        header = admin.get(f"/participants/{s.anoeshka}/measurements.csv").get_data(as_text=True).lstrip("\ufeff")
        assert header.split("\r\n")[0].split(";")[:5] == (
            ["measurement_id", "participant_id", "moment", "time_utc", "time_source"] if language == "en" else
            ["meting_id", "deelnemer_id", "moment", "tijd_utc", "tijdbron"])

        # The LifeCoach's e-mail, sent over SMTP by the every-minute command.
        (mail,) = smtp_server.to("coach@example.test")
        subject, body = mail["subject"], mail["body"]
        case_link = f"https://admin.fitwerk.test/follow-ups/{s.case_closed}"
        assert case_link in body and "Anoeshka" in body and "Lars Visser" in body
        if language == "en":
            assert subject == f"Follow-up needed: absent without notice (case {s.case_closed})"
            assert "Anoeshka was not at the session of Groep B (" in body and "had not called in" in body
            assert re.search(r"\((Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d-\d\d-\d{4} at \d\d:\d\d\)", body)
            assert not any(dutch in subject + body for dutch in ("Opvolging", "niet bij de sessie", " om ", "Hallo"))
        else:
            assert subject == f"Opvolging nodig: afwezig zonder afmelding (casus {s.case_closed})"
            assert "Anoeshka was niet bij de sessie van Groep B (" in body
            assert re.search(r"\((ma|di|wo|do|vr|za|zo) \d\d-\d\d-\d{4} om \d\d:\d\d\)", body)
