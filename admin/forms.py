"""Small helpers the staff pages share: full page or htmx fragment from one URL, and
validation errors shown next to their field."""
from typing import NamedTuple

from flask import redirect, render_template
from flask_htmx import HTMX
from flask_htmx.responses import HTMXResponseClientRedirect
from markupsafe import Markup

from common.protocol import MAX_INT

htmx = HTMX()


class FormError(NamedTuple):
    """A validation error as a page shows it: the field it belongs to (None: the whole form),
    next to which it is shown, and the message in the site's language."""

    field: str | None
    text: str

    def __str__(self):
        return self.text


def form_error(problem):
    """The FormError of an errors.Problem (Invalid, NotFound)."""
    return FormError(problem.field, problem.message())


def _about(error, name):
    # A page may pass no error, or a plain message that belongs to no field.
    return isinstance(error, FormError) and error.field == name


def field_error(error, name):
    """The message of `error` next to the field `name`; nothing when it is about another field."""
    if not _about(error, name):
        return ""
    return Markup('<span class="field-error" id="error-{}">{}</span>').format(name, error.text)


def invalid_field(error, name):
    """aria-invalid for the control of `name` when `error` is about it (the message itself is
    in the control's label, so it is read with it)."""
    return Markup(' aria-invalid="true"') if _about(error, name) else ""


def init_app(app):
    """htmx, and the field error helpers for every template."""
    htmx.init_app(app)
    app.jinja_env.globals.update(field_error=field_error, invalid_field=invalid_field)


def wants_fragment():
    """Whether htmx asked for a fragment (a history restore wants the whole page)."""
    return bool(htmx) and not htmx.history_restore_request


def page_or_fragment(page, fragment, status=200, **context):
    """The full page, or only its fragment for htmx: one URL, one template for both."""
    return render_template(fragment if wants_fragment() else page, **context), status


def int_or_none(text):
    """An int from a form field, or None when empty, not a number or beyond SQLite's integers."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if -MAX_INT <= value <= MAX_INT else None


def see_other(url):
    """After a successful POST: a 303 to `url`, or for htmx a client-side redirect (htmx
    would otherwise follow the 303 itself and swap a whole page into the fragment)."""
    return HTMXResponseClientRedirect(url) if htmx else redirect(url, 303)
