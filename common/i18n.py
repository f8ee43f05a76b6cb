"""The languages fitwerk speaks and Flask-Babel set up for either app.

Message ids are the Dutch texts: Dutch is the programme's language and the fallback,
so a text without a translation (or a language without a catalogue) shows in Dutch.
Catalogues live in common/translations/<lang>/LC_MESSAGES/<domain>.po, one domain
per app (`kiosk`, `admin`); `make translations` compiles them to .mo files."""
from pathlib import Path

from flask_babel import Babel, get_locale

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LANGUAGE = "nl"
# Each language under its own name, as a participant would look for it in a list.
LANGUAGES = {
    "nl": "Nederlands",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "pl": "Polski",
}
RIGHT_TO_LEFT = {"ar"}


def language_or_default(code):
    """`code` when we speak it, else Dutch."""
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def direction(code):
    """The writing direction of a language, for the HTML dir attribute."""
    return "rtl" if code in RIGHT_TO_LEFT else "ltr"


def page_language():
    """The language this request is rendered in, for <html lang>."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def init_babel(app, domain, locale_selector):
    """Flask-Babel for `app` with its own catalogue domain; `_` in templates and Python."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel = Babel(app, default_domain=domain, default_translation_directories=str(TRANSLATIONS),
                  locale_selector=locale_selector)
    app.jinja_env.globals.update(languages=LANGUAGES, text_direction=direction, page_language=page_language)
    return babel
