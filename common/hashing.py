"""Salted scrypt hashes of secrets (staff passwords, station PINs), as 'scrypt$salt$hash':
made on the admin, checked there and, for a PIN, on the station while offline."""
import hashlib
import hmac
import secrets

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def hash_secret(secret):
    """scrypt hash with a random salt, as 'scrypt$salt$hash'."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_secret(stored, secret):
    """Whether `secret` matches the stored scrypt hash (False for anything malformed)."""
    try:
        scheme, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), dklen=32, **_SCRYPT)
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)
