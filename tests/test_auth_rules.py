"""admin.auth's rules on their own: password hashes, token hashes, login throttling."""
import hashlib

import pytest

from admin import auth


def test_a_password_hash_is_salted_scrypt_and_checks_only_the_right_password():
    stored = auth.hash_password("correct horse")
    scheme, salt, digest = stored.split("$")
    assert scheme == "scrypt" and len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    assert auth.hash_password("correct horse") != stored  # a new salt each time
    assert auth.check_password(stored, "correct horse")
    assert not auth.check_password(stored, "correct horsE")
    assert not auth.check_password(stored, "")


@pytest.mark.parametrize("stored", ["", "scrypt$abcd", "scrypt$00$11$22", "bcrypt$00$11"])
def test_a_malformed_or_foreign_hash_never_matches(stored):
    assert not auth.check_password(stored, "correct horse")


def test_a_foreign_scheme_with_the_right_digest_does_not_match():
    _scheme, salt, digest = auth.hash_password("x").split("$")
    assert not auth.check_password(f"pbkdf2${salt}${digest}", "x")
    assert auth.check_password(f"scrypt${salt}${digest}", "x")


def test_a_token_is_stored_as_its_sha256():
    assert auth.token_hash("fwk_abc") == hashlib.sha256(b"fwk_abc").hexdigest()
