#!/usr/bin/env python3
"""Turns the client side of the SMTP conformance transcripts into fuzz seeds.

For every case of conformance/smtp/*.md: its setups' and its own `c:` (plus CRLF) and
`c-raw:` bytes, escapes and {{repeat}} expanded, captures and credentials replaced by fixed
stand-ins, capped at 16 KiB. Writes
  fuzz/smtp_session/seeds/conf-<topic>-<id>  (byte 0 = the fuzzer's mode byte, then the bytes)
  fuzz/smtp_command/seeds/conf-<topic>-<id>  (the bytes)
and removes stale conf-* seeds. Deterministic: same transcripts, same files.
usage: fuzz_seeds.py [--check] [REPO]   (--check: exit 1 if the committed seeds differ)
"""
import base64
import glob
import os
import re
import sys
import zlib

CAP = 16 * 1024
STAND_INS = {"USER": "user", "PASSWORD": "secret", "UNIQUE": "u1"}
STAND_INS["USER_B64"] = base64.b64encode(b"user").decode()
STAND_INS["PASSWORD_B64"] = base64.b64encode(b"secret").decode()
STAND_INS["AUTH_PLAIN"] = base64.b64encode(b"\0user\0secret").decode()
STAND_INS["AUTH_PLAIN_WRONG"] = base64.b64encode(b"\0user\0wrong").decode()


def expand(text):
    """The client-text rules of docs/CONFORMANCE.md: escapes, {{repeat N T}}, {{NAME}}."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\", "{": b"{"}[n]
            i += 2
            continue
        if text.startswith("{{", i):
            end = text.index("}}", i + 2)
            inner = text[i + 2:end].strip()
            i = end + 2
            m = re.match(r"repeat (\d+) (.*)$", inner, re.S)
            if m:
                unit = expand(m.group(2))
                out += unit * min(int(m.group(1)), CAP // max(1, len(unit)) + 1)
            else:
                out += STAND_INS.get(inner, "1").encode()
            continue
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def parse(path):
    """[(kind, name, [client byte strings])], kind 'case' or 'setup'; only ```smtp blocks."""
    blocks, kind, name, setups, steps, fence = [], None, None, [], None, False
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n").rstrip("\r")
            if fence:
                if line.strip().startswith("```"):
                    fence = False
                    blocks.append((kind, name, setups, steps))
                    continue
                if line.startswith("c-raw:"):
                    arg = line[6:]
                    steps.append(expand(arg[1:] if arg.startswith(" ") else arg))
                elif line.startswith("c:"):
                    arg = line[2:]
                    steps.append(expand(arg[1:] if arg.startswith(" ") else arg) + b"\r\n")
                continue
            m = re.match(r"^## (case|setup): (.+)$", line)
            if m:
                kind, name, setups, steps = m.group(1), m.group(2).strip(), [], None
                continue
            if line.startswith("setup:") and kind == "case":
                setups = line[6:].split()
            if line.strip() == "```smtp" and kind:
                fence, steps = True, []
    return blocks


def seeds(repo):
    files = sorted(glob.glob(os.path.join(repo, "conformance", "smtp", "*.md")))
    setups, cases = {}, []
    for path in files:
        topic = os.path.splitext(os.path.basename(path))[0]
        for kind, name, case_setups, steps in parse(path):
            if kind == "setup":
                setups[name] = steps
            else:
                cases.append((topic, name, case_setups, steps))
    out = {}
    for topic, name, case_setups, steps in cases:
        data = b"".join(b"".join(setups.get(s, [])) for s in case_setups) + b"".join(steps)
        data = data[:CAP]
        seed = f"conf-{topic}-{name}"
        # Mode byte of fuzz/smtp_session: piece size from the name's CRC (varied, fixed),
        # STARTTLS offered and succeeding for the TLS topics, verdicts answered at once.
        mode = (zlib.crc32(seed.encode()) & 0xF0) | (0x09 if "tls" in topic or "starttls" in name else 0)
        out[os.path.join("fuzz", "smtp_session", "seeds", seed)] = bytes([mode]) + data
        out[os.path.join("fuzz", "smtp_command", "seeds", seed)] = data
    return out


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    repo = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    want = seeds(repo)
    have = {}
    for d in ("smtp_session", "smtp_command"):
        for p in glob.glob(os.path.join(repo, "fuzz", d, "seeds", "conf-*")):
            have[os.path.relpath(p, repo)] = open(p, "rb").read()
    stale = sorted(set(have) - set(want))
    changed = sorted(p for p in want if have.get(p) != want[p])
    if check:
        for p in stale + changed:
            print(f"fuzz_seeds.py: out of date: {p}", file=sys.stderr)
        if stale or changed:
            print("fuzz_seeds.py: run conformance/fuzz_seeds.py and commit fuzz/*/seeds", file=sys.stderr)
            return 1
        print(f"fuzz_seeds.py: {len(want)} seeds up to date")
        return 0
    for p in stale:
        os.remove(os.path.join(repo, p))
    for p in changed:
        with open(os.path.join(repo, p), "wb") as f:
            f.write(want[p])
    print(f"fuzz_seeds.py: {len(want)} seeds ({len(changed)} written, {len(stale)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
