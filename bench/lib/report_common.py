"""bench/lib/report_common.py - what the report blocks of bench/imap/run.sh and
bench/pop3/run.sh share (imported from their Python, PYTHONPATH=bench/lib): reading the
JSON records, grouping load runs into cells, medians and number formats, the idle-session
columns (established / NOOP ok, KB per session), the connection-error line, the list of
targets missed and the Dovecot warning suffix. Formatting only: no I/O but the records file."""
import json
import math
import statistics

NAN = float("nan")


def read_records(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def cells_of(load):
    """(system, phase, clients) -> the load records of that cell, in file order."""
    cells = {}
    for r in load:
        cells.setdefault((r["system"], r["phase"], r["clients"]), []).append(r)
    return cells


def med(rs, k):
    v = [r[k] for r in rs if r.get(k) is not None]
    return statistics.median(v) if v else NAN


def num(x, d):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else "%.*f" % (d, x)


def ms(x):
    return "n/a" if math.isnan(x) else ("%.1f" % (x * 1000) if x < 10 else "%.0f" % (x * 1000))


def idle_established(r, n):
    """The 'established / NOOP ok' cell of an idle record for n sessions (r may be None)."""
    if not r:
        return "—"
    s = "%s / %s" % (r["ok"], r["noop_ok"])
    if (r["ok"] or 0) < n:
        s += " (**%s refused or failed**)" % (n - (r["ok"] or 0))
    elif (r["noop_ok"] or 0) < (r["ok"] or 0):
        s += " (**NOOP failed**)"
    if not r.get("server_alive", True):
        s += " (**server died**)"
    return s


def idle_kb(r):
    """The 'KB per session PSS (RSS)' cell of an idle record (r may be None)."""
    return "—" if not r else "%s (%s)" % (num(r["pss_kb_per_conn"], 1), num(r["rss_kb_per_conn"], 1))


def connection_errors(p, idle):
    errs = ["%s %d: %s" % (r["system"], r["count"], r["errors"]) for r in idle if r.get("errors")]
    if errs:
        p("")
        p("Connection errors: " + "; ".join(errs))


def targets_verdict(p, both, misses, one_system):
    """The verdict under '## Targets': `one_system` when there is nothing to compare."""
    if not both:
        p(one_system)
    elif misses:
        p("Not met or suspicious:")
        p("")
        for m in misses:
            p("* " + m)
    else:
        p("All met in this run.")


def dovecot_warn_suffix(E):
    return (" (first: `%s`)" % E["DC_WARN_TEXT"].splitlines()[0]) if E.get("DC_WARN_TEXT") else ""
