#!/usr/bin/env python3
"""Independent verifier of an Archipel logbook export (see docs/logbook.md, "Verifying an export").

Usage: logbook-verify.py DIR
  DIR/entries.jsonl  one entry per line, in seq order
  DIR/seals.jsonl    one seal per line, in index order
  DIR/keys.json      the trusted public seal key(s): one object or a list of objects

       logbook-verify.py --releve REPORT.json [KEYS.json]
  checks a relevé de valeur probante (docs/archive.md): each logbook entry's hash, its Merkle
  path up to its seal, the seal's hash and token, and that every object read back as recorded.
  Without KEYS.json the keys the report carries are used (compare their key_id with the one
  the archive publishes).

Python standard library only; Ed25519 seal signatures are checked when the `cryptography` package is
installed, otherwise reported as unchecked. Exit status: 0 intact, 1 broken, 2 unusable input.
"""

import hashlib
import json
import re
import sys
from pathlib import Path

ZERO = "0" * 64
SEAL_PREFIX = b"archipel-logbook-seal-v1\n"
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class Broken(Exception):
    def __init__(self, where, expected, found):
        super().__init__(f"{where}: expected {expected}, found {found}")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_shape(obj, where, ints, hashes):
    """Types matter: `true` would pass for 1 in Python comparisons but is another document."""
    for k in ints:
        if not is_int(obj.get(k)) or obj[k] < 0:
            raise Broken(where, f"{k} as a non-negative integer", repr(obj.get(k)))
    for k in hashes:
        if not isinstance(obj.get(k), str) or not HASH_RE.match(obj[k]):
            raise Broken(where, f"{k} as 64 lower-case hex digits", repr(obj.get(k)))


def reject_float(text):
    raise ValueError(f"non-integer number {text} (the canonical form has integers only)")


def reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in object")
    return dict(pairs)


def parse(line):
    return json.loads(line, parse_float=reject_float, parse_constant=reject_float, object_pairs_hook=reject_duplicates)


def canonical(value):
    """Sorted keys, no whitespace, UTF-8, minimal escapes: the bytes Archipel hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def hash_without(obj, field="hash"):
    return sha256_hex(canonical({k: v for k, v in obj.items() if k != field}))


def leaf_hash(entry_hash_hex):
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def merkle_root(leaves):
    """RFC 6962 Merkle tree hash over already leaf-hashed values."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def seal_statement(seal):
    fields = ("tenant", "index", "first_seq", "last_seq", "root", "prev_seal_hash", "time")
    return SEAL_PREFIX + canonical({k: seal[k] for k in fields})


def load_keys(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = {}
    for k in data if isinstance(data, list) else [data]:
        raw = bytes.fromhex(k["public_key"])
        expected_id = "ed25519:" + sha256_hex(raw)[:16]
        if k.get("algorithm") != "ed25519" or k["key_id"] != expected_id or len(raw) != 32:
            raise ValueError(f"public key {k.get('key_id')!r} is malformed or its id is not {expected_id}")
        keys[k["key_id"]] = raw
    return keys


def check_token(seal, keys, notes):
    token = seal["token"]
    where = f"seal {seal['index']} token"
    if token.get("kind") == "cluster-signed":
        raw = keys.get(token["key_id"])
        if raw is None:
            raise Broken(where, "a trusted key id", token["key_id"])
        try:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        except ImportError:
            notes.add("Ed25519 signatures NOT checked: install the Python package `cryptography`")
            return
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(bytes.fromhex(token["signature"]), seal_statement(seal))
        except (InvalidSignature, ValueError):
            raise Broken(where, f"an Ed25519 signature by {token['key_id']}", "a signature that does not verify")
    elif token.get("kind") == "rfc3161":
        digest = sha256_hex(seal_statement(seal))
        notes.add(
            "RFC 3161 tokens NOT checked here: for each, write token_der (hex) to a file and run "
            "`openssl ts -verify -digest <sha256 of the seal statement> -in token.der -token_in -CAfile tsa-chain.pem`"
            f" (seal {seal['index']}: digest {digest})"
        )
    else:
        raise Broken(where, "kind cluster-signed or rfc3161", token.get("kind"))


def verify(directory):
    keys = load_keys(directory / "keys.json")
    notes = set()
    entries = []
    tenant = None
    prev_hash, prev_time = ZERO, None
    with open(directory / "entries.jsonl", encoding="utf-8") as lines:
        for n, line in enumerate(lines, start=1):
            e = parse(line)
            where = f"entry {n}"
            check_shape(e, where, ("seq",), ("hash", "prev_hash"))
            if e.get("seq") != n:
                raise Broken(where, f"seq {n}", f"seq {e.get('seq')}")
            tenant = tenant or e["tenant"]
            if e["tenant"] != tenant:
                raise Broken(where, f"tenant {tenant}", e["tenant"])
            if not TIME_RE.match(e["time"]) or (prev_time and e["time"] < prev_time):
                raise Broken(where, f"a canonical time not before {prev_time}", e["time"])
            computed = hash_without(e)
            if computed != e["hash"]:
                raise Broken(where, f"hash {computed} (recomputed)", f"hash {e['hash']}")
            if e["prev_hash"] != prev_hash:
                raise Broken(where, f"prev_hash {prev_hash}", f"prev_hash {e['prev_hash']}")
            prev_hash, prev_time = e["hash"], e["time"]
            entries.append(e["hash"])

    sealed_up_to, prev_seal = 0, ZERO
    with open(directory / "seals.jsonl", encoding="utf-8") as lines:
        for i, line in enumerate(lines, start=1):
            s = parse(line)
            where = f"seal {i}"
            check_shape(s, where, ("index", "first_seq", "last_seq"), ("hash", "prev_seal_hash", "root"))
            if s.get("index") != i:
                raise Broken(where, f"index {i}", s.get("index"))
            if s["tenant"] != tenant:
                raise Broken(where, f"tenant {tenant}", s["tenant"])
            if s["first_seq"] != sealed_up_to + 1 or not s["first_seq"] <= s["last_seq"] <= len(entries):
                raise Broken(where, f"a range from {sealed_up_to + 1} up to at most {len(entries)}",
                             f"{s['first_seq']}..{s['last_seq']}")
            if s["prev_seal_hash"] != prev_seal:
                raise Broken(where, f"prev_seal_hash {prev_seal}", s["prev_seal_hash"])
            computed = hash_without(s)
            if computed != s["hash"]:
                raise Broken(where, f"hash {computed} (recomputed)", f"hash {s['hash']}")
            leaves = [leaf_hash(h) for h in entries[s["first_seq"] - 1 : s["last_seq"]]]
            root = merkle_root(leaves).hex()
            if root != s["root"]:
                raise Broken(where, f"root {root} (recomputed)", f"root {s['root']}")
            check_token(s, keys, notes)
            sealed_up_to, prev_seal = s["last_seq"], s["hash"]
    return len(entries), sealed_up_to, notes


def root_from_path(entry_hash_hex, index, size, path):
    """RFC 9162 2.1.3.2: the root an audit path leads to, or None."""
    if index >= size:
        return None
    f, s = index, size - 1
    r = leaf_hash(entry_hash_hex)
    for p in path:
        p = bytes.fromhex(p)
        if s == 0:
            return None
        if f & 1 == 1 or f == s:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while f & 1 == 0 and f != 0:
                f >>= 1
                s >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        f >>= 1
        s >>= 1
    return r.hex() if s == 0 else None


def verify_releve(report_path, keys_path):
    report = parse(Path(report_path).read_text(encoding="utf-8"))
    notes = set()
    if keys_path:
        keys = load_keys(Path(keys_path))
    else:
        keys = {}
        for k in report["keys"]:
            keys.update(load_keys_from(k))
        notes.add("keys taken from the report itself: check their key_id against the archive's published key")
    entries = objects = 0
    for u in report["units"]:
        where = f"unit {u['unit_id']}"
        if not u["logbook"]:
            raise Broken(where, "at least one logbook entry", "none")
        for p in u["logbook"]:
            e, s = p["entry"], p["seal"]
            at = f"{where}, entry {e['seq']}"
            check_shape(e, at, ("seq",), ("hash", "prev_hash"))
            check_shape(s, at, ("index", "first_seq", "last_seq"), ("hash", "prev_seal_hash", "root"))
            if hash_without(e) != e["hash"]:
                raise Broken(at, f"hash {hash_without(e)} (recomputed)", e["hash"])
            if e["tenant"] != s["tenant"] or not s["first_seq"] <= e["seq"] <= s["last_seq"]:
                raise Broken(at, f"an entry inside seal {s['index']} ({s['first_seq']}..{s['last_seq']})", e["seq"])
            root = root_from_path(e["hash"], e["seq"] - s["first_seq"], s["last_seq"] - s["first_seq"] + 1, p["path"])
            if root != s["root"]:
                raise Broken(at, f"the audit path to lead to root {s['root']}", root)
            if hash_without(s) != s["hash"]:
                raise Broken(f"{at}, seal {s['index']}", f"hash {hash_without(s)} (recomputed)", s["hash"])
            check_token(s, keys, notes)
            entries += 1
        for o in u["objects"]:
            c = o["check"]
            at = f"{where}, object {o['object_id']}"
            if str(c.get("found_sha512")).lower() != o["sha512"].lower() or c.get("found_size") != o["size"]:
                raise Broken(at, f"read back as {o['size']} bytes with SHA-512 {o['sha512']}",
                             f"{c.get('found_size')} bytes with SHA-512 {c.get('found_sha512')} ({c.get('verdict')})")
            objects += 1
    return len(report["units"]), entries, objects, notes


def load_keys_from(k):
    raw = bytes.fromhex(k["public_key"])
    expected_id = "ed25519:" + sha256_hex(raw)[:16]
    if k.get("algorithm") != "ed25519" or k["key_id"] != expected_id or len(raw) != 32:
        raise ValueError(f"public key {k.get('key_id')!r} is malformed or its id is not {expected_id}")
    return {k["key_id"]: raw}


def main(argv):
    if len(argv) in (3, 4) and argv[1] == "--releve":
        try:
            units, entries, objects, notes = verify_releve(argv[2], argv[3] if len(argv) == 4 else None)
        except Broken as b:
            print(f"BROKEN at {b}")
            return 1
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"UNUSABLE report: {type(e).__name__}: {e}", file=sys.stderr)
            return 2
        for note in sorted(notes):
            print(f"NOTE: {note}")
        print(f"VERIFIED: {units} units, {entries} logbook entries proven under their seals, {objects} objects as recorded")
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        count, sealed, notes = verify(Path(argv[1]))
    except Broken as b:
        print(f"BROKEN at {b}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"UNUSABLE export: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    for note in sorted(notes):
        print(f"NOTE: {note}")
    print(f"INTACT: {count} entries, sealed up to seq {sealed}, {count - sealed} unsealed (chained only)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
