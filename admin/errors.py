"""Validation errors keyed by field and code, and their messages: English for the JSON API,
the staff site's language (Dutch message ids, translated by Babel) for the pages."""
from flask_babel import gettext


def N_(text):
    """Mark a message id for the catalogue; it is translated when shown."""
    return text


class Problem(Exception):
    """Something about `field` (None: the request as a whole) keeps a change from being made;
    `code` says what, `params` fill in the message."""

    def __init__(self, field, code, **params):
        self.field, self.code, self.params = field, code, params
        super().__init__(API_MESSAGES[code].format(field=field, **params))

    def message(self):
        """The message for the staff pages, in the site's language."""
        label = gettext(LABELS[self.field]) if self.field in LABELS else self.field or ""
        return gettext(MESSAGES[self.code], label=label, lower=label.lower(), **self.params)


class Invalid(Problem, ValueError):
    """A request that cannot be carried out as asked (400 on the API, 422 on a page)."""


class NotFound(Problem, LookupError):
    """A record the request names does not exist (404)."""


class Forbidden(Problem, PermissionError):
    """Not this staff member's to do: a LifeCoach and someone else's participant (403)."""


LABELS = {
    "first_name": N_("Voornaam"), "last_name": N_("Achternaam"), "group_id": N_("Groep"), "badge_uid": N_("Badge"),
    "uid": N_("Badge"), "phone": N_("Telefoon"), "status": N_("Status"), "lifecoach_id": N_("LifeCoach"),
    "name": N_("Naam"), "location": N_("Locatie"), "starts_on": N_("Startdatum"), "weeks": N_("Aantal weken"),
    "grace_minutes": N_("Coulance (minuten)"), "sessions": N_("Sessies"), "date": N_("Datum"),
    "reason": N_("Reden"), "note": N_("Notitie"), "next_step": N_("Vervolgstap"), "email": N_("E-mailadres"),
    "role": N_("Rol"), "password": N_("Wachtwoord"), "contacted": N_("Contact"), "excused": N_("Verschoond"),
    "language": N_("Taal"), "participant_id": N_("Deelnemer"), "format": N_("Badgeformaat"), "sex": N_("Geslacht"),
    "birth_date": N_("Geboortedatum"), "decision": N_("Besluit"), "moment": N_("Moment"),
    "load_capacity": N_("Belastbaarheid"), "kind": N_("Soort"), "ends_on": N_("Einddatum"),
    "hours_per_week": N_("Uren per week"), "rung": N_("Trede"), "walk_6min_m": N_("Zesminutenwandeltest (m)"),
    "chair_stands_30s": N_("Opstaan uit een stoel in 30 s"), "grip_left_kg": N_("Knijpkracht links (kg)"),
    "grip_right_kg": N_("Knijpkracht rechts (kg)"), "referred_to": N_("Verwezen naar"), "domain": N_("Domein"),
    "text": N_("Tekst"), "levels": N_("Niveaus"), "score": N_("Score"), "week": N_("Week"), "from": N_("Vanaf"),
    "to": N_("Tot en met"), "pin": N_("Pincode"), "target": N_("Groep of locatie"),
    "moved_to": N_("Nieuwe datum"), "moved_start": N_("Nieuw begin"), "moved_end": N_("Nieuw eind"),
}

# One entry per code. {field} and the params fill in the English; %(label)s, %(lower)s
# (the field's label) and the params the page's.
API_MESSAGES = {
    "not_an_object": "body must be a JSON object",
    "required": "'{field}' is required (text)",
    "choose": "'{field}' is required",
    "text": "'{field}' must be text",
    "too_long": "'{field}' is longer than {max} characters",
    "too_short": "'{field}' must have at least {min} characters",
    "text_max": "'{field}' must be text of at most {max} characters",
    "number": "'{field}' must be a number",
    "number_range": "'{field}' must be a number from {low} to {high}",
    "whole_number": "'{field}' must be a whole number from {low} to {high}",
    "date": "'{field}' must be a date YYYY-MM-DD",
    "no_such_date": "'{field}' is not a real date",
    "birth_date_range": "'birth_date' must lie between 1900 and today",
    "choice": "'{field}' must be one of {choices}",
    "either": "'{field}' must be {choices}",
    "week": "the week must be a whole number from {low} to {high}",
    "levels": "'levels' must map scores -2..2 to descriptions of at most 200 characters",
    "reason_when_not_eligible": "'reason' is required when not eligible",
    "test_or_capacity": "give at least one test result or the load capacity",
    "ends_before_starts": "'ends_on' must not be before 'starts_on'",
    "pin": "the PIN must be 4 to 8 digits",
    "unknown_field": "unknown field '{name}'",
    "no_sessions": "'sessions' must be a non-empty list",
    "session_object": "sessions[{index}] must be an object",
    "weekday": "sessions[{index}]: 'weekday' must be a whole number from 0 to 6",
    "session_times": "sessions[{index}]: 'start' and 'end' must be HH:MM",
    "session_order": "sessions[{index}]: 'end' must be after 'start'",
    "no_such_group": "no such group",
    "no_such_participant": "no such participant",
    "no_such_badge": "no such badge",
    "no_such_excuse": "no such excuse",
    "no_such_kiosk": "no such kiosk",
    "not_a_lifecoach": "'lifecoach_id' is not a LifeCoach",
    "badge_number": "{detail}",
    "badge_taken": "this badge already belongs to someone else; revoke it there first",
    "kiosk_exists": "a kiosk named {name} exists already",
    "not_yours": "a LifeCoach may do this only for their own participants",
    "email": "'email' must be an e-mail address",
    "email_taken": "there is an account with this e-mail address already",
    "own_admin": "you cannot take away your own admin rights",
    "case_closed": "this case is closed; reopen it first",
    "reached_to_close": "say whether the participant was reached before closing the case",
    "excused_to_close": "say whether the absence is excused before closing the case",
    "calendar_reason": "'reason' is required (text, at most 200 characters)",
    "moved_times": "'moved_start' and 'moved_end' must be HH:MM",
    "moved_order": "'moved_end' must be after 'moved_start'",
    "move_same_day": "'moved_to' is the session's own date: give 'moved_start' and 'moved_end' to move it within the day",
    "nothing_to_move": "no session of the group on {day} to move",
    "nothing_to_move_here": "no session at {location} on {day} to move",
    "outside_programme": "{group}: 'moved_to' {target} is outside the programme ({start} to {end})",
    "session_clash": "{group} already has a session on {target} from {start} to {end}",
    "several_sessions": "{group} has more than one session on {day}: move them without new times, or cancel one",
}
MESSAGES = {
    "not_an_object": N_("Het formulier kwam niet goed aan; probeer het opnieuw."),
    "required": N_("%(label)s is verplicht."),
    "choose": N_("Kies een %(lower)s."),
    "text": N_("%(label)s moet tekst zijn."),
    "too_long": N_("%(label)s is langer dan %(max)s tekens."),
    "too_short": N_("%(label)s moet minstens %(min)s tekens hebben."),
    "text_max": N_("%(label)s: tekst van hoogstens %(max)s tekens."),
    "number": N_("%(label)s moet een getal zijn."),
    "number_range": N_("%(label)s moet een getal van %(low)s tot en met %(high)s zijn."),
    "whole_number": N_("%(label)s moet een heel getal van %(low)s tot en met %(high)s zijn."),
    "date": N_("%(label)s moet een datum zijn."),
    "no_such_date": N_("%(label)s is geen bestaande datum."),
    "birth_date_range": N_("De geboortedatum ligt na 1900 en niet in de toekomst."),
    "choice": N_("Kies een geldige waarde voor %(lower)s."),
    "either": N_("Kies een geldige waarde voor %(lower)s."),
    "week": N_("Kies een week van %(low)s tot en met %(high)s."),
    "levels": N_("Beschrijf de niveaus -2 tot en met 2 in hoogstens 200 tekens elk."),
    "reason_when_not_eligible": N_("Geef een reden als de deelnemer niet in aanmerking komt."),
    "test_or_capacity": N_("Vul minstens één testuitslag of de belastbaarheid in."),
    "ends_before_starts": N_("De einddatum ligt niet voor de begindatum."),
    "pin": N_("Een pincode heeft 4 tot 8 cijfers."),
    "unknown_field": N_("Onbekend veld %(name)s."),
    "no_sessions": N_("Geef minstens één sessie per week op."),
    "session_object": N_("Sessie %(number)s klopt niet."),
    "weekday": N_("Sessie %(number)s: kies een weekdag."),
    "session_times": N_("Sessie %(number)s: begin en eind als UU:MM."),
    "session_order": N_("Sessie %(number)s: het eind moet na het begin liggen."),
    "no_such_group": N_("Deze groep bestaat niet."),
    "no_such_participant": N_("Deze deelnemer bestaat niet."),
    "no_such_badge": N_("Deze badge bestaat niet."),
    "no_such_excuse": N_("Deze afmelding bestaat niet."),
    "no_such_kiosk": N_("Deze kiosk bestaat niet."),
    "not_a_lifecoach": N_("Kies een LifeCoach uit de lijst."),
    "badge_number": N_("Dit badgenummer klopt niet: een UID is 8 tot 20 hexadecimale tekens, of kies het "
                       "formaat waarin het nummer op de badge staat."),
    "badge_taken": N_("Deze badge is al van iemand anders. Trek hem daar eerst in."),
    "kiosk_exists": N_("Er bestaat al een kiosk met de naam %(name)s."),
    "not_yours": N_("Dit mag alleen de LifeCoach van deze deelnemer."),
    "email": N_("Vul een geldig e-mailadres in."),
    "email_taken": N_("Er is al een account met dit e-mailadres."),
    "own_admin": N_("Je kunt je eigen beheerrechten niet intrekken."),
    "case_closed": N_("Deze casus is gesloten; heropen hem eerst."),
    "reached_to_close": N_("Geef aan of je de deelnemer hebt bereikt voordat je de casus sluit."),
    "excused_to_close": N_("Geef aan of de afwezigheid verschoond is voordat je de casus sluit."),
    "calendar_reason": N_("Geef een reden van hoogstens 200 tekens."),
    "moved_times": N_("Geef het nieuwe begin en eind allebei, als UU:MM."),
    "moved_order": N_("Het nieuwe eind moet na het nieuwe begin liggen."),
    "move_same_day": N_("Dat is de eigen datum van de sessie: geef een nieuw begin en eind om hem binnen de dag "
                        "te verplaatsen."),
    "nothing_to_move": N_("Deze groep heeft op %(day)s geen sessie om te verplaatsen."),
    "nothing_to_move_here": N_("Op %(location)s is op %(day)s geen sessie om te verplaatsen."),
    "outside_programme": N_("%(group)s: %(target)s ligt buiten het programma (%(start)s tot en met %(end)s)."),
    "session_clash": N_("%(group)s heeft op %(target)s al een sessie van %(start)s tot %(end)s."),
    "several_sessions": N_("%(group)s heeft op %(day)s meer dan één sessie: verplaats ze zonder nieuwe tijden, "
                           "of zeg er één af."),
}
