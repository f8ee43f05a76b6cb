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
SHOWN_ATTRIBUTES = re.compile(r'\b(?:placeholder|aria-label|title|alt|hx-confirm)="([^"{}]*[^\W\d_][^"{}]*)"')
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
            found += [m for m in SHOWN_ATTRIBUTES.findall(part) if m not in UNTRANSLATED]
    return found


@pytest.mark.parametrize("app", ["admin", "kiosk"])
def test_every_word_a_template_shows_is_a_message_for_the_catalogues(app):
    unwrapped = {str(p.relative_to(REPO)): texts for p in sorted((REPO / app / "templates").rglob("*.html"))
                 if (texts := plain_texts(p))}
    assert unwrapped == {}, "wrap these in {{ _('…') }} and run make translations-update"
