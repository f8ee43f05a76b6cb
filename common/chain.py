"""The audit log's hash chain: each entry's hash covers the previous entry's hash and its
own content, so an edited, removed or reordered entry no longer matches."""
import hashlib
import hmac
import json

GENESIS = "0" * 64
CONTENT = ("at", "staff_id", "staff_role", "participant_id", "action", "what", "source")


def entry_hash(prev_hash, entry):
    """SHA-256 (hex) over the previous hash and the entry's content, as canonical JSON."""
    content = json.dumps([prev_hash, *(entry[field] for field in CONTENT)], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


def checkpoint_signature(key, checkpoint):
    """HMAC-SHA256 (hex) over a checkpoint's fields, with the operator's audit key."""
    message = json.dumps([checkpoint[f] for f in ("at", "upto_id", "last_hash", "removed")],
                         separators=(",", ":"))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
