"""Validation errors carry a field and a code; the API says them in English, the staff pages
in the site's language, each from one table."""
import pytest

from admin import create_app
from admin.errors import API_MESSAGES, LABELS, MESSAGES, Invalid


@pytest.fixture
def app(tmp_path):
    return create_app({"ADMIN_DB": str(tmp_path / "admin.sqlite"), "SECRET_KEY": "test", "TESTING": True})


def test_every_code_has_a_message_for_the_api_and_for_the_pages():
    assert set(API_MESSAGES) == set(MESSAGES)


@pytest.mark.parametrize("error, english, dutch", [
    (Invalid("first_name", "required"), "'first_name' is required (text)", "Voornaam is verplicht."),
    (Invalid("grace_minutes", "whole_number", low=0, high=120), "'grace_minutes' must be a whole number from 0 to 120",
     "Coulance (minuten) moet een heel getal van 0 tot en met 120 zijn."),
    (Invalid("sessions", "session_order", index=0, number=1), "sessions[0]: 'end' must be after 'start'",
     "Sessie 1: het eind moet na het begin liggen."),
    (Invalid("participant_id", "choose"), "'participant_id' is required", "Kies een deelnemer."),
    (Invalid(None, "case_closed"), "this case is closed; reopen it first", "Deze casus is gesloten; heropen hem eerst."),
])
def test_one_error_reads_in_english_on_the_api_and_in_dutch_on_a_page(app, error, english, dutch):
    assert str(error) == english
    with app.test_request_context():
        assert error.message() == dutch
    assert error.field is None or error.field in LABELS
