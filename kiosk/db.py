"""The kiosk database for the screen's requests: one connection per request on `g`."""
from flask import current_app, g

from . import store


def get_db():
    """This request's connection to the kiosk database."""
    if "db" not in g:
        g.db = store.open_db(current_app.config["KIOSK_DB"])
    return g.db


def close_db(_exc=None):
    """Close the request's connection."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_app(app):
    """Close each request's connection at teardown."""
    app.teardown_appcontext(close_db)
