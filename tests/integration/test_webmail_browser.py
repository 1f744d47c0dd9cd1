# The webmail in a real browser (issue 16): Debian's chromium driven headless by
# playwright-core (tests/browser/webmail.mjs) against the real `cloudsdial serve` on
# loopback. Mail is delivered with smtplib (RFC 5321), the store is checked with imaplib
# (RFC 9051) afterwards: log in, read a plain mail, open an HTML mail whose <script> and
# onerror handler would call a loopback "canary" server we run here (they must not: the
# canary must see no such request), load its remote image only after "Show images", flag
# (RFC 9051 \Flagged), move to Archive, download an attachment (RFC 8620 §6.2), forward it
# with the attachment, delete it (to Trash), search, send through JMAP EmailSubmission (RFC 8621
# §7) and see it arrive by push (RFC 8620 §7.3), save a reply as a draft ($draft).
# Screenshots are kept in $ARTIFACT_DIR or <build>/artifacts/webmail/.
# Skipped only when /usr/bin/chromium or node_modules/playwright-core is absent.
import http.server
import json
import os
import shutil
import subprocess
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import REPO, Server, find_binary

CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "alice", "alice-secret"


def artifact_dir() -> Path:
    if os.environ.get("ARTIFACT_DIR"):
        return Path(os.environ["ARTIFACT_DIR"]) / "webmail"
    return Path(find_binary()).resolve().parent.parent / "artifacts" / "webmail"


class Canary:
    """A loopback HTTP server that records the path of every request (what a mail's script
    would reach); GET /__hits answers the list as JSON."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/__hits":
                    body = json.dumps(hits).encode()
                    ctype = "application/json"
                else:
                    hits.append(self.path)
                    # a 1x1 GIF for image requests
                    body = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
                            b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
                    ctype = "image/gif"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def mail(subject, text=None, html=None, sender="bob@remote.test"):
    m = EmailMessage()
    m["From"] = f"Bob <{sender}>"
    m["To"] = f"{USER}@example.test"
    m["Subject"] = subject
    m.set_content(text or "(see HTML)")
    if html is not None:
        m.add_alternative(html, subtype="html")
    return m


@pytest.fixture(scope="module")
def webmail(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (ci/install-deps.sh installs Debian's chromium)")
    if not (REPO / "node_modules" / "playwright-core").is_dir() or shutil.which("node") is None:
        pytest.skip("node or node_modules/playwright-core missing (ci/install-deps.sh runs npm ci)")
    srv = Server(tmp_path_factory.mktemp("webmail"), users=[], sections={
        "http": {"listen": '["127.0.0.1:0"]'},
        "imap": {"listen": '["127.0.0.1:0"]'},
        "auth": {"plaintext_on_loopback": "true", "failure_delay": '"0s"'},
    })
    srv.user("add", USER, PASSWORD)
    srv.start()
    assert "http" in srv.http_ports, srv.log()
    canary = Canary()
    yield srv, canary
    canary.close()
    if srv.proc is not None:
        srv.stop()


def imap_login(srv):
    m = srv.imap()
    m.login(USER, PASSWORD)
    return m


def subjects(m, mailbox):
    typ, _ = m.select(f'"{mailbox}"')
    assert typ == "OK", mailbox
    typ, data = m.search(None, "ALL")
    out = {}
    for num in data[0].split():
        _, fetched = m.fetch(num, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        flags = fetched[0][0].decode()
        subject = fetched[0][1].decode().split(":", 1)[1].strip()
        out[subject] = flags
    return out


def test_webmail_in_chromium_read_hostile_html_flag_move_search_send(webmail):
    srv, canary = webmail
    m = imap_login(srv)
    for name in ("Archive", "Drafts", "Sent", "Trash"):
        m.create(name)  # "already exists" is fine: the server may make them itself
    m.logout()

    hostile = (f'<p>HTML-BODY-MARKER <b>bold</b></p>'
               f'<script>document.title = "PWNED"; fetch("{canary.url}/script");</script>'
               f'<img src="x-broken" onerror="fetch(\'{canary.url}/onerror\'); document.title=\'PWNED\'">'
               f'<img src="{canary.url}/remote-image.gif" alt="remote">'
               f'<a href="javascript:fetch(\'{canary.url}/js-link\')">link</a>')
    with srv.smtp() as s:
        s.send_message(mail("Needle", "the word zebracorn is here"))
        s.send_message(mail("Move me", "please archive"))
        with_file = mail("With attachment", "see the file")
        with_file.add_attachment(b"ATTACHMENT-CONTENT\n", maintype="text", subtype="plain", filename="notes.txt")
        s.send_message(with_file)
        s.send_message(mail("Hostile HTML", html=hostile))
        s.send_message(mail("Plain hello", "PLAIN-BODY-MARKER\n<b>not html</b>\n"))

    out_dir = artifact_dir()
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    env = dict(os.environ, WEBMAIL_URL=f"http://127.0.0.1:{srv.http_ports['http']}/", WEBMAIL_USER=USER,
               WEBMAIL_PASS=PASSWORD, CANARY_URL=canary.url, SMTP_PORT=str(srv.port), ARTIFACT_DIR=str(out_dir), CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", str(REPO / "tests" / "browser" / "webmail.mjs")], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.returncode == 0 and lines, f"browser run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n" \
                                        f"screenshots: {out_dir}\nserver log:\n{srv.log()[-3000:]}"
    result = json.loads(lines[-1])
    assert result.get("ok") is True, result
    assert not [h for h in canary.hits if h.startswith(("/script", "/onerror", "/js-link"))], canary.hits
    assert "/remote-image.gif" in canary.hits  # only after "Show images" (checked in the browser)
    assert not [e for e in result["consoleErrors"] if "PWNED" in e], result

    m = imap_login(srv)
    inbox = subjects(m, "INBOX")
    assert "\\Flagged" in inbox["Plain hello"], inbox
    assert "\\Seen" in inbox["Plain hello"], inbox
    assert "Move me" not in inbox, inbox
    assert "Sent from the webmail" in inbox, inbox  # delivered to ourselves
    assert "Move me" in subjects(m, "Archive")
    assert "With attachment" in subjects(m, "Trash") and "With attachment" not in inbox
    assert "Fwd: With attachment" in inbox, inbox
    assert "Pushed while idle" in inbox, inbox
    m.select("INBOX")
    _, found = m.search(None, 'SUBJECT "Fwd: With attachment"')
    _, fetched = m.fetch(found[0].split()[0], "(BODY.PEEK[])")
    forwarded = fetched[0][1]
    assert b"notes.txt" in forwarded
    assert b"ATTACHMENT-CONTENT" in forwarded or b"QVRUQUNITUVOVC1DT05URU5U" in forwarded  # 8bit or base64
    sent = subjects(m, "Sent")
    assert "Sent from the webmail" in sent and "\\Draft" not in sent["Sent from the webmail"], sent
    drafts = subjects(m, "Drafts")
    assert "Re: Sent from the webmail" in drafts and "\\Draft" in drafts["Re: Sent from the webmail"], drafts
    m.logout()
    assert sorted(p.name for p in out_dir.glob("*.png")), "no screenshots kept"
