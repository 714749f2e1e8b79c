#!/usr/bin/env python3
"""Check a casetrail evidence zip without casetrail.

Usage: verify_evidence.py EVIDENCE.zip [--public-key BASE64]

Needs only the standard library and the `cryptography` package (for Ed25519), and
`verify_export.py` beside it for RFC 8785 canonical JSON. Prints one line per
problem and exits 1, or prints a summary and exits 0 when every event is genuine.
"""
import base64
import hashlib
import io
import json
import os
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_export import jcs  # noqa: E402


def sha256(data):
    return hashlib.sha256(data).digest()


def root_from_inclusion(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2: the root an inclusion path leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verified(key, signature, message):
    try:
        key.verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def checkpoint_problems(cp, keys):
    """The checkpoint's own signature and its signed note (C2SP tlog-checkpoint)."""
    raw = keys.get(cp.get("key_id"))
    if raw is None:
        return ["signed with a key that is not trusted"]
    key = Ed25519PublicKey.from_public_bytes(raw)
    out = []
    signed = {k: cp[k] for k in ("account_id", "seq", "hash", "signed_at")}
    if not verified(key, base64.b64decode(cp["signature"]), jcs(signed).encode("utf-8")):
        out.append("the checkpoint signature does not verify")
    if cp.get("tree_size") != cp["seq"] or not cp.get("root_hash"):
        return out + ["the checkpoint has no tree head of its size"]
    name = "casetrail/" + cp["account_id"]
    text = f"{name}\n{cp['tree_size']}\n{base64.b64encode(bytes.fromhex(cp['root_hash'])).decode()}\n"
    note = cp.get("note") or ""
    key_hash = sha256(name.encode() + b"\n\x01" + raw)[:4]
    good = False
    if note.startswith(text + "\n"):
        for line in note[len(text) + 1:].splitlines():
            signer, _, sig = line.removeprefix("\u2014 ").partition(" ")
            sig = base64.b64decode(sig)
            if signer == name and sig[:4] == key_hash:
                good = verified(key, sig[4:], text.encode("utf-8"))
    if not good:
        out.append("the signed note does not state this tree head with a valid signature")
    return out


def main(argv):
    path = argv[1]
    pinned = argv[argv.index("--public-key") + 1] if "--public-key" in argv else None
    archive = zipfile.ZipFile(path)
    cp = json.loads(archive.read("checkpoint.json"))
    listed = [k["public_key"] for k in json.loads(archive.read("public-keys.json"))]
    keys = {}
    for b64 in [pinned] if pinned else listed:
        raw = base64.b64decode(b64)
        keys[hashlib.sha256(raw).hexdigest()[:16]] = raw

    problems = [f"checkpoint: bad_signature: {p}" for p in checkpoint_problems(cp, keys)]
    root = bytes.fromhex(cp.get("root_hash") or "00" * 32)
    events = io.TextIOWrapper(zipfile.ZipFile(path).open("events.jsonl"), encoding="utf-8")
    proofs = io.TextIOWrapper(zipfile.ZipFile(path).open("proofs.jsonl"), encoding="utf-8")
    count = 0
    for event_line in events:
        count += 1
        event = json.loads(event_line)
        eid = event.get("id", "?")
        body = {k: v for k, v in event.items() if k not in ("hash", "prev_hash", "category", "activity_label")}
        digest = sha256(bytes.fromhex(event["prev_hash"]) + jcs(body).encode("utf-8")).hex()
        if digest != event["hash"] or event.get("account_id") != cp["account_id"]:
            problems.append(f"event {eid}: hash_mismatch: the hash does not follow from the event's content")
        proof_line = proofs.readline()
        if not proof_line:
            problems.append(f"event {eid}: missing: no inclusion proof")
            continue
        proof = json.loads(proof_line)
        if proof["id"] != eid or proof["leaf_index"] != event["seq"] - 1:
            problems.append(f"event {eid}: bad_proof: the proof is for another event")
            continue
        leaf = sha256(b"\x00" + bytes.fromhex(event["hash"]))
        path_hashes = [bytes.fromhex(h) for h in proof["inclusion_path"]]
        if root_from_inclusion(leaf, proof["leaf_index"], cp["tree_size"], path_hashes) != root:
            problems.append(f"event {eid}: bad_proof: the inclusion path does not lead to the checkpoint's root")
    for extra in proofs:
        problems.append(f"event {json.loads(extra).get('id', '?')}: missing: a proof without its event")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"evidence intact: {count} events under root {cp['root_hash']} of tree size {cp['tree_size']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
