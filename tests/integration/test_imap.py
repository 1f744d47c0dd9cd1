# IMAP interop: Python's imaplib (a real, independent client) against the real `cloudsdial
# serve` on loopback ports (conftest.imap_server / make_imap_server). Covers every command
# imaplib has, two sessions on one mailbox (what each is told, and when: RFC 9051 §7.5.1),
# UID rules (RFC 9051 §2.3.1.1), IDLE woken by an SMTP delivery, the APPENDLIMIT refusal of
# a huge synchronising literal (RFC 7889) and kill -9 durability of acknowledged APPENDs.
# Standard library only; no timing assertions (latencies are printed, never asserted).
import imaplib
import re
import smtplib
import ssl
import threading
import time

import pytest

from conftest import IMAP_USERS, strip_received, unverified_tls, wait_until

# ------------------------------------------------------------------------- helpers


def ok(result):
    typ, data = result
    assert typ == "OK", (typ, data)
    return data


def message(subject, body, date="Wed, 01 Jan 2020 12:00:00 +0000", sender="alice@example.test",
            to="bob@example.test", extra=()):
    """An RFC 5322 message with CRLF line ends."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def append(m, folder, data, flags=None, date=None):
    """APPEND; returns (uidvalidity, uid) from the APPENDUID response code (RFC 4315 §3)."""
    text = ok(m.append(folder, flags, date, data))[0].decode()
    found = re.search(r"\[APPENDUID (\d+) (\d+)\]", text)
    assert found, text
    return int(found.group(1)), int(found.group(2))


def status(m, folder, items="(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE)"):
    text = ok(m.status(folder, items))[0].decode()
    return {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+)", text.split("(", 1)[1])}


def uid_code(m, result, name):
    """The numbers of response code `name` (COPYUID, APPENDUID) from the tagged response or an
    untagged OK (imaplib files those under the code's name)."""
    typ, data = result
    for item in data:
        if isinstance(item, bytes):
            found = re.search(rb"\[" + name.encode() + rb" ([^\]]+)\]", item)
            if found:
                return found.group(1).decode().split()
    untagged = m.untagged_responses.pop(name, None)
    assert untagged, f"no {name} in {result} nor untagged {m.untagged_responses}"
    return untagged[-1].decode().split()


def expand(uid_set):
    """"1:3,7" -> [1, 2, 3, 7] (RFC 9051 §9 sequence-set, no '*')."""
    out = []
    for part in uid_set.split(","):
        lo, _, hi = part.partition(":")
        lo, hi = int(lo), int(hi or lo)
        out += list(range(min(lo, hi), max(lo, hi) + 1))
    return out


class Parser:
    """Just enough of RFC 9051 §9 to read FETCH data: lists, quoted strings, literals, NIL,
    atoms (with a section "[...]" and a partial "<n>" kept in the atom)."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.pos = 0

    def skip_spaces(self):
        while self.pos < len(self.raw) and self.raw[self.pos:self.pos + 1] == b" ":
            self.pos += 1

    def value(self):
        self.skip_spaces()
        c = self.raw[self.pos:self.pos + 1]
        if c == b"(":
            self.pos += 1
            items = []
            while True:
                self.skip_spaces()
                if self.raw[self.pos:self.pos + 1] == b")":
                    self.pos += 1
                    return items
                items.append(self.value())
        if c == b'"':
            self.pos += 1
            out = bytearray()
            while self.raw[self.pos:self.pos + 1] != b'"':
                if self.raw[self.pos:self.pos + 1] == b"\\":
                    self.pos += 1
                out += self.raw[self.pos:self.pos + 1]
                self.pos += 1
            self.pos += 1
            return bytes(out)
        if c in (b"{", b"~"):
            if c == b"~":
                self.pos += 1
            end = self.raw.index(b"}", self.pos)
            n = int(self.raw[self.pos + 1:end].rstrip(b"+"))
            assert self.raw[end + 1:end + 3] == b"\r\n", self.raw[self.pos:end + 3]
            start = end + 3
            self.pos = start + n
            return self.raw[start:start + n]
        start = self.pos
        depth = 0
        while self.pos < len(self.raw):
            ch = self.raw[self.pos:self.pos + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in (b" ", b"(", b")"):
                break
            self.pos += 1
        atom = self.raw[start:self.pos]
        assert atom, self.raw[start:start + 50]
        return None if atom == b"NIL" else atom


def parse_fetch(data):
    """imaplib FETCH data -> {seq: {"ITEM": value}} (item names upper-cased)."""
    raw = b""
    for item in data:
        if item is None:
            continue
        raw += item[0] + b"\r\n" + item[1] if isinstance(item, tuple) else item
    p = Parser(raw)
    out = {}
    while True:
        p.skip_spaces()
        if p.pos >= len(raw):
            return out
        seq = int(p.value())
        items = p.value()
        assert isinstance(items, list), raw
        out.setdefault(seq, {}).update(
            {items[i].decode().upper(): items[i + 1] for i in range(0, len(items), 2)})


def fetch(m, seqs, items):
    return parse_fetch(ok(m.fetch(seqs, items)))


def uid_fetch(m, uids, items):
    """UID FETCH -> {uid: items}."""
    return {int(v["UID"]): v for v in parse_fetch(ok(m.uid("FETCH", uids, items))).values()}


def flags_of(value):
    """The flags of a FETCH FLAGS value, without \\Recent: imaplib speaks IMAP4rev1, where the
    first session to SELECT a folder after a message arrived sees it \\Recent (RFC 3501
    §2.3.2); which session that is depends on the test order. \\Recent has its own tests."""
    return {f.decode() for f in value} - {"\\Recent"}


def search(m, *criteria, uid=False):
    data = ok(m.uid("SEARCH", *criteria) if uid else m.search(None, *criteria))
    return [int(n) for n in b" ".join(d for d in data if d).split()]


def new_folder(m, name):
    ok(m.create(name))
    return name


def take(m, kind):
    """Untagged responses of `kind` imaplib has collected since the last take (then forgets them)."""
    return m.untagged_responses.pop(kind, [])


def read_until_tagged(m, tag, timeout=60):
    """Raw lines up to and including the tagged one (for commands sent with m.send)."""
    m.sock.settimeout(timeout)
    lines = []
    while True:
        line = m.readline()
        assert line, f"connection closed; got {lines}"
        lines.append(line)
        if line.startswith(tag + b" "):
            m.sock.settimeout(None)
            return lines


# The corpus: four messages in the folder "Corpus" of alice, for SEARCH, FETCH, SORT, THREAD.
CORPUS = [
    dict(subject="alpha report", body="the quick brown fox\r\n", flags=r"(\Seen)", internal='"01-Jan-2020 12:00:00 +0000"',
         date="Wed, 01 Jan 2020 12:00:00 +0000", extra=("Message-ID: <alpha@corpus.test>",)),
    dict(subject="beta notes", body="lazy dog sleeps\r\n", flags=r"(\Flagged)", internal='"15-Jun-2021 12:00:00 +0000"',
         date="Tue, 15 Jun 2021 12:00:00 +0000", extra=("Message-ID: <beta@corpus.test>", "X-Tag: zebra")),
    dict(subject="Re: alpha report", body="a reply about the fox\r\n", flags=r"($Important)",
         internal='"10-Mar-2022 12:00:00 +0000"', date="Thu, 10 Mar 2022 12:00:00 +0000",
         extra=("Message-ID: <reply@corpus.test>", "In-Reply-To: <alpha@corpus.test>", "References: <alpha@corpus.test>")),
]
# A part's content ends before the CRLF that precedes the next delimiter (RFC 2046 §5.1.1).
MIXED_TEXT = b"see the attached file"
MIXED_BODY = (b"--XyZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + MIXED_TEXT +
              b"\r\n--XyZ\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
              b"AAECAw==\r\n--XyZ--\r\n")
MIXED = (b"From: carol@example.test\r\nTo: alice@example.test\r\nSubject: gamma\r\nDate: Wed, 20 Dec 2023 12:00:00 +0000\r\n"
         b"Message-ID: <gamma@corpus.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n" +
         MIXED_BODY)


@pytest.fixture(scope="module")
def corpus(imap_server):
    m = imap_server.imap("alice")
    new_folder(m, "Corpus")
    raws, uids = [], []
    for c in CORPUS:
        raw = message(c["subject"], c["body"], date=c["date"], extra=c["extra"])
        raws.append(raw)
        uids.append(append(m, "Corpus", raw, c["flags"], c["internal"])[1])
    raws.append(MIXED)
    uids.append(append(m, "Corpus", MIXED, r"(\Answered)", '"20-Dec-2023 12:00:00 +0000"')[1])
    m.logout()
    return {"raws": raws, "uids": uids}


# ------------------------------------------------------------------ RFC 9051 §6.1: any state


def test_rfc9051_s6_1_1_capability(imap_server):
    m = imap_server.imap()
    caps = set(ok(m.capability())[0].decode().split())
    for need in ("IMAP4rev2", "IMAP4rev1", "IDLE", "STARTTLS", "AUTH=PLAIN", "LITERAL+", "ID", "ENABLE"):
        assert need in caps, caps
    # Loopback with plaintext_on_loopback: LOGIN allowed before TLS (RFC 9051 §6.2.3).
    assert "LOGINDISABLED" not in caps
    ok(m.login("alice", IMAP_USERS["alice"]))
    caps = set(ok(m.capability())[0].decode().split())
    for need in ("UIDPLUS", "MOVE", "NAMESPACE", "UNSELECT", "SORT", "THREAD=REFERENCES", "QUOTA", "CONDSTORE"):
        assert need in caps, caps
    assert "APPENDLIMIT=36700160" in caps, caps  # 35 MiB as configured (RFC 7889 §3)
    m.logout()


def test_rfc9051_s6_1_2_noop_and_s6_1_3_logout(imap_server):
    m = imap_server.imap("alice")
    ok(m.noop())
    typ, data = m.logout()
    assert typ == "BYE", (typ, data)
    assert m.state == "LOGOUT"


# ------------------------------------------------------------- RFC 9051 §6.2: not authenticated


def test_rfc9051_s6_2_3_login_good_and_bad(imap_server):
    m = imap_server.imap()
    with pytest.raises(imaplib.IMAP4.error):
        m.login("alice", "not-the-password")
    assert m.state == "NONAUTH"
    ok(m.login("alice", IMAP_USERS["alice"]))
    assert m.state == "AUTH"
    m.logout()


def test_rfc9051_s6_2_2_authenticate_plain(imap_server):
    m = imap_server.imap()
    ok(m.authenticate("PLAIN", lambda _challenge: b"\0bob\0" + IMAP_USERS["bob"].encode()))
    assert m.state == "AUTH"
    ok(m.select("INBOX"))
    m.logout()
    m = imap_server.imap()
    with pytest.raises(imaplib.IMAP4.error):
        m.authenticate("PLAIN", lambda _challenge: b"\0bob\0wrong")
    m.logout()


def test_rfc9051_s6_2_1_starttls(imap_server):
    m = imap_server.imap()
    assert "STARTTLS" in m.capabilities
    ok(m.starttls(ssl_context=unverified_tls()))
    assert isinstance(m.sock, ssl.SSLSocket) and m.sock.version() is not None
    # imaplib asked CAPABILITY again over TLS: STARTTLS is no longer offered (RFC 9051 §6.2.1).
    assert "STARTTLS" not in m.capabilities, m.capabilities
    ok(m.login("alice", IMAP_USERS["alice"]))
    ok(m.select("INBOX"))
    ok(m.noop())
    m.logout()


def test_rfc8314_s3_2_implicit_tls_port(imap_server):
    m = imap_server.imap_ssl()
    assert m.sock.version() is not None
    assert "STARTTLS" not in m.capabilities
    ok(m.login("alice", IMAP_USERS["alice"]))
    ok(m.select("INBOX", readonly=True))
    ok(m.noop())
    m.logout()


# ------------------------------------------------------------------ RFC 9051 §6.3: authenticated


def test_rfc9051_s6_3_1_enable_condstore(imap_server):
    m = imap_server.imap("alice")
    data = ok(m.enable("CONDSTORE"))
    assert b"CONDSTORE" in b" ".join(d for d in data if d) or b"CONDSTORE" in b" ".join(m.untagged_responses.get("ENABLED", [])), data
    folder = new_folder(m, "EnableCs")
    append(m, folder, message("cs", "x\r\n"))
    ok(m.select(folder))
    assert "HIGHESTMODSEQ" in m.untagged_responses, m.untagged_responses
    item = fetch(m, "1", "(FLAGS)")[1]
    assert "MODSEQ" in item, item  # RFC 7162 §3.2.4: every FETCH carries MODSEQ once enabled
    m.logout()


def test_rfc2971_s3_1_id(imap_server):
    m = imap_server.imap("alice")
    ok(m.xatom("ID", '("name" "imaplib" "version" "3.11")'))
    idline = m.untagged_responses.get("ID", [b""])[-1]
    assert b'"name"' in idline, m.untagged_responses
    m.logout()


def test_rfc9051_s6_3_10_namespace(imap_server):
    m = imap_server.imap("alice")
    data = ok(m.namespace())
    assert data[0] == b'(("" "/")) NIL NIL', data
    m.logout()


def list_names(data):
    out = {}
    for line in data:
        if line is None:
            continue
        if isinstance(line, tuple):  # a name sent as a literal
            line = line[0] + line[1]
        found = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', line)
        assert found, line
        name = found.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        out[name] = set(found.group(1).decode().split())
    return out


def test_rfc9051_s6_3_4_to_s6_3_9_create_delete_rename_subscribe_list_lsub(imap_server):
    m = imap_server.imap("alice")
    names = list_names(ok(m.list()))
    for special, attr in (("Drafts", r"\Drafts"), ("Sent", r"\Sent"), ("Trash", r"\Trash"), ("Junk", r"\Junk"),
                          ("Archive", r"\Archive")):
        assert attr in names[special], names  # RFC 6154 §2
    assert "INBOX" in names
    ok(m.create("Proj/Sub"))
    # RFC 9051 §6.3.4: creating Proj/Sub creates the superior Proj too.
    names = list_names(ok(m.list('""', "Proj*")))
    assert set(names) == {"Proj", "Proj/Sub"}, names
    assert r"\HasChildren" in names["Proj"] and r"\HasNoChildren" in names["Proj/Sub"], names
    assert set(list_names(ok(m.list('""', "Proj/%")))) == {"Proj/Sub"}
    typ, data = m.create("Proj/Sub")
    assert typ == "NO", (typ, data)  # RFC 9051 §6.3.4 / §7.1 ALREADYEXISTS
    # LSUB (RFC 3501 §6.3.9) and LIST (SUBSCRIBED) follow SUBSCRIBE / UNSUBSCRIBE.
    ok(m.subscribe("Proj/Sub"))
    assert "Proj/Sub" in list_names(ok(m.lsub('""', "*")))
    ok(m.unsubscribe("Proj/Sub"))
    assert "Proj/Sub" not in list_names(ok(m.lsub('""', "*")))
    # RFC 9051 §6.3.6: RENAME takes the inferiors along.
    append(m, "Proj/Sub", message("kept", "across rename\r\n"))
    ok(m.rename("Proj", "Renamed"))
    names = list_names(ok(m.list('""', "*")))
    assert "Renamed/Sub" in names and "Renamed" in names, names
    assert "Proj" not in names and "Proj/Sub" not in names, names
    assert status(m, "Renamed/Sub")["MESSAGES"] == 1
    # Non-ASCII names travel as modified UTF-7 (RFC 3501 §5.1.3): "Entwürfe".
    ok(m.create("Entw&APw-rfe"))
    assert "Entw&APw-rfe" in list_names(ok(m.list('""', "Entw*")))
    # RFC 9051 §6.3.5: DELETE; INBOX cannot be deleted.
    ok(m.delete("Renamed/Sub"))
    ok(m.delete("Renamed"))
    ok(m.delete("Entw&APw-rfe"))
    names = list_names(ok(m.list('""', "*")))
    assert not any(n.startswith(("Renamed", "Entw")) for n in names), names
    typ, _ = m.delete("INBOX")
    assert typ == "NO"
    typ, _ = m.delete("NoSuchFolder")
    assert typ == "NO"
    m.logout()


def test_rfc9051_s6_3_6_rename_inbox_moves_its_messages(imap_server):
    m = imap_server.imap("dave")
    for i in range(2):
        append(m, "INBOX", message(f"inbox {i}", "x\r\n"))
    ok(m.rename("INBOX", "OldInbox"))
    assert status(m, "OldInbox")["MESSAGES"] == 2
    assert status(m, "INBOX")["MESSAGES"] == 0
    assert "INBOX" in list_names(ok(m.list()))
    m.logout()


def test_rfc9051_s6_3_11_status(imap_server, corpus):
    m = imap_server.imap("alice")
    st = status(m, "Corpus")
    assert st["MESSAGES"] == 4
    assert st["UIDNEXT"] == max(corpus["uids"]) + 1
    assert st["UNSEEN"] == 3
    assert st["SIZE"] == sum(len(r) for r in corpus["raws"])  # RFC 9051 §6.3.11 SIZE
    typ, _ = m.status("NoSuchFolder", "(MESSAGES)")
    assert typ == "NO"
    m.logout()


def test_rfc9051_s6_3_12_append_flags_and_date(imap_server):
    m = imap_server.imap("alice")
    folder = new_folder(m, "AppendTest")
    raw = message("dated", "with flags\r\n")
    uidvalidity, uid = append(m, folder, raw, r"(\Seen \Draft $Custom)", '"05-Feb-2019 08:30:00 +0200"')
    assert uidvalidity == status(m, folder)["UIDVALIDITY"]
    ok(m.select(folder))
    got = uid_fetch(m, str(uid), "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")[uid]
    assert flags_of(got["FLAGS"]) == {r"\Seen", r"\Draft", "$Custom"}
    assert got["INTERNALDATE"] == b" 5-Feb-2019 08:30:00 +0200" or \
        imaplib.Internaldate2tuple(b'INTERNALDATE "' + got["INTERNALDATE"] + b'"')[:6] == (2019, 2, 5, 6, 30, 0), got
    assert got["BODY[]"] == raw and int(got["RFC822.SIZE"]) == len(raw)
    # RFC 9051 §6.3.12: to a mailbox that does not exist -> NO [TRYCREATE].
    typ, data = m.append("NoSuchFolder", None, None, raw)
    assert typ == "NO" and b"TRYCREATE" in data[0], (typ, data)
    m.logout()


def test_rfc9051_s6_3_2_select_and_s6_3_3_examine(imap_server, corpus):
    m = imap_server.imap("alice")
    data = ok(m.select("Corpus"))
    assert data == [b"4"]
    r = m.untagged_responses
    assert "READ-WRITE" in r and "UIDVALIDITY" in r and r["UIDNEXT"][-1] == str(max(corpus["uids"]) + 1).encode(), r
    assert rb"\Seen" in r["FLAGS"][-1] and rb"\*" in r["PERMANENTFLAGS"][-1], r
    # EXAMINE: read-only; BODY[] does not set \Seen (RFC 9051 §6.4.5), STORE is refused.
    ok(m.select("Corpus", readonly=True))
    assert "READ-ONLY" in m.untagged_responses
    unseen_before = search(m, "UNSEEN")
    fetch(m, "2", "(BODY[])")
    assert search(m, "UNSEEN") == unseen_before
    typ, _ = m.store("2", "+FLAGS", r"(\Seen)")
    assert typ == "NO"
    ok(m.close())  # CLOSE after EXAMINE expunges nothing (RFC 9051 §6.4.1)
    assert status(m, "Corpus")["MESSAGES"] == 4
    typ, _ = m.select("NoSuchFolder")
    assert typ == "NO"
    m.logout()


def test_rfc9208_s4_2_getquota_s4_3_getquotaroot(imap_server):
    m = imap_server.imap("carol")
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK", data
    roots, quotas = data
    assert roots[0].split()[0] == b"INBOX", data
    assert quotas and quotas[0] is not None and b"STORAGE" in quotas[0], data
    used, limit = map(int, re.search(rb"STORAGE (\d+) (\d+)", quotas[0]).groups())
    assert limit == 100 * 1024  # KiB (RFC 9208 §5.1): quota = 100MiB
    data = ok(m.getquota('""'))
    assert re.search(rb"STORAGE \d+ 102400", data[0]), data
    # RFC 9208 §4.3.2: no quota roots for a mailbox that does not exist: NO.
    typ, data = m.getquotaroot("NoSuchFolder")
    assert typ == "NO", (typ, data)
    append(m, "Sent", message("quota", "x" * 5000 + "\r\n"))
    used_after = int(re.search(rb"STORAGE (\d+)", ok(m.getquota('""'))[0]).group(1))
    assert used_after >= used + 4, (used, used_after)
    m.logout()


# ------------------------------------------------------------------------- RFC 9051 §6.4: selected


def test_rfc9051_s6_4_1_check_close_and_rfc3691_unselect(imap_server):
    m = imap_server.imap("alice")
    folder = new_folder(m, "CloseTest")
    for i in range(3):
        append(m, folder, message(f"c{i}", "x\r\n"))
    ok(m.select(folder))
    ok(m.check())  # RFC 3501 §6.4.1
    ok(m.store("1", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(m.unselect())  # RFC 3691: no expunge
    assert m.state == "AUTH"
    assert status(m, folder)["MESSAGES"] == 3
    ok(m.select(folder))
    m.untagged_responses.clear()
    ok(m.close())  # RFC 9051 §6.4.1: expunges \Deleted, no EXPUNGE responses
    assert "EXPUNGE" not in m.untagged_responses
    assert status(m, folder)["MESSAGES"] == 2
    m.logout()


def test_rfc9051_s6_4_3_expunge(imap_server):
    m = imap_server.imap("alice")
    folder = new_folder(m, "ExpungeTest")
    uids = [append(m, folder, message(f"e{i}", "x\r\n"))[1] for i in range(5)]
    ok(m.select(folder))
    ok(m.store("2,4", "+FLAGS.SILENT", r"(\Deleted)"))
    take(m, "EXPUNGE")
    data = ok(m.expunge())
    told = [int(n) for n in data if n] or [int(n) for n in take(m, "EXPUNGE")]
    # Each EXPUNGE renumbers the ones after it (RFC 9051 §7.5.1): apply them in order.
    view = list(uids)
    for seq in told:
        del view[seq - 1]
    assert view == [uids[0], uids[2], uids[4]], (told, view)
    assert search(m, "ALL", uid=True) == view
    m.logout()


def test_rfc9051_s6_4_4_search(imap_server, corpus):
    u = corpus["uids"]
    m = imap_server.imap("alice")
    ok(m.select("Corpus", readonly=True))
    assert search(m, "ALL") == [1, 2, 3, 4]
    assert search(m, "SUBJECT", '"alpha"') == [1, 3]
    assert search(m, "HEADER", "X-Tag", "zebra") == [2]
    assert search(m, "HEADER", "Message-ID", '"<reply@corpus.test>"') == [3]
    assert search(m, "FROM", "carol") == [4]
    assert search(m, "BODY", "fox") == [1, 3]
    assert search(m, "BODY", "attached") == [4]
    assert search(m, "TEXT", "zebra") == [2]  # TEXT covers the header too
    assert search(m, "SEEN") == [1] and search(m, "UNSEEN") == [2, 3, 4]
    assert search(m, "FLAGGED") == [2] and search(m, "ANSWERED") == [4]
    assert search(m, "KEYWORD", "$Important") == [3]
    assert search(m, "UNKEYWORD", "$Important") == [1, 2, 4]
    # Internal date (SINCE/BEFORE/ON) and Date: header (SENT*) ignore time and zone.
    assert search(m, "SINCE", "01-Jan-2022") == [3, 4]
    assert search(m, "BEFORE", "15-Jun-2021") == [1]
    assert search(m, "ON", "15-Jun-2021") == [2]
    assert search(m, "SENTSINCE", "10-Mar-2022") == [3, 4]
    assert search(m, "SENTBEFORE", "01-Jan-2021") == [1]
    assert search(m, "OR", "FLAGGED", "SEEN") == [1, 2]
    assert search(m, "NOT", "SUBJECT", "alpha") == [2, 4]
    assert search(m, "OR", "BODY", "dog", "NOT", "FROM", "alice") == [2, 4]
    assert search(m, "UID", f"{u[1]}:{u[2]}") == [2, 3]
    assert search(m, "2:3", "SEEN") == []
    assert search(m, "LARGER", str(len(corpus["raws"][3]) - 1)) == [4]
    assert search(m, "ALL", uid=True) == u
    assert search(m, "SUBJECT", "beta", uid=True) == [u[1]]
    assert search(m, "SUBJECT", "no-such-thing") == []
    m.logout()


def test_rfc9051_s6_4_4_header_search_sees_decoded_and_unfolded_text(imap_server):
    """SUBJECT/FROM/HEADER match the decoded (RFC 2047) and unfolded (RFC 5322 §2.2.3) field
    text, also where the full-text index narrows the candidates first."""
    m = imap_server.imap("alice")
    new_folder(m, "Encoded")
    raws = [
        b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@example.test>\r\n"
        b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgQmVybGlu?=\r\n\r\nbody\r\n",
        b"From: plain <p@example.test>\r\nSubject: a folded\r\n  subject line\r\n"
        b"X-Ticket: ticket-4242\r\n\r\nGr\xc3\xbc\xc3\x9fe in the body only\r\n",
    ]
    for raw in raws:
        append(m, "Encoded", raw)
    ok(m.select("Encoded", readonly=True))
    # "Grüße" as a literal in UTF-8 (RFC 9051 §6.4.4): only the decoded subject has it in a
    # header; message 2 has it in the body, which SUBJECT must not see.
    m.literal = "Grüße".encode()
    typ, data = m.search("UTF-8", "SUBJECT")
    assert typ == "OK" and data[0].split() == [b"1"], data
    m.literal = "Müller".encode()
    typ, data = m.search("UTF-8", "FROM")
    assert typ == "OK" and data[0].split() == [b"1"], data
    assert search(m, "SUBJECT", '"aus Berlin"') == [1]
    assert search(m, "SUBJECT", '"subject line"') == [2]  # the folded part
    assert search(m, "HEADER", "X-Ticket", "4242") == [2]
    assert search(m, "SUBJECT", "body") == []
    m.logout()


def test_rfc9051_s6_4_5_fetch(imap_server, corpus):
    raws, u = corpus["raws"], corpus["uids"]
    m = imap_server.imap("alice")
    ok(m.select("Corpus", readonly=True))
    got = fetch(m, "1:4", "(FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE)")
    assert sorted(got) == [1, 2, 3, 4]
    for seq in range(1, 5):
        assert int(got[seq]["UID"]) == u[seq - 1]
        assert int(got[seq]["RFC822.SIZE"]) == len(raws[seq - 1])
    assert flags_of(got[1]["FLAGS"]) == {r"\Seen"} and flags_of(got[3]["FLAGS"]) == {"$Important"}
    assert got[2]["INTERNALDATE"] == b"15-Jun-2021 12:00:00 +0000"
    # ENVELOPE (RFC 9051 §7.5.2): date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id.
    env = got[3]["ENVELOPE"]
    assert env[0] == b"Thu, 10 Mar 2022 12:00:00 +0000" and env[1] == b"Re: alpha report"
    assert env[2] == [[None, None, b"alice", b"example.test"]] and env[3] == env[2] and env[4] == env[2]
    assert env[5] == [[None, None, b"bob", b"example.test"]] and env[6] is None and env[7] is None
    assert env[8] == b"<alpha@corpus.test>" and env[9] == b"<reply@corpus.test>"
    # BODYSTRUCTURE of the multipart one: two parts, then "mixed" with its boundary.
    bs = fetch(m, "4", "(BODYSTRUCTURE)")[4]["BODYSTRUCTURE"]
    assert [p[0].lower() for p in bs[:2]] == [b"text", b"application"], bs
    assert bs[2].lower() == b"mixed" and [x.lower() for x in bs[3]] == [b"boundary", b"xyz"], bs
    assert int(bs[0][6]) == len(MIXED_TEXT) and int(bs[0][7]) in (0, 1), bs  # size, lines
    assert bs[1][5].upper() == b"BASE64", bs
    plain = fetch(m, "1", "(BODYSTRUCTURE)")[1]["BODYSTRUCTURE"]
    assert plain[:2] == [b"text", b"plain"] and int(plain[6]) == len(CORPUS[0]["body"]), plain
    # Sections and partials (RFC 9051 §6.4.5).
    got = fetch(m, "4", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY[1] BODY[2] BODY[]<0.10> BODY[TEXT] BODY[])")[4]
    assert got["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: gamma\r\n\r\n"
    assert got["BODY[1]"] == MIXED_TEXT
    assert got["BODY[2]"] == b"AAECAw=="
    assert got["BODY[]<0>"] == MIXED[:10]
    assert got["BODY[TEXT]"] == MIXED_BODY
    assert got["BODY[]"] == MIXED
    got = fetch(m, "1:3", "(BODY.PEEK[])")
    assert [got[s]["BODY[]"] for s in (1, 2, 3)] == raws[:3]
    assert fetch(m, "2", "(BODY.PEEK[]<5.3>)")[2]["BODY[]<5>"] == raws[1][5:8]
    # Beyond the last sequence number: NO or BAD (imaplib raises on BAD), the session lives on.
    try:
        typ, _ = m.fetch("9", "(FLAGS)")
        assert typ == "NO"
    except imaplib.IMAP4.error as e:
        assert "BAD" in str(e), e
    ok(m.noop())
    m.logout()


def test_rfc9051_s6_4_5_large_fetch_streams_and_a_client_leaving_midway_harms_nothing(imap_server):
    """A FETCH answer of several MB goes out in chunks as the messages are read: every body
    arrives whole and in order over plaintext and TLS; a client that closes its socket in
    the middle of such an answer leaves the server serving others (no hang, no crash)."""
    m = imap_server.imap("bob")
    folder = new_folder(m, "Big")
    raws = [message(f"big {i}", (f"line {i} " + "x" * 70 + "\r\n") * 400) for i in range(60)]  # ~31 KB each
    for r in raws:
        append(m, folder, r)
    ok(m.select(folder, readonly=True))
    got = fetch(m, "1:*", "(UID BODY.PEEK[])")
    assert [got[s]["BODY[]"] for s in range(1, 61)] == raws
    m.logout()
    t = imap_server.imap_ssl()
    ok(t.login("bob", IMAP_USERS["bob"]))
    ok(t.select(folder, readonly=True))
    got = fetch(t, "1:*", "(BODY.PEEK[])")
    assert [got[s]["BODY[]"] for s in range(1, 61)] == raws
    t.logout()
    for _ in range(3):
        q = imap_server.imap("bob")
        ok(q.select(folder, readonly=True))
        q.send(b"f1 FETCH 1:* (BODY.PEEK[])\r\n")
        q.sock.recv(65536)  # the answer has begun
        q.sock.close()
    again = imap_server.imap("bob")
    ok(again.select(folder, readonly=True))
    got = fetch(again, "60", "(BODY.PEEK[])")
    assert got[60]["BODY[]"] == raws[59]
    again.logout()


def test_rfc9051_s6_4_6_store(imap_server):
    m = imap_server.imap("alice")
    folder = new_folder(m, "StoreTest")
    append(m, folder, message("s", "x\r\n"))
    ok(m.select(folder))
    got = parse_fetch(ok(m.store("1", "+FLAGS", r"(\Flagged $Label1)")))
    assert flags_of(got[1]["FLAGS"]) == {r"\Flagged", "$Label1"}
    got = parse_fetch(ok(m.store("1", "-FLAGS", r"($Label1)")))
    assert flags_of(got[1]["FLAGS"]) == {r"\Flagged"}
    got = parse_fetch(ok(m.store("1", "FLAGS", r"(\Seen \Answered)")))
    assert flags_of(got[1]["FLAGS"]) == {r"\Seen", r"\Answered"}
    take(m, "FETCH")
    data = ok(m.store("1", "+FLAGS.SILENT", r"(\Draft)"))
    assert data == [None] and not take(m, "FETCH"), data  # .SILENT: no FETCH back
    assert flags_of(fetch(m, "1", "(FLAGS)")[1]["FLAGS"]) == {r"\Seen", r"\Answered", r"\Draft"}
    ok(m.store("1", "-FLAGS.SILENT", r"(\Seen)"))
    assert flags_of(fetch(m, "1", "(FLAGS)")[1]["FLAGS"]) == {r"\Answered", r"\Draft"}
    m.logout()


def test_rfc9051_s6_4_7_copy_with_rfc4315_copyuid(imap_server):
    m = imap_server.imap("alice")
    src, dst = new_folder(m, "CopySrc"), new_folder(m, "CopyDst")
    raws = [message(f"copy {i}", f"copy body {i}\r\n") for i in range(3)]
    uids = [append(m, src, r, r"(\Flagged)", '"02-Mar-2021 10:00:00 +0000"')[1] for r in raws]
    ok(m.select(src))
    result = m.copy("2:3", dst)
    ok(result)
    _, from_uids, to_uids = uid_code(m, result, "COPYUID")
    assert expand(from_uids) == uids[1:]
    to_uids = expand(to_uids)
    assert status(m, src)["MESSAGES"] == 3
    ok(m.select(dst, readonly=True))
    got = uid_fetch(m, "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert sorted(got) == sorted(to_uids)
    for src_uid, dst_uid in zip(expand(from_uids), to_uids):
        assert got[dst_uid]["BODY[]"] == raws[uids.index(src_uid)]
        # RFC 9051 §6.4.7: flags and internal date are preserved.
        assert flags_of(got[dst_uid]["FLAGS"]) == {r"\Flagged"}
        assert got[dst_uid]["INTERNALDATE"] == b" 2-Mar-2021 10:00:00 +0000"  # date-day-fixed
    typ, data = m.copy("1", "NoSuchFolder")
    assert typ == "NO" and b"TRYCREATE" in data[0], data
    m.logout()


def test_rfc9051_s6_4_9_uid_commands_and_rfc4315_s2_1_uid_expunge(imap_server):
    m = imap_server.imap("alice")
    folder, other = new_folder(m, "UidCmds"), new_folder(m, "UidOther")
    raws = [message(f"uid {i}", f"uid body {i}\r\n") for i in range(5)]
    uids = [append(m, folder, r)[1] for r in raws]
    ok(m.select(folder))
    got = uid_fetch(m, f"{uids[1]}:{uids[3]}", "(UID BODY.PEEK[])")
    assert sorted(got) == uids[1:4] and got[uids[2]]["BODY[]"] == raws[2]
    ok(m.uid("STORE", f"{uids[0]},{uids[4]}", "+FLAGS", r"(\Deleted)"))
    assert search(m, "DELETED", uid=True) == [uids[0], uids[4]]
    result = m.uid("COPY", str(uids[1]), other)
    _, f, t = uid_code(m, ok(result) and result, "COPYUID")
    assert expand(f) == [uids[1]] and len(expand(t)) == 1
    # UID EXPUNGE removes only the listed \Deleted messages (RFC 4315 §2.1).
    ok(m.uid("EXPUNGE", str(uids[0])))
    assert search(m, "ALL", uid=True) == uids[1:]
    # A UID set past the end is not an error (RFC 9051 §6.4.9): nothing matches.
    assert uid_fetch(m, "100000:100010", "(FLAGS)") == {}
    m.logout()


def test_rfc6851_s3_3_s4_3_move_copyuid_and_uids_in_target(imap_server):
    m = imap_server.imap("alice")
    src, dst = new_folder(m, "MoveSrc"), new_folder(m, "MoveDst")
    append(m, dst, message("already there", "x\r\n"))
    raws = [message(f"move {i}", f"move body {i}\r\n") for i in range(4)]
    uids = [append(m, src, r, r"(\Seen)")[1] for r in raws]
    ok(m.select(src))
    take(m, "EXPUNGE")
    result = m.uid("MOVE", f"{uids[1]}:{uids[2]}", dst)
    ok(result)
    # RFC 6851 §4.3: COPYUID (untagged OK before the expunges, or tagged); §3.3: then EXPUNGEs.
    uidvalidity, from_uids, to_uids = uid_code(m, result, "COPYUID")
    assert int(uidvalidity) == status(m, dst)["UIDVALIDITY"]
    assert expand(from_uids) == uids[1:3]
    to_uids = expand(to_uids)
    assert len(take(m, "EXPUNGE")) == 2
    assert search(m, "ALL", uid=True) == [uids[0], uids[3]]
    # Sequence-number MOVE too (imaplib 3.11 has no move(): xatom sends it).
    ok(m.xatom("MOVE", "2", dst))
    assert search(m, "ALL", uid=True) == [uids[0]]
    ok(m.select(dst, readonly=True))
    got = uid_fetch(m, ",".join(map(str, to_uids)), "(FLAGS BODY.PEEK[])")
    assert [got[t]["BODY[]"] for t in to_uids] == raws[1:3]
    assert all(flags_of(got[t]["FLAGS"]) == {r"\Seen"} for t in to_uids)
    all_uids = search(m, "ALL", uid=True)
    assert len(all_uids) == 4 and all_uids == sorted(all_uids) and all_uids[1:3] == to_uids
    m.logout()


def test_rfc5256_s3_sort_and_thread(imap_server, corpus):
    m = imap_server.imap("alice")
    ok(m.select("Corpus", readonly=True))
    # SUBJECT sorts by base subject ("Re: " removed, RFC 5256 §2.1), ties by sequence number.
    assert ok(m.sort("(SUBJECT)", "UTF-8", "ALL"))[0] == b"1 3 2 4"
    assert ok(m.sort("(REVERSE DATE)", "UTF-8", "ALL"))[0] == b"4 3 2 1"
    assert ok(m.sort("(ARRIVAL)", "UTF-8", "ALL"))[0] == b"1 2 3 4"
    assert ok(m.sort("(FROM SUBJECT)", "UTF-8", "ALL"))[0] == b"1 3 2 4"
    assert ok(m.sort("(SUBJECT)", "UTF-8", "NOT", "SEEN"))[0] == b"3 2 4"
    uids = corpus["uids"]
    assert ok(m.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL"))[0] == " ".join(map(str, reversed(uids))).encode()
    assert ok(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL"))[0] == b"(1 3)(2)(4)"
    assert ok(m.thread("REFERENCES", "UTF-8", "ALL"))[0] == b"(1 3)(2)(4)"
    m.logout()


# ------------------------------------------------------ two sessions on one mailbox (RFC 9051 §5.2)


def test_rfc9051_s7_5_1_two_sessions_see_each_other_at_the_permitted_moments(imap_server):
    a = imap_server.imap("bob")
    b = imap_server.imap("bob")
    folder = new_folder(a, "Shared")
    raws = [message(f"shared {i}", f"shared body {i}\r\n") for i in range(3)]
    for r in raws[:2]:
        append(a, folder, r)
    ok(a.select(folder))
    ok(b.select(folder))
    # A appends -> B is told "* 3 EXISTS" at its next command (RFC 9051 §7.4.1).
    append(a, folder, raws[2])
    take(b, "EXISTS")
    ok(b.noop())
    assert take(b, "EXISTS") == [b"3"]
    ok(a.noop())
    take(a, "EXISTS")
    # B sets \Flagged -> A is told "* 1 FETCH (FLAGS ...)" (RFC 9051 §7.5.2).
    ok(b.store("1", "+FLAGS", r"(\Flagged)"))
    take(a, "FETCH")
    ok(a.noop())
    told = parse_fetch(take(a, "FETCH"))
    assert r"\Flagged" in flags_of(told[1]["FLAGS"]), told
    # A expunges message 2. B's numbers stay as they were during FETCH, STORE and SEARCH:
    # no EXPUNGE then (RFC 9051 §7.5.1), message 3 is still "3".
    ok(a.store("2", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(a.expunge())
    take(b, "EXPUNGE")
    got = fetch(b, "3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert got[3]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: shared 2\r\n\r\n"
    assert take(b, "EXPUNGE") == []
    got = parse_fetch(ok(b.store("3", "+FLAGS", r"(\Answered)")))
    assert r"\Answered" in flags_of(got[3]["FLAGS"])
    assert take(b, "EXPUNGE") == []
    assert search(b, "SUBJECT", '"shared 2"') == [3]
    assert take(b, "EXPUNGE") == []
    # FETCH of the expunged message itself: a clean answer, never a broken session.
    typ, _ = b.fetch("2", "(FLAGS)")
    assert typ in ("OK", "NO"), typ
    take(b, "FETCH")
    assert take(b, "EXPUNGE") == []
    # NOOP is a moment where it may be told: "* 2 EXPUNGE", and the numbers move.
    ok(b.noop())
    assert take(b, "EXPUNGE") == [b"2"]
    got = fetch(b, "2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert got[2]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: shared 2\r\n\r\n"
    assert r"\Answered" in flags_of(got[2]["FLAGS"])
    a.logout()
    b.logout()


def test_rfc9051_s6_4_6_store_and_fetch_show_current_flags_once_after_another_sessions_change(imap_server):
    """A flags every message; then B's STORE answers with each message's current flags
    (A's \\Flagged and B's \\Seen), one FETCH per message, and B's FETCH FLAGS likewise,
    not a stale line followed by an update (RFC 9051 §6.4.6, §7.5.2)."""
    a = imap_server.imap("bob")
    b = imap_server.imap("bob")
    folder = new_folder(a, "Once")
    for i in range(3):
        append(a, folder, message(f"once {i}", "body\r\n"))
    ok(a.select(folder))
    ok(b.select(folder))

    def seqs_told(data):
        return sorted(int(item.split(b" ", 1)[0]) for item in data if isinstance(item, bytes))

    ok(a.store("1:3", "+FLAGS", r"(\Flagged)"))
    # The same STORE changes nothing in the store: still one FETCH each, with \\Flagged.
    data = ok(b.store("1:3", "+FLAGS", r"(\Flagged)"))
    assert seqs_told(data) == [1, 2, 3], data
    assert all(flags_of(v["FLAGS"]) == {r"\Flagged"} for v in parse_fetch(data).values()), data
    data = ok(b.store("1:3", "+FLAGS", r"(\Seen)"))
    assert seqs_told(data) == [1, 2, 3], data
    for seq, items in parse_fetch(data).items():
        assert flags_of(items["FLAGS"]) == {r"\Flagged", r"\Seen"}, (seq, data)
    # B's own change is no news to B afterwards.
    ok(b.noop())
    assert take(b, "FETCH") == []
    ok(a.store("2", "-FLAGS", r"(\Flagged)"))
    data = ok(b.fetch("1:3", "(FLAGS)"))
    assert seqs_told(data) == [1, 2, 3], data
    assert flags_of(parse_fetch(data)[2]["FLAGS"]) == {r"\Seen"}, data
    a.logout()
    b.logout()


@pytest.mark.parametrize("how", ["delete_and_recreate", "rename"])
def test_rfc2180_s3_2_selected_mailbox_deleted_or_renamed_by_another_session(imap_server, how):
    """B has a mailbox selected; A deletes it and makes a new one of that name (or renames
    it away and makes a new one). B's UIDs and sequence numbers belong to the old mailbox
    (RFC 9051 §2.3.1.1): B must never be served the namesake's messages under them. The
    server ends B's session (RFC 2180 §3.2: BYE), as Dovecot does."""
    a = imap_server.imap("bob")
    b = imap_server.imap("bob")
    folder = new_folder(a, f"Doomed-{how}")
    old = [message(f"old {i}", f"old body {i}\r\n") for i in range(2)]
    for raw in old:
        append(a, folder, raw)
    ok(b.select(folder))
    if how == "rename":
        ok(a.rename(folder, folder + "-moved"))
    else:
        ok(a.delete(folder))
    ok(a.create(folder))
    namesake = message("namesake", "a different message\r\n")
    append(a, folder, namesake)
    typ, data = b.fetch("1:*", "(UID BODY.PEEK[])")
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data if x is not None)
    assert b"a different message" not in flat, data
    assert typ == "NO", (typ, data)
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        b.noop()  # the BYE that followed ends the session
    # Nothing of A's was touched: the namesake and (after a rename) the old messages.
    ok(a.select(folder, readonly=True))
    assert ok(a.fetch("1:*", "(BODY.PEEK[])"))[0][1] == namesake
    if how == "rename":
        assert status(a, folder + "-moved")["MESSAGES"] == 2
    a.logout()


def test_rfc9051_s2_3_1_1_uids_ascending_never_reused_uidnext_monotonic(imap_server):
    m = imap_server.imap("bob")
    folder = new_folder(m, "UidRules")
    seen_uidnext = [status(m, folder)["UIDNEXT"]]
    uids = []
    for i in range(4):
        uids.append(append(m, folder, message(f"u{i}", "x\r\n"))[1])
        seen_uidnext.append(status(m, folder)["UIDNEXT"])
    assert uids == sorted(set(uids)), uids  # strictly ascending
    assert seen_uidnext[-1] > uids[-1]
    # Expunge the highest (and one other), then append: no UID comes back.
    ok(m.select(folder))
    ok(m.uid("STORE", f"{uids[1]},{uids[3]}", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(m.expunge())
    ok(m.close())
    seen_uidnext.append(status(m, folder)["UIDNEXT"])
    new_uid = append(m, folder, message("after expunge", "x\r\n"))[1]
    assert new_uid > max(uids), (uids, new_uid)
    seen_uidnext.append(status(m, folder)["UIDNEXT"])
    assert seen_uidnext == sorted(seen_uidnext), seen_uidnext
    assert seen_uidnext[-1] > new_uid
    # A mailbox deleted and made again under the same name: a new UIDVALIDITY, or UIDs that
    # go on past the old ones; either way no (UIDVALIDITY, UID) pair names another message.
    old = status(m, folder)
    ok(m.delete(folder))
    ok(m.create(folder))
    uidvalidity, uid = append(m, folder, message("second life", "x\r\n"))
    assert uidvalidity != old["UIDVALIDITY"] or uid >= old["UIDNEXT"], (old, uidvalidity, uid)
    m.logout()


def test_rfc9051_s2_3_1_1_concurrent_appends_get_distinct_ascending_uids(imap_server):
    folder = "Concurrent"
    setup = imap_server.imap("bob")
    new_folder(setup, folder)
    clients = [imap_server.imap("bob") for _ in range(3)]
    results, errors = [[] for _ in clients], []

    def run(i):
        try:
            for k in range(15):
                results[i].append(append(clients[i], folder, message(f"c{i}-{k}", f"from client {i}, {k}\r\n")))
        except Exception as e:  # reported below, in the test's thread
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for r in results:
        uids = [u for _, u in r]
        assert uids == sorted(uids) and len(set(uids)) == len(uids), uids  # each client's own order
    every = [u for r in results for _, u in r]
    assert len(set(every)) == 45, sorted(every)
    assert len({v for r in results for v, _ in r}) == 1
    ok(setup.select(folder, readonly=True))
    assert search(setup, "ALL", uid=True) == sorted(every)
    for c in clients + [setup]:
        c.logout()


def test_rfc9051_s2_3_1_1_uidvalidity_and_uids_stable_across_restart(make_imap_server):
    srv = make_imap_server()
    m = srv.imap("alice")
    folder = new_folder(m, "Restart")
    uids = [append(m, folder, message(f"r{i}", f"restart {i}\r\n"))[1] for i in range(3)]
    ok(m.select(folder))
    ok(m.uid("STORE", str(uids[2]), "+FLAGS.SILENT", r"(\Deleted)"))
    ok(m.expunge())
    before = {f: status(m, f) for f in ("INBOX", folder)}
    m.logout()
    srv.stop()
    srv.start()
    m = srv.imap("alice")
    after = {f: status(m, f) for f in ("INBOX", folder)}
    for f in before:
        assert after[f]["UIDVALIDITY"] == before[f]["UIDVALIDITY"], (before, after)
        assert after[f]["UIDNEXT"] >= before[f]["UIDNEXT"], (before, after)
    ok(m.select(folder))
    assert search(m, "ALL", uid=True) == uids[:2]
    # The expunged highest UID is not handed out again after the restart.
    new_uid = append(m, folder, message("after restart", "x\r\n"))[1]
    assert new_uid > uids[2], (uids, new_uid)
    m.logout()


# ---------------------------------------------------------------------- IDLE and SMTP delivery


def test_rfc9051_s6_3_13_idle_tells_other_sessions_flags_and_expunges(imap_server):
    a = imap_server.imap("carol")
    folder = new_folder(a, "IdleOthers")
    for i in range(3):
        append(a, folder, message(f"io{i}", "x\r\n"))
    b = imap_server.imap("carol")
    ok(b.select(folder))
    ok(a.select(folder))
    tag = b._new_tag()
    b.send(tag + b" IDLE\r\n")
    b.sock.settimeout(30)
    assert b.readline().startswith(b"+ ")
    ok(a.store("2", "+FLAGS", r"(\Flagged)"))
    line = b.readline()
    assert re.match(rb"\* 2 FETCH \(.*FLAGS \(\\Flagged( \\Recent)?\)", line), line  # b selected first: \\Recent (rev1)
    ok(a.store("1", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(a.expunge())
    lines = []
    while not lines or not lines[-1].startswith(b"* 1 EXPUNGE"):  # expunges may be told during IDLE
        lines.append(b.readline())
        assert lines[-1], lines
    b.send(b"DONE\r\n")
    assert read_until_tagged(b, tag)[-1].startswith(tag + b" OK")
    del b.tagged_commands[tag]
    assert search(b, "ALL") == [1, 2]
    a.logout()
    b.logout()


def smtp_send(srv, rcpt, raw):
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="client.test", timeout=30) as s:
        s.sendmail("sender@client.test", [rcpt], raw)


def test_rfc2177_rfc9051_s6_3_13_idle_woken_by_smtp_delivery(imap_server):
    m = imap_server.imap("carol")
    exists = int(ok(m.select("INBOX"))[0])
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    m.sock.settimeout(30)
    assert m.readline().startswith(b"+ ")
    token = f"idle-{time.time_ns()}"
    started = time.monotonic()
    smtp_send(imap_server, "carol@example.test", message(token, "wake up\r\n", to="carol@example.test"))
    delivered = time.monotonic()
    m.sock.settimeout(60)  # generous; the latency is printed, not asserted
    woken = None
    while woken is None:
        line = m.readline()
        assert line, "connection closed during IDLE"
        found = re.match(rb"\* (\d+) EXISTS", line)
        if found:
            woken = int(found.group(1))
    latency = time.monotonic()
    print(f"IDLE: SMTP transaction {1000 * (delivered - started):.1f} ms, "
          f"* EXISTS {1000 * (latency - delivered):.1f} ms after the 250")
    assert woken == exists + 1
    m.send(b"DONE\r\n")
    lines = read_until_tagged(m, tag)
    assert lines[-1].startswith(tag + b" OK"), lines
    del m.tagged_commands[tag]
    assert search(m, "SUBJECT", token) == [woken]
    m.logout()


def test_rfc5321_delivery_appears_in_inbox_with_the_exact_message(imap_server):
    token = f"<exact-{time.time_ns()}@client.test>"
    body = "line one\r\n.leading dot\r\n\r\nlast line with trailing spaces  \r\n"
    raw = message("exact body", body, to="bob@example.test", extra=(f"Message-ID: {token}",))
    smtp_send(imap_server, "bob@example.test", raw)
    m = imap_server.imap("bob")
    ok(m.select("INBOX"))
    found = []

    def arrived():
        ok(m.noop())
        found[:] = search(m, "HEADER", "Message-ID", f'"{token}"')
        return bool(found)

    wait_until(arrived, timeout=30, what="the delivered message in INBOX")
    got = fetch(m, str(found[0]), "(BODY.PEEK[] BODY.PEEK[TEXT] RFC822.SIZE)")[found[0]]
    # The server prepends Return-Path/Received (RFC 5321 §4.4); the rest is byte-exact.
    assert strip_received(got["BODY[]"]) == raw
    assert got["BODY[TEXT]"] == body.encode()
    assert int(got["RFC822.SIZE"]) == len(got["BODY[]"])
    on_disk = imap_server.find(token, user="bob")
    assert on_disk == [got["BODY[]"]]
    m.logout()


# ------------------------------------------------------------------------------- APPENDLIMIT


def test_rfc7889_s4_huge_synchronizing_literal_gets_toobig_before_continuation(imap_server):
    m = imap_server.imap("alice")
    folder = new_folder(m, "TooBig")
    before = status(m, folder)
    tag = m._new_tag()
    m.send(tag + b" APPEND " + folder.encode() + b" (\\Seen) {52428800}\r\n")  # 50 MB > 35 MiB
    lines = read_until_tagged(m, tag, timeout=60)
    del m.tagged_commands[tag]
    assert not any(line.startswith(b"+") for line in lines), lines  # nothing was invited
    assert re.match(rb"\S+ NO \[TOOBIG\]", lines[-1]), lines  # RFC 9051 §7.1 / RFC 7889
    # The session is still in step: the next line is a command, and works.
    ok(m.noop())
    assert status(m, folder) == before
    append(m, folder, message("small one", "fits\r\n"))
    assert status(m, folder)["MESSAGES"] == before["MESSAGES"] + 1
    m.logout()


def test_rfc7888_s4_huge_non_synchronizing_literal_refused_and_closed(imap_server):
    """LITERAL+ (RFC 7888 §4): a non-synchronizing literal over the limit is refused with
    [TOOBIG]; the server cannot tell the literal's bytes from commands, so it closes the
    connection after the refusal rather than reading them as commands. Nothing is appended."""
    m = imap_server.imap("alice")
    folder = new_folder(m, "TooBigPlus")
    before = status(m, folder)
    tag = m._new_tag()
    m.send(tag + b" APPEND " + folder.encode() + b" {52428800+}\r\n" + b"x" * 4096 + b"\r\nZ1 NOOP\r\n")
    m.sock.settimeout(30)
    lines = []
    while True:
        line = m.readline()
        if not line:
            break
        lines.append(line)
    assert lines and re.match(re.escape(tag) + rb" (NO|BAD) \[TOOBIG\]", lines[0]), lines
    assert lines[-1].startswith(b"* BYE"), lines
    assert not any(line.startswith(b"Z1 ") for line in lines), lines  # literal bytes never run as commands
    m2 = imap_server.imap("alice")
    assert status(m2, folder) == before
    m2.logout()


# ------------------------------------------------------------------------------ kill -9


def test_acknowledged_appends_and_flags_survive_kill_9(make_imap_server):
    srv = make_imap_server()
    m = srv.imap("alice")
    folder = new_folder(m, "Durable")
    expected = {}
    uidvalidity = None
    for i in range(20):
        raw = message(f"durable {i}", f"durable body {i}\r\n" * (1 + i))
        flags = {r"\Seen"} if i % 2 else set()
        uidvalidity_i, uid = append(m, folder, raw, "(" + " ".join(sorted(flags)) + ")" if flags else None)
        uidvalidity = uidvalidity if uidvalidity is not None else uidvalidity_i
        assert uidvalidity_i == uidvalidity
        expected[uid] = [raw, set(flags)]
    ok(m.select(folder))
    uids = sorted(expected)
    for uid in uids[::3]:
        ok(m.uid("STORE", str(uid), "+FLAGS", r"(\Flagged $Kept)"))
        expected[uid][1] |= {r"\Flagged", "$Kept"}
    for uid in uids[1::4]:
        ok(m.uid("STORE", str(uid), "-FLAGS", r"(\Seen)"))
        expected[uid][1] -= {r"\Seen"}
    # An acknowledged expunge stays done too.
    gone = uids[-1]
    ok(m.uid("STORE", str(gone), "+FLAGS.SILENT", r"(\Deleted)"))
    ok(m.uid("EXPUNGE", str(gone)))
    del expected[gone]
    uids.remove(gone)
    srv.kill9()
    try:
        m.logout()
    except (imaplib.IMAP4.abort, OSError):
        pass
    srv.start()
    m = srv.imap("alice")
    assert status(m, folder)["UIDVALIDITY"] == uidvalidity
    ok(m.select(folder, readonly=True))
    got = uid_fetch(m, "1:*", "(FLAGS BODY.PEEK[])")
    assert sorted(got) == uids
    for uid, (raw, flags) in expected.items():
        assert got[uid]["BODY[]"] == raw, uid
        assert flags_of(got[uid]["FLAGS"]) == flags, (uid, got[uid]["FLAGS"], flags)
    m.logout()


def test_security_6_8_sessions_of_one_user_from_one_ip_are_capped(make_imap_server):
    """SECURITY.md §6 test 8 (Dovecot mail_max_userip_connections): with a cap of 3, the 4th
    logged-in session of alice from 127.0.0.1 gets NO [LIMIT]; bob is not affected; when
    one of alice's sessions ends, a new login works again."""
    srv = make_imap_server(max_sessions_per_user_ip="3")
    sessions = [srv.imap("alice") for _ in range(3)]
    extra = srv.imap()
    with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\]"):
        extra.login("alice", IMAP_USERS["alice"])
    bob = srv.imap("bob")
    ok(bob.noop())
    bob.logout()
    sessions.pop().logout()
    again = None
    for _ in range(100):  # the server counts the session out once its connection closed
        m = srv.imap()
        try:
            m.login("alice", IMAP_USERS["alice"])
            again = m
            break
        except imaplib.IMAP4.error:
            m.shutdown()
            time.sleep(0.05)
    assert again is not None
    ok(again.noop())
    for m in sessions + [again]:
        m.logout()
    extra.shutdown()
