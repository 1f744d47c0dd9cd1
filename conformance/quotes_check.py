#!/usr/bin/env python3
"""conformance/quotes_check.py: the audit of docs/CONFORMANCE.md ("Levels"), run as the
ctest conformance_quotes_audit. Reads the transcripts (Markdown only, never a server) and
the RFC texts, and fails when a case

  * has no `quote:` or its quote is not in its first RFC's text (whitespace, page headers
    and footers aside; " ... " separates fragments that must appear in order, close together);
  * has a level that is not the key word of its quote (RFC 2119, upper case only):
    MUST/MUST NOT <- MUST, REQUIRED, SHALL; SHOULD/SHOULD NOT <- SHOULD, RECOMMENDED;
    MAY <- MAY, OPTIONAL; `advice` <- none of them (lower-case "should" is advice);
  * expects a refusal (its last reply is 4xx/5xx) without a `control:` line: the positive
    control that keeps "refuses everything" from passing, or `control: none -- why`.

It must not open sockets, change files, or read anything but its arguments.
usage: quotes_check.py SUITE_ROOT RFC_DIR [SUITE...]   (default suites: smtp imap pop3)
"""
import os
import re
import sys

KEYWORDS = {
    "must": r"\b(MUST|REQUIRED|SHALL)\b",
    "should": r"\b(SHOULD|RECOMMENDED)\b",
    "may": r"\b(MAY|OPTIONAL)\b",
}
ANY_KEYWORD = r"\b(MUST|REQUIRED|SHALL|SHOULD|RECOMMENDED|MAY|OPTIONAL)\b"
FRAGMENT_GAP_MAX = 1500  # octets of normalised text allowed between fragments of one quote


def normalise(text):
    return re.sub(r"\s+", " ", text).strip()


def rfc_text(rfc_dir, number, cache={}):
    if number not in cache:
        path = os.path.join(rfc_dir, "rfc%s.txt" % number)
        if not os.path.exists(path):
            cache[number] = None
        else:
            lines = []
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f.read().replace("\f", "\n").split("\n"):
                    # Page footers and running headers interrupt sentences across pages.
                    if re.search(r"\[Page \d+\]\s*$", line) or re.match(r"^RFC \d+\s.*\d{4}\s*$", line):
                        continue
                    lines.append(line)
            # A hyphen at the end of a line joins a compound word ("EHLO-\n   style").
            joined = re.sub(r"(\w)-\n\s+(\w)", r"\1-\2", "\n".join(lines))
            cache[number] = normalise(joined)
    return cache[number]


def parse_cases(path):
    """Yields dicts: id, line, meta (key -> value), steps (lines of the fenced block)."""
    case = None
    fence = False
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.strip().startswith("```"):
                fence = not fence
                continue
            if fence:
                if case is not None:
                    case["steps"].append(line)
                continue
            if line.startswith("## ") or line.startswith("# "):
                if case:
                    yield case
                case = None
                if line.startswith("## case:"):
                    case = {"id": line[len("## case:"):].strip(), "line": lineno, "meta": {}, "steps": []}
                continue
            m = re.match(r"^(rfc|level|quote|control):\s?(.*)$", line)
            if case is not None and m and m.group(1) not in case["meta"]:
                case["meta"][m.group(1)] = m.group(2).strip()
    if case:
        yield case


def find_fragments(text, quote):
    fragments = [normalise(f) for f in quote.split(" ... ") if normalise(f)]
    if not fragments:
        return False
    at = text.find(fragments[0])
    while at >= 0:
        pos = at + len(fragments[0])
        ok = True
        for frag in fragments[1:]:
            nxt = text.find(frag, pos)
            if nxt < 0 or nxt - pos > FRAGMENT_GAP_MAX:
                ok = False
                break
            pos = nxt + len(frag)
        if ok:
            return True
        at = text.find(fragments[0], at + 1)
    return False


def is_refusal(steps):
    expects = [s[3:] for s in steps if s.startswith("s: ")]
    if not expects:
        return False
    words = expects[-1].split("/")[0].split()
    if "not" in words or "if" in words:  # a precondition refuses nothing on its own
        return False
    codes = [w for w in words if re.match(r"^[1-5][0-9x]{2}$", w)]
    return bool(codes) and all(c[0] in "45" for c in codes)


def check(root, rfc_dir, suites):
    problems = []
    count = 0
    for suite in suites:
        folder = os.path.join(root, suite)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".md"):
                continue
            path = os.path.join(folder, name)
            for case in parse_cases(path):
                count += 1
                where = "%s:%d: %s/%s" % (path, case["line"], name[:-3], case["id"])
                meta = case["meta"]
                level = meta.get("level", "").split(" ")[0].lower()
                quote = meta.get("quote", "")
                rfc = re.match(r"^\s*(\d+)", meta.get("rfc", ""))
                if not quote:
                    problems.append(where + ": no quote:")
                    continue
                if not rfc:
                    problems.append(where + ": rfc: does not start with an RFC number")
                    continue
                text = rfc_text(rfc_dir, rfc.group(1))
                if text is None:
                    problems.append(where + ": no text of RFC %s in %s" % (rfc.group(1), rfc_dir))
                elif not find_fragments(text, quote):
                    problems.append(where + ": the quote is not in RFC %s: %s" % (rfc.group(1), quote[:100]))
                if level == "advice":
                    if re.search(ANY_KEYWORD, quote):
                        problems.append(where + ": level advice, but the quote has an RFC 2119 key word")
                elif level in KEYWORDS:
                    if not re.search(KEYWORDS[level], quote):
                        problems.append(where + ": level %s, but the quote lacks its key word" % meta["level"])
                else:
                    problems.append(where + ": unknown level '%s'" % meta.get("level", ""))
                if is_refusal(case["steps"]) and not meta.get("control"):
                    problems.append(where + ": a refusal case without control: (a positive control, or 'none -- why')")
                control = meta.get("control", "")
                if control.startswith("none") and len(control) < 12:
                    problems.append(where + ": control: none needs a reason")
    return count, problems


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    suites = argv[3:] or ["smtp", "imap", "pop3"]
    count, problems = check(argv[1], argv[2], suites)
    for p in problems:
        print(p)
    print("%d cases, %d problems" % (count, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
