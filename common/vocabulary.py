"""The programme's words, each list defined once with its labels: measurement fields and
moments, staff roles, participant and attendance statuses. Everything else imports them."""
from typing import NamedTuple


def N_(text):
    """Mark a label for the gettext catalogues; the app translates it where it is shown."""
    return text


class Field(NamedTuple):
    """One measurement field: wire name, label, unit, instrument, plausible range, integer or not."""

    name: str
    label: str
    unit: str
    instrument: str  # "scale" or "bp"
    plausible: tuple
    integer: bool = False



# In the order screens and exports show them. A value outside `plausible` rejects a
# device frame, and asks for a confirmation when typed in by hand.
MEASUREMENT_FIELDS = {f.name: f for f in (
    Field("weight_kg", N_("Gewicht"), "kg", "scale", (20, 300)),
    Field("height_cm", N_("Lengte"), "cm", "scale", (90, 250)),
    Field("bmi", N_("BMI"), "", "scale", (8, 90)),
    Field("fat_pct", N_("Vet"), "%", "scale", (1, 75)),
    Field("fat_mass_kg", N_("Vetmassa"), "kg", "scale", (0.2, 250)),
    Field("fat_free_mass_kg", N_("Vetvrije massa"), "kg", "scale", (10, 200)),
    Field("muscle_mass_kg", N_("Spiermassa"), "kg", "scale", (8, 200)),
    Field("bone_mass_kg", N_("Botmassa"), "kg", "scale", (0.5, 12)),
    Field("water_kg", N_("Lichaamsvocht"), "kg", "scale", (5, 150)),
    Field("water_pct", N_("Lichaamsvocht"), "%", "scale", (20, 85)),
    Field("visceral_fat", N_("Visceraal vet"), "", "scale", (1, 59)),
    Field("bmr_kcal", N_("Ruststofwisseling"), "kcal", "scale", (500, 6000), integer=True),
    Field("metabolic_age", N_("Metabole leeftijd"), "", "scale", (5, 120), integer=True),
    Field("impedance_ohm", N_("Impedantie"), "Ω", "scale", (100, 1500)),
    Field("systolic_mmhg", N_("Bovendruk"), "mmHg", "bp", (50, 280), integer=True),
    Field("diastolic_mmhg", N_("Onderdruk"), "mmHg", "bp", (30, 200), integer=True),
    Field("mean_arterial_mmhg", N_("Gemiddelde druk"), "mmHg", "bp", (35, 250), integer=True),
    Field("pulse_bpm", N_("Hartslag"), "/min", "bp", (25, 250), integer=True),
)}
INSTRUMENTS = {"scale": N_("Weegschaal"), "bp": N_("Bloeddrukmeter")}


def instrument_fields(instrument):
    """The field names an instrument (scale, bp) reports, in order."""
    return tuple(name for name, f in MEASUREMENT_FIELDS.items() if f.instrument == instrument)


MOMENTS = {"intake": N_("Intake"), "week6": N_("Week 6"), "week12": N_("Week 12"), "other": N_("Tussendoor")}

ROLES = {"admin": N_("beheerder"), "coordinator": N_("coördinator"), "lifecoach": N_("LifeCoach"),
         "physio": N_("fysiotherapeut"), "trainer": N_("beweegadviseur"), "doctor": N_("arts")}
HEALTH_ROLES = ("admin", "physio", "doctor")              # measurements, intake tests and charts
SCREENING_ROLES = ("admin", "doctor")                     # the screening decision
GOAL_ROLES = ("admin", "coordinator", "trainer")          # set goals and score them every week
FOLLOW_UP_ROLES = ("admin", "coordinator", "lifecoach")  # attendance, excuses, follow-up cases
MANAGER_ROLES = ("admin", "coordinator")                  # enrol, badges, groups
COACH_ROLES = ("lifecoach", "coordinator")                # who can be a participant's LifeCoach
UNLOCK_ROLES = ("physio", "admin")                        # whose badge unlocks the station

PARTICIPANT_STATUSES = {"referred_in": N_("aangemeld"), "intake": N_("intake"), "active": N_("actief"),
                        "completed": N_("afgerond"), "withdrawn": N_("gestopt"), "referred": N_("doorverwezen")}
ACTIVE_STATUSES = ("intake", "active")  # on the roster, expected at sessions
SEXES = {"male": N_("man"), "female": N_("vrouw")}  # what a body-composition scale computes with; unknown: weight only

ATTENDANCE_STATUSES = {"expected": N_("verwacht"), "present": N_("aanwezig"), "late": N_("te laat"), "absent": N_("afwezig"),
                       "excused": N_("afgemeld"), "unknown": N_("onbekend")}

CHECKIN_RESULTS = ("on_time", "late", "already", "unknown_badge", "no_session", "inactive", "staff")
