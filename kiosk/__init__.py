"""fitwerk kiosk: the screen (`gunicorn 'kiosk:create_app()'`), and the `reader` and
`sync` processes (`flask --app kiosk reader|sync`). Configured by environment."""
import logging
import os
from pathlib import Path

import click
from flask import Flask
from flask_htmx import HTMX

from common.i18n import init_babel
from common.migrations import NewerDatabase

DEFAULTS = {
    "KIOSK_DB": "var/kiosk.sqlite",
    "KIOSK_ROLE": "checkin",
    "KIOSK_READER": "",  # nfc:…, pcsc[:name], wedge:…; empty: nfc: + KIOSK_NFC (devices/reader.py)
    "KIOSK_NFC": "usb",
    "KIOSK_ADMIN_URL": "",
    "KIOSK_TOKEN": "",
    "KIOSK_SCALE": "",
    "KIOSK_BP": "",
    "KIOSK_LANG": "nl",
    "KIOSK_HEARTBEAT_S": "5",
    "KIOSK_ROSTER_S": "30",
    "KIOSK_RETENTION_DAYS": "30",
    "KIOSK_HTTP_TIMEOUT_S": "10",
    "KIOSK_RESULT_SECONDS": "6",
    "KIOSK_STATION_LOCK_S": "300",
    "KIOSK_TIMEZONE": "Europe/Amsterdam",
    "KIOSK_SOUND": "0",  # 1: a short sound on each tap (success / a problem), off by default
    "KIOSK_CLOTHES_TARE_KG": "0.5",
    "KIOSK_BP_READINGS": "3",       # a blood-pressure series: readings,
    "KIOSK_BP_INTERVAL_S": "60",    # seconds apart,
    "KIOSK_BP_AVERAGE_LAST": "2",   # the result is the mean of the last this many,
    "KIOSK_BP_REST_S": "300",       # after a seated rest of this long
    "KIOSK_WARN_RANGES": "",        # "systolic_mmhg=90-180,pulse_bpm=40-120"; the team's from the roster win
    "KIOSK_DEVICE_CHECK_DAYS": "90",  # warn when an instrument's last check is older
}
htmx = HTMX()


def create_app(config=None):
    """Build the kiosk app from the environment (and `config` for tests)."""
    app = Flask(__name__)
    app.config.update({key: os.environ.get(key, default) for key, default in DEFAULTS.items()})
    if config:
        app.config.update(config)
    if app.config["KIOSK_ROLE"] not in ("checkin", "station"):
        raise ValueError("KIOSK_ROLE must be 'checkin' or 'station'")
    Path(app.config["KIOSK_DB"]).parent.mkdir(parents=True, exist_ok=True)
    from .store import open_db
    try:
        # Upgrades an older database in place; a newer one stops every kiosk process here.
        open_db(app.config["KIOSK_DB"]).close()
    except NewerDatabase as error:
        raise SystemExit(f"fitwerk kiosk: {error}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    htmx.init_app(app)
    from . import db, screen, station_views
    init_babel(app, "kiosk", screen.kiosk_language)
    db.init_app(app)
    screen.init_app(app)
    app.register_blueprint(screen.bp)
    app.register_blueprint(station_views.bp)

    @app.cli.command("reader")
    def reader_command():
        """Run the badge reader (and, on a station, the instruments)."""
        from .reader import main
        main(app)

    @app.cli.command("sync")
    def sync_command():
        """Run the sync process: the only one that talks to the server."""
        from .sync import main
        main(app)

    @app.cli.command("init-db")
    def init_db_command():
        """Create the kiosk database (idempotent)."""
        open_db(app.config["KIOSK_DB"]).close()
        click.echo("kiosk database ready")

    return app
