"""Helpers for the station's browser tests: the contraindication questions and the skip reasons."""
from common.intake import QUESTIONS


def answer_questions(page, answer="no", **answers):
    """Answer every contraindication question on the station page (`answers` by code override)."""
    for codes in QUESTIONS.values():
        for code in codes:
            locator = page.locator(f"input[name=ci_{code}][value={answers.get(code, answer)}]")
            if locator.count():
                locator.check()


def skip(page, instrument, reason):
    """Say why an instrument is not measured."""
    page.eval_on_selector(f"details.skip:has(input[name={instrument}_skip_reason])", "d => d.open = true")
    page.fill(f"input[name={instrument}_skip_reason]", reason)


PHYSIO_PIN = "2468"


def unlock(page, card, badge, pin=PHYSIO_PIN):
    """The physio's badge, then their PIN on the station's keypad."""
    card.tap(badge)
    page.wait_for_selector("form.pin")
    for digit in pin:
        page.click(f"[data-pin-key='{digit}']")
    page.click(".keypad .ok")
    page.wait_for_selector("text=Wie meten we?")
