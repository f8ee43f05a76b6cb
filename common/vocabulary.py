"""The programme's words, each list defined once with its labels: measurement fields and
moments, staff roles, participant and attendance statuses. Everything else imports them."""
from typing import NamedTuple


class Field(NamedTuple):
    """One measurement field: wire name, label, unit, instrument, plausible range, integer or not."""

    name: str
    label: str
    unit: str
    instrument: str  # "scale" or "bp"
    plausible: tuple
    integer: bool = False

    @property
    def label_with_unit(self):
        """'Gewicht (kg)', or the bare label when the field has no unit."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


# In the order screens and exports show them. A value outside `plausible` rejects a
# device frame, and asks for a confirmation when typed in by hand.
MEASUREMENT_FIELDS = {f.name: f for f in (
    Field("weight_kg", "Gewicht", "kg", "scale", (20, 300)),
    Field("height_cm", "Lengte", "cm", "scale", (90, 250)),
    Field("bmi", "BMI", "", "scale", (8, 90)),
    Field("fat_pct", "Vet", "%", "scale", (1, 75)),
    Field("fat_mass_kg", "Vetmassa", "kg", "scale", (0.2, 250)),
    Field("fat_free_mass_kg", "Vetvrije massa", "kg", "scale", (10, 200)),
    Field("muscle_mass_kg", "Spiermassa", "kg", "scale", (8, 200)),
    Field("bone_mass_kg", "Botmassa", "kg", "scale", (0.5, 12)),
    Field("water_kg", "Lichaamsvocht", "kg", "scale", (5, 150)),
    Field("water_pct", "Lichaamsvocht", "%", "scale", (20, 85)),
    Field("visceral_fat", "Visceraal vet", "", "scale", (1, 59)),
    Field("bmr_kcal", "Ruststofwisseling", "kcal", "scale", (500, 6000), integer=True),
    Field("metabolic_age", "Metabole leeftijd", "", "scale", (5, 120), integer=True),
    Field("impedance_ohm", "Impedantie", "Ω", "scale", (100, 1500)),
    Field("systolic_mmhg", "Bovendruk", "mmHg", "bp", (50, 280), integer=True),
    Field("diastolic_mmhg", "Onderdruk", "mmHg", "bp", (30, 200), integer=True),
    Field("mean_arterial_mmhg", "Gemiddelde druk", "mmHg", "bp", (35, 250), integer=True),
    Field("pulse_bpm", "Hartslag", "/min", "bp", (25, 250), integer=True),
)}
INSTRUMENTS = {"scale": "Weegschaal", "bp": "Bloeddrukmeter"}


def instrument_fields(instrument):
    """The field names an instrument (scale, bp) reports, in order."""
    return tuple(name for name, f in MEASUREMENT_FIELDS.items() if f.instrument == instrument)


MOMENTS = {"intake": "Intake", "week6": "Week 6", "week12": "Week 12", "other": "Tussendoor"}

ROLES = {"admin": "beheerder", "coordinator": "coördinator", "lifecoach": "LifeCoach", "physio": "fysiotherapeut",
         "trainer": "beweegadviseur", "doctor": "arts"}
HEALTH_ROLES = ("admin", "physio", "doctor")              # measurements, intake tests and charts
SCREENING_ROLES = ("admin", "doctor")                     # the screening decision
GOAL_ROLES = ("admin", "coordinator", "trainer")          # set goals and score them every week
FOLLOW_UP_ROLES = ("admin", "coordinator", "lifecoach")  # attendance, excuses, follow-up cases
MANAGER_ROLES = ("admin", "coordinator")                  # enrol, badges, groups
COACH_ROLES = ("lifecoach", "coordinator")                # who can be a participant's LifeCoach
UNLOCK_ROLES = ("physio", "admin")                        # whose badge unlocks the station

PARTICIPANT_STATUSES = {"referred_in": "aangemeld", "intake": "intake", "active": "actief", "completed": "afgerond", "withdrawn": "gestopt",
                        "referred": "doorverwezen"}
ACTIVE_STATUSES = ("intake", "active")  # on the roster, expected at sessions
SEXES = {"male": "man", "female": "vrouw"}  # what a body-composition scale computes with; unknown: weight only

ATTENDANCE_STATUSES = {"expected": "verwacht", "present": "aanwezig", "late": "te laat", "absent": "afwezig",
                       "excused": "afgemeld", "unknown": "onbekend"}

CHECKIN_RESULTS = ("on_time", "late", "already", "unknown_badge", "no_session", "inactive", "staff")
