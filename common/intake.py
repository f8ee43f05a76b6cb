"""What both sides know of how a measurement was taken: the contraindication questions and
their codes, the reasons an instrument was not used, and what a saved record says of each
instrument (done, skipped, contraindicated) at its moment."""
from .vocabulary import INSTRUMENTS, N_, instrument_fields

ANSWERS = {"yes": N_("ja"), "no": N_("nee"), "unknown": N_("weet niet")}  # "weet niet" counts as "ja"
QUESTIONS = {
    "scale": {"implant": N_("Geïmplanteerd elektronisch apparaat (pacemaker, ICD, neurostimulator)?"),
              "pregnant": N_("Zwanger, of misschien zwanger?")},
    "bp": {"arm_right": N_("Rechterarm: shunt, gips, lymfeklieroperatie of wond?"),
           "arm_left": N_("Linkerarm: shunt, gips, lymfeklieroperatie of wond?")},
}
STANDING = ("implant",)  # true at the next moment too: remembered and shown, not asked blindly
ARMS = {"right": N_("rechts"), "left": N_("links")}
CUFFS = ("S", "M", "L", "XL")
STATES = {"done": N_("gedaan"), "skipped": N_("overgeslagen"), "contraindicated": N_("contra-indicatie"),
          "todo": N_("nog te doen")}
PROGRAMME_MOMENTS = ("intake", "week6", "week12")  # the moments every participant is measured at


def contraindicated(screening, instrument):
    """The codes that rule the instrument out: answered yes, or not known."""
    answers = (screening or {}).get(instrument, {}).get("answers", {})
    return [code for code in QUESTIONS[instrument] if answers.get(code) in ("yes", "unknown")]


def record_states(values, skipped):
    """What one saved record says of each instrument: done, skipped or contraindicated."""
    states = {}
    for instrument in INSTRUMENTS:
        if any(field in values for field in instrument_fields(instrument)):
            states[instrument] = "done"
        elif instrument in (skipped or {}):
            states[instrument] = "contraindicated" if skipped[instrument].get("contraindicated") else "skipped"
    return states


def standing_answers(screenings):
    """From screenings oldest first: the standing codes whose latest answer rules an instrument out."""
    latest = {}
    for screening in screenings:
        for instrument in QUESTIONS:
            for code, answer in (screening or {}).get(instrument, {}).get("answers", {}).items():
                if code in STANDING:
                    latest[code] = answer
    return [code for code, answer in latest.items() if answer in ("yes", "unknown")]
