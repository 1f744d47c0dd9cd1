#!/usr/bin/env python3
"""Checks rendered DSN files with Python's email package (an independent MIME parser).

Used by proto_smtp_test (server/proto/message/dsn_test.cpp). Each file must parse as a
multipart/report; report-type=delivery-status (RFC 6522 §3) with exactly three parts: a
text/plain explanation, message/delivery-status (RFC 3464 §2) whose every per-recipient
group carries Final-Recipient, Action and Status, and the returned content as
text/rfc822-headers or message/rfc822. Reads only the files named; writes nothing.
usage: check_dsn.py FILE...   exit 0 when every file passes, 1 otherwise.
"""
import email
import email.policy
import sys


def check(path):
    with open(path, "rb") as f:
        raw = f.read()
    errors = []
    for n, line in enumerate(raw.split(b"\r\n")[:-1], 1):
        if b"\n" in line or b"\r" in line:
            errors.append(f"line {n}: bare CR or LF")
        if len(line) > 998:
            errors.append(f"line {n}: {len(line)} octets")
    if not raw.endswith(b"\r\n"):
        errors.append("does not end with CRLF")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        if msg[name] is None:
            errors.append(f"missing {name}")
    if msg["Auto-Submitted"] != "auto-replied":
        errors.append("Auto-Submitted is not auto-replied")
    if not msg.is_multipart():
        return errors + ["not multipart"]
    if msg.get_content_type() != "multipart/report":
        errors.append(f"content type {msg.get_content_type()}")
    if msg.get_param("report-type") != "delivery-status":
        errors.append(f"report-type {msg.get_param('report-type')}")
    if msg.defects:
        errors.append(f"defects {msg.defects}")
    parts = msg.get_payload()
    if len(parts) != 3:
        return errors + [f"{len(parts)} parts"]
    if parts[0].get_content_type() != "text/plain":
        errors.append(f"part 1 is {parts[0].get_content_type()}")
    if parts[1].get_content_type() != "message/delivery-status":
        errors.append(f"part 2 is {parts[1].get_content_type()}")
    else:
        # The email package parses message/delivery-status into a list of header blocks:
        # the per-message fields first, then one block per recipient.
        groups = parts[1].get_payload()
        if len(groups) < 2:
            errors.append(f"delivery-status has {len(groups)} groups")
        elif groups[0]["Reporting-MTA"] is None:
            errors.append("no Reporting-MTA")
        for i, g in enumerate(groups[1:], 1):
            for field in ("Final-Recipient", "Action", "Status"):
                if g[field] is None:
                    errors.append(f"recipient group {i} lacks {field}")
    third = parts[2].get_content_type()
    if third not in ("text/rfc822-headers", "message/rfc822"):
        errors.append(f"part 3 is {third}")
    for p in parts:
        if p.defects:
            errors.append(f"part defects {p.defects}")
    return errors


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ok = True
    for path in argv[1:]:
        errs = check(path)
        if errs:
            ok = False
            for e in errs:
                print(f"{path}: {e}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
