# Durability (SECURITY.md §4 case 1 and 3, DESIGN.md "nothing acknowledged is ever lost"):
# send messages one by one and SIGKILL the server right after a 250 (and sometimes in the
# middle of DATA), restart it on the same data dir, and finally check that every
# acknowledged message is in the Maildir exactly once and intact, and that nothing
# unacknowledged shows up as a fragment. >= 200 acknowledged messages across >= 20 kills.
import random
import smtplib
import uuid

from conftest import DOMAIN, Server, strip_received

ACKED_MIN = 200
KILLS_MIN = 20


def make_message(tok, rng):
    lines = [f"line {i} of {tok} " + "x" * rng.randint(0, 200) for i in range(rng.randint(1, 60))]
    return (f"From: sender@example.org\r\nTo: demo@{DOMAIN}\r\nSubject: durability {tok}\r\n"
            f"Message-ID: <{tok}@example.org>\r\n\r\n" + "\r\n".join(lines) + "\r\n").encode()


def test_kill9_after_ack_loses_nothing(tmp_path):
    rng = random.Random(0xD0AB1E)
    srv = Server(tmp_path / "dur", users=[("demo", [])])
    srv.start()
    acked = {}        # token -> exact message bytes
    unfinished = []   # tokens whose DATA was cut by a kill before the dot
    kills = 0
    while len(acked) < ACKED_MIN or kills < KILLS_MIN:
        burst = rng.randint(3, 12)
        client = srv.smtp()
        for n in range(burst):
            tok = uuid.uuid4().hex
            msg = make_message(tok, rng)
            last = n == burst - 1
            if last and rng.random() < 0.25:
                # Crash in the middle of DATA: this message must never appear.
                client.mail("sender@example.org")
                client.rcpt(f"demo@{DOMAIN}")
                client.putcmd("data")
                assert client.getreply()[0] == 354
                client.send(msg[: len(msg) // 2])
                unfinished.append(tok)
                break
            assert client.sendmail("sender@example.org", [f"demo@{DOMAIN}"], msg) == {}
            acked[tok] = msg  # 250 seen: from here on it must survive anything
        srv.kill9()
        kills += 1
        client.close()
        srv.start()
    # Final graceful stop, then audit the Maildir.
    srv.stop()
    seen = {}
    for stored in srv.messages("demo"):
        body = strip_received(stored)
        tok = body.split(b"Message-ID: <", 1)[1].split(b"@", 1)[0].decode()
        seen.setdefault(tok, []).append(body)
    lost = [t for t in acked if t not in seen]
    dup = [t for t, v in seen.items() if len(v) > 1]
    damaged = [t for t in acked if t in seen and any(b != acked[t] for b in seen[t])]
    fragments = [t for t in unfinished if t in seen]
    unknown = [t for t in seen if t not in acked and t not in unfinished]
    assert not lost, f"lost {len(lost)}/{len(acked)} acknowledged messages"
    assert not damaged, f"{len(damaged)} damaged"
    assert not dup, f"{len(dup)} duplicated"
    assert not fragments, f"{len(fragments)} half-sent messages delivered"
    assert not unknown, unknown
    assert kills >= KILLS_MIN and len(acked) >= ACKED_MIN
