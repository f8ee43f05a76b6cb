"""`flask --app admin …` commands for operators and scripts."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from common.db import transaction
from common.vocabulary import ROLES

from . import auth, programme
from .db import get_db, init_db, now_iso
from .errors import Invalid


def _password(password_stdin):
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or migrate the database (idempotent)."""
    init_db(current_app.config["ADMIN_DB"])
    click.echo("database ready")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(tuple(ROLES)), required=True)
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_user_command(email, role, name, password_stdin):
    """Create a staff account (or reset its password and role)."""
    password = _password(password_stdin)
    if len(password) < 10:
        raise click.ClickException("the password must have at least 10 characters")
    conn = get_db()
    with transaction(conn):
        conn.execute(
            "INSERT INTO staff(email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(email) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, "
            "name = CASE WHEN excluded.name = '' THEN staff.name ELSE excluded.name END, active = 1",
            (email, name, role, auth.hash_password(password), now_iso()))
        staff_id = conn.execute("SELECT id FROM staff WHERE email = ?", (email,)).fetchone()[0]
        programme.staff_badges_changed(conn, staff_id)  # a new role reaches the kiosks
    click.echo(f"staff account {email} ({role}) ready")


@click.command("deactivate-user")
@with_appcontext
@click.argument("email")
def deactivate_user_command(email):
    """End a staff account's logins, API tokens and staff badges (kiosks drop the badge at the next roster pull)."""
    conn = get_db()
    with transaction(conn):
        staff = conn.execute("SELECT id, active FROM staff WHERE email = ?", (email,)).fetchone()
        if staff is None:
            raise click.ClickException(f"no staff account {email}")
        programme.deactivate_staff(conn, staff["id"])
    click.echo(f"staff account {email} deactivated: logins, tokens and badges ended")


@click.command("create-token")
@with_appcontext
@click.argument("email")
def create_token_command(email):
    """Print a new API bearer token for a staff account (alone on the last line)."""
    conn = get_db()
    staff = conn.execute("SELECT id FROM staff WHERE email = ? AND active = 1", (email,)).fetchone()
    if staff is None:
        raise click.ClickException(f"no active staff account {email}")
    with transaction(conn):
        token = auth.new_api_token(conn, staff["id"])
    click.echo(token)


@click.command("add-kiosk")
@with_appcontext
@click.argument("name")
@click.option("--location", required=True)
@click.option("--role", type=click.Choice(programme.KIOSK_ROLES), default="checkin", show_default=True,
              help="what the kiosk's token is good for: check-ins, or the intake station's measurements")
def add_kiosk_command(name, location, role):
    """Register a kiosk; prints its id, then its token alone on the last line (shown once)."""
    try:
        kiosk_id, token = programme.add_kiosk(get_db(), name, location, role)
    except Invalid as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"kiosk {name} at {location} ({role}): id {kiosk_id}")
    click.echo(token)


@click.command("revoke-kiosk")
@with_appcontext
@click.argument("name")
def revoke_kiosk_command(name):
    """Revoke a kiosk's token: it can no longer sync, and stops counting for absence."""
    conn = get_db()
    with transaction(conn):
        changed = conn.execute("UPDATE kiosks SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                               (now_iso(), name)).rowcount
    if not changed:
        raise click.ClickException(f"no active kiosk named {name}")
    click.echo(f"kiosk {name} revoked")


@click.command("assign-staff-badge")
@with_appcontext
@click.argument("email")
@click.argument("uid")
@click.option("--format", "fmt", help="how UID is written: hex (default), dec, dec-reversed, em4100")
def assign_staff_badge_command(email, uid, fmt):
    """Give a staff member a badge (opens the kiosk's staff menu, unlocks the station)."""
    conn = get_db()
    staff = conn.execute("SELECT id FROM staff WHERE email = ?", (email,)).fetchone()
    if staff is None:
        raise click.ClickException(f"no staff account {email}")
    try:
        programme.assign_staff_badge(conn, staff["id"], uid, fmt)
    except Invalid as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("badge assigned")


@click.command("seed-demo")
@with_appcontext
@click.option("--password", default="demo-wachtwoord", show_default=True, help="password of the demo staff")
def seed_demo_command(password):
    """Demo groups, participants, badges, schedule and staff (idempotent)."""
    from .demo import seed
    for line in seed(get_db(), password):
        click.echo(line)


def init_app(app):
    """Register the commands."""
    for command in (init_db_command, create_user_command, deactivate_user_command, create_token_command,
                    add_kiosk_command,
                    revoke_kiosk_command, assign_staff_badge_command, seed_demo_command):
        app.cli.add_command(command)
