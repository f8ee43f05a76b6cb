"""E-mail about follow-up cases over SMTP: the LifeCoach when a case opens, the
coordinators when it is escalated. Each case is claimed in the database before a mail
goes out, so two senders (a request's background thread, the every-minute command)
never both send it. Mails hold a first name and a link with the case number: no
health data, no surname, no phone number."""
import logging
import smtplib
import ssl
import threading
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask_babel import format_date
from flask_babel import gettext as _

from common.clock import stamp, utc_now
from common.db import connect

from . import followup

log = logging.getLogger("fitwerk.admin.notify")
CLAIM_STALE = timedelta(minutes=10)  # a sender that crashed mid-send; try again after this
MAX_AGE = timedelta(days=1)          # older cases are not mailed any more
_sender = threading.Lock()


def _flag(config, key):
    return str(config.get(key, "")).lower() in ("1", "true", "yes")


def send_mail(config, to, subject, body):
    """Send one plain-text mail through the configured SMTP server."""
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM") or "fitwerk@localhost"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="fitwerk")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=10) as smtp:
        if _flag(config, "SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD", ""))
        smtp.send_message(message)


def case_link(config, case_id):
    """The case page's address (the case number only: no personal data in the URL)."""
    return f"{(config.get('ADMIN_BASE_URL') or '').rstrip('/')}/follow-ups/{case_id}"


def _when(case):
    day = date.fromisoformat(case["session_date"])
    # TRANSLATORS: a Babel date pattern, e.g. "ma 30-11-2026" (EEE is the short weekday).
    shown = format_date(day, _("EEE dd-MM-yyyy"))
    return _("%(day)s om %(time)s", day=shown, time=case["session_start"])


# The mails speak the staff site's language (ADMIN_LANGUAGE), like the pages they link to.
def lifecoach_mail(config, case):
    """(subject, body) of the mail to the LifeCoach when a case opens."""
    subject = _("Opvolging nodig: afwezig zonder afmelding (casus %(id)s)", id=case["id"])
    body = _("Hallo %(name)s,\n\n"
             "%(first_name)s was niet bij de sessie van %(group)s (%(when)s) en had zich niet afgemeld.\n\n"
             "Wil je zo snel mogelijk contact opnemen en het gesprek vastleggen in de casus:\n"
             "%(link)s\n\n"
             "Je krijgt dit bericht omdat je de LifeCoach bent. E-mailmeldingen zet je uit onder 'Mijn account'.\n",
             name=case["coach_name"] or "", first_name=case["first_name"],
             group=case["group_name"] or _("de groep"), when=_when(case), link=case_link(config, case["id"]))
    return subject, body


def escalation_mail(config, case, coordinator_name):
    """(subject, body) of the mail to a coordinator when a case is escalated."""
    subject = _("Geëscaleerd: opvolging niet opgepakt (casus %(id)s)", id=case["id"])
    body = _("Hallo %(name)s,\n\n"
             "De opvolging van de afwezigheid van %(first_name)s (%(group)s, %(when)s) is niet op tijd opgepakt. "
             "LifeCoach: %(coach)s.\n\n"
             "Casus: %(link)s\n\n"
             "E-mailmeldingen zet je uit onder 'Mijn account'.\n",
             name=coordinator_name or "", first_name=case["first_name"], group=case["group_name"] or _("groep"),
             when=_when(case), coach=case["coach_name"] or _("(geen LifeCoach gekoppeld)"),
             link=case_link(config, case["id"]))
    return subject, body


def _notify_lifecoach(conn, config, case_id, now):
    stale = stamp(now - CLAIM_STALE)
    claimed = conn.execute(
        "UPDATE follow_ups SET mail_claimed_at = ? WHERE id = ? AND mail_result IS NULL "
        "AND (mail_claimed_at IS NULL OR mail_claimed_at < ?)", (stamp(now), case_id, stale)).rowcount
    if not claimed:
        return None  # another sender has it
    case = followup.load_case(conn, case_id)
    if case["closed_at"]:
        result = "closed"  # settled before anyone was told (checked in a minute late)
    elif case["lifecoach_id"] is None:
        result = "no_lifecoach"
    elif not case["coach_active"] or not case["coach_email"]:
        result = "no_address"
    elif not case["coach_notify"]:
        result = "opted_out"
    else:
        try:
            send_mail(config, case["coach_email"], *lifecoach_mail(config, case))
        except (OSError, smtplib.SMTPException) as exc:
            conn.execute("UPDATE follow_ups SET mail_claimed_at = NULL WHERE id = ?", (case_id,))
            log.warning("follow-up case %d: mail to the LifeCoach failed (%s); will retry", case_id,
                        type(exc).__name__)
            return "failed"
        result = "sent"
    conn.execute("UPDATE follow_ups SET mail_result = ?, mail_sent_at = ? WHERE id = ?",
                 (result, stamp(utc_now()) if result == "sent" else None, case_id))
    log.info("follow-up case %d: LifeCoach mail %s", case_id, result)
    return result


def _notify_coordinators(conn, config, case_id, now):
    # The stamp is the claim: set before sending, cleared again when sending failed.
    if not conn.execute("UPDATE follow_ups SET escalation_mailed_at = ? WHERE id = ? AND escalation_mailed_at IS NULL",
                        (stamp(now), case_id)).rowcount:
        return None
    case = followup.load_case(conn, case_id)
    coordinators = conn.execute("SELECT email, name FROM staff WHERE role = 'coordinator' AND active = 1 "
                                "AND notify_email = 1 ORDER BY id").fetchall()
    try:
        for coordinator in coordinators:
            send_mail(config, coordinator["email"], *escalation_mail(config, case, coordinator["name"]))
    except (OSError, smtplib.SMTPException) as exc:
        conn.execute("UPDATE follow_ups SET escalation_mailed_at = NULL WHERE id = ?", (case_id,))
        log.warning("follow-up case %d: escalation mail failed (%s); will retry", case_id, type(exc).__name__)
        return "failed"
    log.info("follow-up case %d: escalation mailed to %d coordinator(s)", case_id, len(coordinators))
    return "sent" if coordinators else "no_coordinator"


def send_due(conn, config, now):
    """Send every mail that is due; returns counts {'mailed', 'escalation_mailed', 'mail_failed'}."""
    counts = {"mailed": 0, "escalation_mailed": 0, "mail_failed": 0}
    if not config.get("SMTP_HOST"):
        return counts
    since = stamp(now - MAX_AGE)
    for (case_id,) in conn.execute("SELECT id FROM follow_ups WHERE mail_result IS NULL AND opened_at >= ? "
                                   "ORDER BY id", (since,)).fetchall():
        result = _notify_lifecoach(conn, config, case_id, now)
        counts["mailed"] += result == "sent"
        counts["mail_failed"] += result == "failed"
    for (case_id,) in conn.execute("SELECT id FROM follow_ups WHERE escalated_at IS NOT NULL AND closed_at IS NULL "
                                   "AND escalation_mailed_at IS NULL AND escalated_at >= ? ORDER BY id",
                                   (since,)).fetchall():
        result = _notify_coordinators(conn, config, case_id, now)
        counts["escalation_mailed"] += result == "sent"
        counts["mail_failed"] += result == "failed"
    return counts


def _send_in_background(app):
    # The app context gives the mails the staff site's language (Flask-Babel needs one).
    with _sender, app.app_context():  # one sender per process at a time; the claims guard between processes
        conn = connect(app.config["ADMIN_DB"])
        try:
            send_due(conn, app.config, utc_now())
        except Exception:  # a background thread has nobody to report to but the log
            log.exception("sending follow-up mail failed")
        finally:
            conn.close()


def send_soon(app):
    """Send what is due in a background thread, so the request that opened a case is not held up."""
    threading.Thread(target=_send_in_background, args=(app,), name="fitwerk-mail", daemon=True).start()
