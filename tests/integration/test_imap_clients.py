# Real third-party IMAP clients against `cloudsdial serve`: isync's mbsync (a two-way
# IMAP <-> Maildir synchroniser) and mutt (a terminal reader, driven through a pty by
# `script` with keys pushed from the command line). Both connect over implicit TLS
# (RFC 8314) to "localhost" and verify the server's generated certificate. Skips when
# the Debian packages isync / mutt (and util-linux `script`) are missing
# (ci/install-deps.sh installs them). Timings are printed (pytest -s), never asserted.
import email
import imaplib
import mailbox
import os
import random
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CLIENTS_IMAP_USERS

MBSYNC = shutil.which("mbsync")
MUTT = shutil.which("mutt")
SCRIPT = shutil.which("script")


# ---------------------------------------------------------------------------- helpers
def imap_login(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.imap_ports["imap"], timeout=60)
    m.login(user, CLIENTS_IMAP_USERS[user])
    return m


def make_message(tag, i, size, utf8=False):
    """A CRLF-only message (no bare CR/LF, so Maildir's LF form maps back losslessly) of about
    `size` bytes, its Subject "<tag> NNNN" unique."""
    rng = random.Random(f"{tag}-{i}")
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    if utf8:
        words += ["Grüße", "naïve", "façade", "✓", "日本語"]
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(10))
        lines.append(line)
        total += len(line.encode()) + 2
    head = [
        "From: Sender <sender@example.test>",
        "To: Alice <alice@example.test>",
        f"Subject: {tag} {i:04d}",
        f"Message-ID: <{tag}-{i}@example.test>",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Transfer-Encoding: {'8bit' if utf8 else '7bit'}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def subject_of(raw: bytes) -> str:
    m = re.search(rb"^Subject: (.*?)\r?$", raw, re.M)
    assert m, raw[:300]
    return m.group(1).decode()


def canonical(raw: bytes) -> bytes:
    """A message as mbsync keeps it comparable: CRLF line ends (Maildir files have LF) and
    without the X-TUID header mbsync inserts to track the messages it propagates."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return re.sub(rb"^X-TUID: [^\r]*\r\n", b"", raw, count=1, flags=re.M)


def server_messages(srv, user, folder="INBOX"):
    """{subject: (uid, set of flags, raw bytes)} of a server folder, read without setting \\Seen."""
    m = imap_login(srv, user)
    try:
        typ, _ = m.select(folder, readonly=True)
        assert typ == "OK"
        out = {}
        typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK", data
        pending = None
        for item in data:
            if isinstance(item, tuple):
                pending = item
                continue
            if pending is None:
                if item is None or item == b"":
                    continue
                raise AssertionError(f"unexpected FETCH line {item!r}")
            meta = pending[0] + (item or b"")  # FLAGS may come before or after BODY[]
            uid = int(re.search(rb"UID (\d+)", meta).group(1))
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split())
            raw = pending[1]
            out[subject_of(raw)] = (uid, flags, raw)
            pending = None
        return out
    finally:
        m.logout()


MAILDIR_FLAGS = {"S": r"\Seen", "F": r"\Flagged", "R": r"\Answered", "T": r"\Deleted", "D": r"\Draft"}


def local_messages(folder: Path):
    """{subject: (path, set of IMAP flags, raw bytes)} of a Maildir folder (cur/ and new/)."""
    out = {}
    for sub in ("cur", "new"):
        for p in sorted((folder / sub).iterdir()):
            info = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            raw = p.read_bytes()
            subject = subject_of(raw)
            assert subject not in out, f"duplicate local copy of {subject}: {p} and {out[subject][0]}"
            out[subject] = (p, {MAILDIR_FLAGS[c] for c in info if c in MAILDIR_FLAGS}, raw)
    return out


def set_local_flags(path: Path, flags: str) -> Path:
    """Renames a Maildir file to carry `flags` (letters, ASCII order), moving it to cur/."""
    base = path.name.split(":2,", 1)[0]
    target = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    path.rename(target)
    return target


def mbsync_version():
    out = subprocess.run([MBSYNC, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 4)


def write_mbsync_config(path: Path, srv, local: Path, tls=True):
    """One channel, every folder (Patterns *), both ways, creating and expunging on both sides."""
    tls_key = "TLSType" if mbsync_version() >= (1, 5) else "SSLType"  # renamed in isync 1.5
    if tls:  # implicit TLS, the server's own certificate trusted, the host name checked
        account = [f"Port {srv.imap_ports['imaps']}", f"{tls_key} IMAPS", f"CertificateFile {srv.cert_path}",
                   "AuthMechs PLAIN"]
    else:  # cleartext LOGIN, allowed by the server on loopback ([auth] plaintext_on_loopback)
        account = [f"Port {srv.imap_ports['imap']}", f"{tls_key} None", "AuthMechs LOGIN"]
    text = "\n".join([
        "IMAPAccount srv", "Host localhost", *account, "User alice", f"Pass {CLIENTS_IMAP_USERS['alice']}",
        "Timeout 120", "",
        "IMAPStore remote", "Account srv", "",
        "MaildirStore local", f"Path {local}/", f"Inbox {local}/INBOX", "SubFolders Verbatim", "",
        "Channel ch", "Far :remote:", "Near :local:", "Patterns *", "Sync All", "Create Both", "Remove None",
        "Expunge Both", "SyncState *", ""])
    path.write_text(text)
    return path


def run_mbsync(config: Path, what: str):
    start = time.monotonic()
    r = subprocess.run([MBSYNC, "-c", str(config), "-a"], capture_output=True, text=True, timeout=600)
    print(f"mbsync {what}: {time.monotonic() - start:.2f}s")
    assert r.returncode == 0, f"mbsync {what} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    # mbsync reports protocol trouble it recovers from (unexpected responses, refused
    # commands) as warnings or errors without failing the run.
    complaints = [line for line in (r.stdout + r.stderr).splitlines()
                  if re.search(r"(?i)\b(warning|error)\b", line)
                  and "Password is being sent in the clear" not in line]  # the cleartext run, by design
    assert not complaints, f"mbsync {what}:\n{r.stdout}\n{r.stderr}"
    return r


def assert_same_message(local_raw: bytes, server_raw: bytes, subject: str):
    assert canonical(local_raw) == canonical(server_raw), f"{subject}: contents differ"


# ---------------------------------------------------------------------------- mbsync
@pytest.mark.skipif(MBSYNC is None, reason="mbsync not installed (Debian package isync)")
def test_mbsync_two_way_sync_1000_messages(clients_imap_server, tmp_path):
    """mbsync against RFC 9051 SELECT/UID FETCH/UID STORE/APPEND (UIDPLUS, RFC 4315)/EXPUNGE/
    CREATE/LIST: a 1,000-message pull, then changes made on either side travel to the other."""
    srv = clients_imap_server
    local = tmp_path / "Mail"
    local.mkdir()
    config = write_mbsync_config(tmp_path / "mbsyncrc", srv, local)

    # 1,000 messages of varied sizes (most small, some 100-300 KB, one 2 MB), some 8bit UTF-8,
    # every third \Seen, every fifth \Flagged.
    rng = random.Random(1000)
    originals, wanted_flags = {}, {}
    m = imap_login(srv, "alice")
    start = time.monotonic()
    for i in range(1000):
        size = rng.randint(100, 6000)
        if i % 97 == 0:
            size = rng.randint(100_000, 300_000)
        if i == 500:
            size = 2_000_000
        raw = make_message("mbsync", i, size, utf8=(i % 7 == 0))
        flags = set()
        if i % 3 == 0:
            flags.add(r"\Seen")
        if i % 5 == 0:
            flags.add(r"\Flagged")
        typ, data = m.append("INBOX", "(" + " ".join(sorted(flags)) + ")" if flags else None, None, raw)
        assert typ == "OK", data
        originals[subject_of(raw)] = raw
        wanted_flags[subject_of(raw)] = flags
    m.logout()
    print(f"APPEND 1000 messages ({sum(map(len, originals.values())) / 1e6:.1f} MB): {time.monotonic() - start:.2f}s")
    before = server_messages(srv, "alice")
    assert set(before) == set(originals)

    # 1. The pull: every message arrives once, contents equal, \Seen -> S and \Flagged -> F.
    run_mbsync(config, "initial pull")
    near = local_messages(local / "INBOX")
    assert set(near) == set(originals), sorted(set(originals) ^ set(near))[:10]
    for subject, (path, flags, raw) in near.items():
        assert_same_message(raw, originals[subject], subject)
        assert flags == wanted_flags[subject], (subject, path.name)
    # mbsync only read: the server's flags are as appended.
    after = server_messages(srv, "alice")
    assert {s: v[1] for s, v in after.items()} == wanted_flags

    # 2. Local changes pushed: 20 new messages (some flagged/seen), flags changed on 20, 5
    # files deleted, 5 marked trashed (T = \Deleted, expunged with "Expunge Both").
    subjects = sorted(near)
    new_local = {}
    for i in range(20):
        raw = make_message("local", i, 300 + 500 * i, utf8=(i % 4 == 0))
        flags = ("F" if i % 2 == 0 else "") + ("S" if i % 3 == 0 else "")
        sub = "cur" if flags else "new"
        name = f"{1800000000 + i}.P{os.getpid()}Q{i}.testhost" + (f":2,{flags}" if flags else "")
        (local / "INBOX" / sub / name).write_bytes(raw.replace(b"\r\n", b"\n"))
        new_local[subject_of(raw)] = (raw, {MAILDIR_FLAGS[c] for c in flags})
    flag_on = [s for s in subjects if r"\Flagged" not in wanted_flags[s]][:10]
    seen_off = [s for s in subjects if r"\Seen" in wanted_flags[s] and s not in flag_on][:10]
    for s in flag_on:
        letters = "".join(c for c, f in MAILDIR_FLAGS.items() if f in wanted_flags[s]) + "F"
        set_local_flags(near[s][0], letters)
        wanted_flags[s] = wanted_flags[s] | {r"\Flagged"}
    for s in seen_off:
        letters = "".join(c for c, f in MAILDIR_FLAGS.items() if f in wanted_flags[s] and c != "S")
        set_local_flags(near[s][0], letters)
        wanted_flags[s] = wanted_flags[s] - {r"\Seen"}
    untouched = [s for s in subjects if s not in flag_on and s not in seen_off]
    unlinked, trashed = untouched[100:105], untouched[200:205]
    for s in unlinked:
        near[s][0].unlink()
    for s in trashed:
        set_local_flags(near[s][0], "T")
    # A new nested local folder is created on the server (Create Both; "/" is the server's
    # hierarchy delimiter, RFC 9051 §6.3.9, and mbsync's SubFolders Verbatim).
    projects = local / "Projects" / "Cloudsdial"
    for sub in ("cur", "new", "tmp"):
        (projects / sub).mkdir(parents=True)
    project_msgs = {}
    for i in range(3):
        raw = make_message("project", i, 700)
        (projects / "cur" / f"{1800001000 + i}.P1Q{i}.testhost:2,S").write_bytes(raw.replace(b"\r\n", b"\n"))
        project_msgs[subject_of(raw)] = raw

    run_mbsync(config, "push of local changes")
    far = server_messages(srv, "alice")
    gone = set(unlinked) | set(trashed)
    expected = (set(originals) - gone) | set(new_local)
    assert set(far) == expected, (sorted(set(far) - expected)[:10], sorted(expected - set(far))[:10])
    for subject, (raw, flags) in new_local.items():
        assert_same_message(far[subject][2], raw, subject)
        assert far[subject][1] == flags, (subject, far[subject][1], flags)
    for subject in set(originals) - gone:
        assert far[subject][1] == wanted_flags[subject], (subject, far[subject][1], wanted_flags[subject])
        assert_same_message(far[subject][2], originals[subject], subject)
    projects_far = server_messages(srv, "alice", "Projects/Cloudsdial")
    assert set(projects_far) == set(project_msgs)
    for subject, (_, flags, raw) in projects_far.items():
        assert flags == {r"\Seen"}
        assert_same_message(raw, project_msgs[subject], subject)
    for subject, (raw, flags) in new_local.items():
        wanted_flags[subject] = flags
        originals[subject] = raw
    for s in gone:
        del originals[s], wanted_flags[s]

    # 3. Server changes pulled: 30 messages expunged (some of them just uploaded), 10 flagged,
    # a new nested server folder with 4 messages.
    subjects = sorted(originals)
    expunge = subjects[::33][:30]
    assert len(expunge) == 30
    flag = [s for s in subjects if s not in expunge and r"\Flagged" not in wanted_flags[s]][:10]
    m = imap_login(srv, "alice")
    m.select("INBOX")
    uids = ",".join(str(far[s][0]) for s in expunge)
    assert m.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")[0] == "OK"
    assert m.expunge()[0] == "OK"
    assert m.uid("STORE", ",".join(str(far[s][0]) for s in flag), "+FLAGS.SILENT", r"(\Flagged)")[0] == "OK"
    assert m.create("Lists/Announce")[0] == "OK"
    lists_msgs = {}
    for i in range(4):
        raw = make_message("lists", i, 1500)
        assert m.append("Lists/Announce", None, None, raw)[0] == "OK"
        lists_msgs[subject_of(raw)] = raw
    m.logout()
    for s in expunge:
        del originals[s], wanted_flags[s]
    for s in flag:
        wanted_flags[s] = wanted_flags[s] | {r"\Flagged"}

    run_mbsync(config, "pull of server changes")
    near = local_messages(local / "INBOX")
    assert set(near) == set(originals), (sorted(set(near) - set(originals))[:10], sorted(set(originals) - set(near))[:10])
    for subject, (_, flags, raw) in near.items():
        assert flags == wanted_flags[subject], subject
        assert_same_message(raw, originals[subject], subject)
    lists_near = local_messages(local / "Lists" / "Announce")
    assert set(lists_near) == set(lists_msgs)
    for subject, (_, flags, raw) in lists_near.items():
        assert flags == set()
        assert_same_message(raw, lists_msgs[subject], subject)

    # 4. Nothing left to do: a run over the cleartext listener with LOGIN changes nothing.
    plain = write_mbsync_config(tmp_path / "mbsyncrc.plain", srv, local, tls=False)
    snapshot_far = {s: (v[0], v[1]) for s, v in server_messages(srv, "alice").items()}
    snapshot_near = {s: (v[0].name, v[1]) for s, v in local_messages(local / "INBOX").items()}
    run_mbsync(plain, "no-op resync (cleartext, LOGIN)")
    assert {s: (v[0], v[1]) for s, v in server_messages(srv, "alice").items()} == snapshot_far
    assert {s: (v[0].name, v[1]) for s, v in local_messages(local / "INBOX").items()} == snapshot_near
    assert len(snapshot_far) == 1000 + 20 - 10 - 30 == len(originals)


# ---------------------------------------------------------------------------- mutt
def run_mutt(srv, home: Path, keys: str, timeout=60):
    """Runs mutt on bob's INBOX over IMAPS in a pty (`script`), with `keys` pushed (mutt's
    push syntax) after the mailbox opened; returns the terminal transcript."""
    certs = home / "certificates"
    shutil.copyfile(srv.cert_path, certs)  # mutt accepts a certificate found in this file
    muttrc = home / "muttrc"
    muttrc.write_text("\n".join([
        f'set folder="imaps://bob@localhost:{srv.imap_ports["imaps"]}/"',
        'set spoolfile="+INBOX"',
        f'set imap_pass="{CLIENTS_IMAP_USERS["bob"]}"',
        f'set certificate_file="{certs}"',
        "set ssl_force_tls=yes", "set mbox_type=mbox", "set confirmappend=no", "set confirmcreate=no",
        "set wait_key=no", "set move=no", "set delete=no", "set quit=yes", "set mark_old=no", "set beep=no",
        'set header_cache=""', 'set message_cachedir=""', "set sort=date", "set pager_stop=yes", ""]))
    command = " ".join(shlex.quote(a) for a in [MUTT, "-n", "-F", str(muttrc), "-e", f'push "{keys}"'])
    env = dict(os.environ, HOME=str(home), TERM="vt100", LINES="24", COLUMNS="80")
    start = time.monotonic()
    r = subprocess.run([SCRIPT, "-qec", command, "/dev/null"], stdin=subprocess.DEVNULL, capture_output=True,
                       env=env, cwd=home, timeout=timeout)
    print(f"mutt session: {time.monotonic() - start:.2f}s")
    screen = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"mutt exited with {r.returncode}:\n{screen[-3000:]}"
    return screen


@pytest.mark.skipif(MUTT is None or SCRIPT is None, reason="mutt or script not installed (Debian mutt, util-linux)")
def test_mutt_reads_copies_and_flags_over_imaps(clients_imap_server, tmp_path):
    """mutt over implicit TLS (RFC 8314 §3): it authenticates (SASL, RFC 9051 §6.2.2), lists
    INBOX, copies a known message to a local mbox (UID FETCH BODY[]), flags it (UID STORE
    \\Flagged) and displays another (\\Seen set, RFC 9051 §2.3.2)."""
    srv = clients_imap_server
    msgs = {}
    m = imap_login(srv, "bob")
    for i, tag in enumerate(["mutt-first", "mutt-target", "mutt-last"]):
        raw = make_message(tag, i, 800 + 400 * i, utf8=(tag == "mutt-target"))
        assert m.append("INBOX", None, None, raw)[0] == "OK"
        msgs[tag] = raw
    m.logout()

    out = tmp_path / "saved.mbox"
    keys = ("<limit>~s mutt-target<enter><copy-message>" + str(out) + "<enter><flag-message>"
            "<limit>~s mutt-last<enter><display-message><exit><quit>")
    screen = run_mutt(srv, tmp_path, keys)

    assert out.is_file(), "mutt saved nothing:\n" + screen[-3000:]
    saved = list(mailbox.mbox(str(out)))
    assert len(saved) == 1, screen[-3000:]
    want = email.message_from_bytes(msgs["mutt-target"])
    assert saved[0]["Subject"] == want["Subject"] == "mutt-target 0001"
    assert saved[0]["Message-ID"] == want["Message-ID"]
    body = saved[0].get_payload(decode=True).replace(b"\r\n", b"\n")
    assert body == want.get_payload(decode=True).replace(b"\r\n", b"\n")
    assert "Grüße".encode() in body or "naïve".encode() in body or "✓".encode() in body

    server = {s.split()[0]: (uid, flags) for s, (uid, flags, _) in server_messages(srv, "bob").items()}
    assert server["mutt-target"][1] == {r"\Flagged"}, server
    assert server["mutt-last"][1] == {r"\Seen"}, server
    assert server["mutt-first"][1] == set(), server
