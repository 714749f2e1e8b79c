#!/usr/bin/env python3
"""Verify a casetrail jsonl chain export without casetrail.

Usage: verify_export.py EXPORT.jsonl [--public-key BASE64]

Needs only the standard library and the `cryptography` package (for Ed25519).
Prints one line per problem, and exits 0 when the chain is intact, 1 otherwise.
"""
import base64
import hashlib
import json
import math
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def jcs(value):
    """RFC 8785 canonical JSON: sorted keys (by UTF-16 code units), no spaces,
    ECMAScript number formatting."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return jcs_number(float(value)) if abs(value) >= 2**53 else str(value)
    if isinstance(value, float):
        return jcs_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(value[k]) for k in keys) + "}"
    raise TypeError(type(value))


def jcs_number(x):
    if not math.isfinite(x):
        raise ValueError("JSON has no NaN or infinity")
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    text = repr(x)  # shortest round-trip digits, like ECMAScript
    if "e" in text:
        mantissa, exponent = text.split("e")
        exponent = int(exponent)
        if -7 < exponent < 21:
            return format(x, "f").rstrip("0").rstrip(".")
        return f"{mantissa.rstrip('0').rstrip('.') if '.' in mantissa else mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"
    return text


def sha256_link(prev_hex, body):
    return hashlib.sha256(bytes.fromhex(prev_hex) + body.encode("utf-8")).hexdigest()


def verify_signature(keys, key_id, message, signature):
    key = keys.get(key_id)
    if key is None:
        return f"signed with an unknown key {key_id}"
    try:
        key.verify(base64.b64decode(signature), message.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return "the signature does not verify"
    return None


def main(argv):
    path = argv[1]
    pinned = argv[argv.index("--public-key") + 1] if "--public-key" in argv else None
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    keys = {}
    raw_keys = [pinned] if pinned else [r["public_key"] for r in records if r["record"] == "public_key"]
    for b64 in raw_keys:
        raw = base64.b64decode(b64)
        keys[hashlib.sha256(raw).hexdigest()[:16]] = Ed25519PublicKey.from_public_bytes(raw)
    account = next(r["account_id"] for r in records if r["record"] == "export")
    problems = []
    checkpoints = {}
    for r in records:
        if r["record"] != "checkpoint":
            continue
        c = r["checkpoint"]
        message = jcs({"account_id": c["account_id"], "seq": c["seq"], "hash": c["hash"], "signed_at": c["signed_at"]})
        why = verify_signature(keys, c["key_id"], message, c["signature"])
        if why:
            problems.append((c["seq"], "bad_signature", f"checkpoint: {why}"))
        else:
            checkpoints[c["seq"]] = c["hash"]

    expected, prev = 1, "0" * 64
    for r in records:
        if r["record"] == "event":
            e = dict(r["event"])
            stored_hash, stored_prev = e.pop("hash"), e.pop("prev_hash")
            e.pop("category")
            e.pop("activity_label")
            seq = e["seq"]
            if seq > expected:
                problems.append((expected, "missing", f"events {expected} to {seq - 1} are absent"))
            elif stored_prev != prev:
                problems.append((seq, "broken_link", "prev_hash is not the previous event's hash"))
            if sha256_link(stored_prev, jcs(e)) != stored_hash:
                problems.append((seq, "hash_mismatch", "the stored hash does not match the event's content"))
            if seq in checkpoints and checkpoints[seq] != stored_hash:
                problems.append((seq, "hash_mismatch", "differs from the signed checkpoint"))
            expected, prev = seq + 1, stored_hash
        elif r["record"] == "tombstone":
            t = r["tombstone"]
            message = jcs({k: t[k] for k in ("account_id", "first_seq", "last_seq", "first_prev_hash", "last_hash", "purged_at")})
            why = verify_signature(keys, t["key_id"], message, t["signature"])
            if why:
                problems.append((t["first_seq"], "bad_signature", f"purge record: {why}"))
            if t["first_seq"] > expected:
                problems.append((expected, "missing", f"events {expected} to {t['first_seq'] - 1} are absent"))
            elif t["first_prev_hash"] != prev:
                problems.append((t["first_seq"], "broken_link", "the purged range does not follow the previous event"))
            expected, prev = t["last_seq"] + 1, t["last_hash"]
    if checkpoints and max(checkpoints) >= expected:
        problems.append((expected, "truncated", f"the chain ends at seq {expected - 1} but a checkpoint covers seq {max(checkpoints)}"))
    for seq, kind, message in sorted(problems):
        print(f"account {account} seq {seq}: {kind}: {message}")
    print(f"checked the chain up to seq {expected - 1}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
