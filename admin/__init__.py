"""fitwerk admin: the central staff site and JSON API (`gunicorn 'admin:create_app()'`)."""
import logging
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from common import __version__
from common.clock import parse_iso
from common.i18n import DEFAULT_LANGUAGE, init_babel, language_or_default
from common.protocol import MAX_INT

CONFIG_KEYS = ("ADMIN_DB", "SECRET_KEY", "ADMIN_TIMEZONE", "SMTP_HOST", "SMTP_PORT",
               "MAIL_FROM", "FOLLOW_UP_ESCALATE_MINUTES", "SYNC_RATE_PER_MINUTE",
               "ADMIN_BASE_URL", "SMTP_STARTTLS", "SMTP_USER", "SMTP_PASSWORD",
               "ADMIN_SECURE_COOKIES", "ADMIN_BEHIND_PROXY", "ADMIN_LANGUAGE", "AUDIT_KEY",
               "RETENTION_MEASUREMENTS_DAYS", "RETENTION_ATTENDANCE_DAYS", "RETENTION_FOLLOW_UPS_DAYS",
               "RETENTION_AUDIT_DAYS", "RETENTION_SESSIONS_DAYS")


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but never writing NaN or Infinity (not JSON; browsers refuse it)."""

    def dumps(self, obj, **kwargs):
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)

    def loads(self, s, **kwargs):
        # Deeply nested arrays exhaust the parser's recursion: that body is malformed, not a crash.
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class RowIdConverter(IntegerConverter):
    """<int:...> within SQLite's integers: a longer number in a URL names nothing (404)
    instead of reaching a query that cannot take it."""

    def __init__(self, url_map, fixed_digits=0, min=-MAX_INT, max=MAX_INT, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(url_map, fixed_digits, min, max, signed)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON: numbers must be finite")


def create_app(config=None):
    """Build the admin app: config from defaults, instance/admin.cfg, environment, `config`."""
    app = Flask(__name__, instance_relative_config=True)
    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_mapping(
        ADMIN_DB=str(Path(app.instance_path) / "admin.sqlite"),
        ADMIN_TIMEZONE="Europe/Amsterdam",
        ADMIN_LANGUAGE=DEFAULT_LANGUAGE,
        SMTP_HOST="", SMTP_PORT=25, MAIL_FROM="fitwerk@localhost",
        FOLLOW_UP_ESCALATE_MINUTES=120,
        SYNC_RATE_PER_MINUTE=600,
        ADMIN_BASE_URL="",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.from_pyfile("admin.cfg", silent=True)
    for key in CONFIG_KEYS:
        if key in os.environ:
            app.config[key] = os.environ[key]
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        # A random key per process would give each gunicorn worker its own: the login
        # throttle (keyed by it) would count each worker apart, and device cookies break.
        raise RuntimeError("SECRET_KEY is not set: put a long random value in the environment or in "
                           "instance/admin.cfg, e.g. SECRET_KEY=$(python3 -c 'import secrets; "
                           "print(secrets.token_hex(32))')")
    Path(app.config["ADMIN_DB"]).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from . import forms
    forms.init_app(app)
    # The staff site speaks one language, Dutch unless ADMIN_LANGUAGE says otherwise.
    init_babel(app, "admin", lambda: language_or_default(app.config["ADMIN_LANGUAGE"]))
    from . import (
        account,
        api,
        audit,
        auth,
        board,
        cancellations,
        cli,
        db,
        excuses,
        followup,
        intake,
        login,
        manage,
        outcomes,
        participant,
        privacy,
        sync,
        warning_ranges,
    )
    db.init_app(app)
    auth.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(followup.api_bp)
    app.register_blueprint(sync.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(followup.bp)
    app.register_blueprint(excuses.bp)
    app.register_blueprint(participant.bp)
    app.register_blueprint(manage.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(intake.bp)
    app.register_blueprint(warning_ranges.bp)
    privacy.init_app(app)
    outcomes.init_app(app)
    app.register_blueprint(cancellations.api_bp)
    app.register_blueprint(cancellations.bp)
    cli.init_app(app)

    @app.context_processor
    def version():
        return {"fitwerk_version": __version__}

    @app.template_filter("localtime")
    def localtime(text, fmt="%H:%M"):
        """UTC ISO text as local clock time of the admin's zone."""
        return parse_iso(text).astimezone(ZoneInfo(app.config["ADMIN_TIMEZONE"])).strftime(fmt)

    @app.errorhandler(413)
    def too_large(_error):
        return jsonify(error="request body too large"), 413

    @app.errorhandler(HTTPException)
    def api_http_error(error):
        if request.path.startswith("/api/"):
            return jsonify(error=error.description.split(".")[0].lower()), error.code
        return error

    @app.errorhandler(500)
    def api_server_error(error):
        # Flask has logged the exception already; the client gets JSON without details.
        if request.path.startswith("/api/"):
            return jsonify(error="internal server error"), 500
        return error

    @app.before_request
    def _no_nan_in_json():
        # Python's json reads NaN and Infinity, which are not JSON: refuse them with a reason.
        if request.is_json and request.method in ("POST", "PUT", "PATCH"):
            data = request.get_data(cache=True)
            if b"NaN" in data or b"Infinity" in data:
                try:
                    app.json.loads(data, parse_constant=_refuse_constant)
                except ValueError as exc:
                    if "not JSON" in str(exc):
                        return jsonify(error=str(exc)), 400
        return None

    return app
