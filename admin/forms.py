"""Small helpers the staff pages share: full page or htmx fragment from one URL, and
validation messages (written once, in English, in programme.py) shown in Dutch."""
import re

from flask import redirect, render_template
from flask_htmx import HTMX
from flask_htmx.responses import HTMXResponseClientRedirect

htmx = HTMX()

FIELD_LABELS = {
    "first_name": "Voornaam", "last_name": "Achternaam", "group_id": "Groep", "badge_uid": "Badge",
    "uid": "Badge", "phone": "Telefoon", "status": "Status", "lifecoach_id": "LifeCoach",
    "name": "Naam", "location": "Locatie", "starts_on": "Startdatum", "weeks": "Aantal weken",
    "grace_minutes": "Coulance (minuten)", "sessions": "Sessies", "weekday": "Weekdag",
    "date": "Datum", "reason": "Reden", "note": "Notitie", "next_step": "Vervolgstap",
    "email": "E-mailadres", "role": "Rol", "password": "Wachtwoord", "contacted": "Contact",
    "excused": "Verschoond", "language": "Taal", "sex": "Geslacht", "birth_date": "Geboortedatum",
}

_PATTERNS = [
    (r"'(\w+)' is required.*", lambda m: f"{_label(m[1])} is verplicht."),
    (r"'(\w+)' is longer than (\d+) characters", lambda m: f"{_label(m[1])} is langer dan {m[2]} tekens."),
    (r"'(\w+)' must be a whole number from (\d+) to (\d+)",
     lambda m: f"{_label(m[1])} moet een heel getal van {m[2]} tot en met {m[3]} zijn."),
    (r"'(\w+)' must be a date YYYY-MM-DD", lambda m: f"{_label(m[1])} moet een datum zijn."),
    (r"'(\w+)' is not a real date", lambda m: f"{_label(m[1])} is geen bestaande datum."),
    (r"'birth_date' must lie between 1900 and today", lambda m: "De geboortedatum ligt na 1900 en niet in de toekomst."),
    (r"'(\w+)' must be one of .*", lambda m: f"Kies een geldige waarde voor {_label(m[1]).lower()}."),
    (r"'lifecoach_id' is not a LifeCoach", lambda m: "Kies een LifeCoach uit de lijst."),
    (r"sessions\[(\d+)\]: 'start' and 'end' must be HH:MM",
     lambda m: f"Sessie {int(m[1]) + 1}: begin en eind als UU:MM."),
    (r"sessions\[(\d+)\]: 'end' must be after 'start'", lambda m: f"Sessie {int(m[1]) + 1}: het eind moet na het begin liggen."),
    (r"sessions\[(\d+)\].*weekday.*", lambda m: f"Sessie {int(m[1]) + 1}: kies een weekdag."),
    (r"'sessions' must be a non-empty list", lambda m: "Geef minstens één sessie per week op."),
    (r"no such group", lambda m: "Deze groep bestaat niet."),
    (r"no such participant", lambda m: "Deze deelnemer bestaat niet."),
    (r"this badge already belongs to someone else.*",
     lambda m: "Deze badge is al van iemand anders. Trek hem daar eerst in."),
    (r"badge uid must be.*", lambda m: "Een badge-UID bestaat uit 8 tot 20 hexadecimale tekens."),
    (r"a kiosk named (.+) exists already", lambda m: f"Er bestaat al een kiosk met de naam {m[1]}."),
    (r"say whether the participant was reached.*",
     lambda m: "Geef aan of je de deelnemer hebt bereikt voordat je de casus sluit."),
    (r"say whether the absence is excused.*",
     lambda m: "Geef aan of de afwezigheid verschoond is voordat je de casus sluit."),
    (r"this case is closed.*", lambda m: "Deze casus is gesloten; heropen hem eerst."),
]


def _label(key):
    return FIELD_LABELS.get(key, key)


def dutch_error(message):
    """A validation message for the staff pages, in Dutch when we know it."""
    for pattern, make in _PATTERNS:
        match = re.fullmatch(pattern, message)
        if match:
            return make(match)
    return message


def wants_fragment():
    """Whether htmx asked for a fragment (a history restore wants the whole page)."""
    return bool(htmx) and not htmx.history_restore_request


def page_or_fragment(page, fragment, status=200, **context):
    """The full page, or only its fragment for htmx: one URL, one template for both."""
    return render_template(fragment if wants_fragment() else page, **context), status


def int_or_none(text):
    """An int from a form field, or None when empty or not a number."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def see_other(url):
    """After a successful POST: a 303 to `url`, or for htmx a client-side redirect (htmx
    would otherwise follow the 303 itself and swap a whole page into the fragment)."""
    return HTMXResponseClientRedirect(url) if htmx else redirect(url, 303)
