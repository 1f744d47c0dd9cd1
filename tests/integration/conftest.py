# pytest fixtures that run the real `cloudsdial serve` binary on an ephemeral loopback
# port (listen = ["127.0.0.1:0"]; the bound port is read from its "listening on" line),
# with a temporary data dir, and stop it with SIGTERM asserting a clean exit (code 0, no
# sanitizer report). Uses only the Python standard library and pytest (Debian python3).
import imaplib
import os
import re
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DOMAIN = "example.test"
HOSTNAME = "mx.example.test"


def find_binary():
    env = os.environ.get("CLOUDSDIAL_BIN")
    if env:
        return env
    for candidate in ("build/app", "build/asan", "build/dev", "build/release"):
        p = REPO / candidate / "app" / "cloudsdial"
        if p.exists():
            return str(p)
    pytest.skip("cloudsdial binary not found: set CLOUDSDIAL_BIN")


def toml_list(items):
    return "[" + ", ".join('"' + i + '"' for i in items) + "]"


class Server:
    """One cloudsdial process (restartable on the same data dir)."""

    def __init__(self, root: Path, smtp_extra=None, users=None, shutdown_timeout="5s", sections=None,
                 server_extra=None, domain=DOMAIN, hostname=HOSTNAME, extra_toml=""):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.data_dir = root / "var"
        self.config_path = root / "cloudsdial.toml"
        self.proc = None
        self.port = None
        self.starts = 0
        self.log_path = None
        self.ports = {}  # listener kind ("smtp", "submission", "submissions") -> bound port
        self.imap_ports = {}  # IMAP listener kind ("imap", "imaps") -> bound port (fresh at every start)
        self.pop3_ports = {}  # POP3 listener kind ("pop3", "pop3s") -> bound port (fresh at every start)
        self.http_ports = {}  # HTTP listener kind ("http", "https") -> bound port (fresh at every start)
        smtp = {
            "listen": '["127.0.0.1:0"]',
            "max_connections_per_ip": "50",
            "message_size_max": "1048576",
            "error_delay": '"50ms"',
        }
        smtp.update(smtp_extra or {})
        if users is None:
            users = default_users()
        lines = [
            "[server]",
            f'hostname = "{hostname}"',
            f'data_dir = "{self.data_dir}"',
            'log_level = "info"',
            f'shutdown_timeout = "{shutdown_timeout}"',
        ]
        # More [server] keys, e.g. {"log_format": '"json"'}: values are TOML literals.
        lines += [f"{k} = {v}" for k, v in (server_extra or {}).items()]
        lines += ["", "[smtp]"]
        lines += [f"{k} = {v}" for k, v in smtp.items()]
        # Extra tables, e.g. {"tls": {"enabled": "true"}, "auth": {...}}: values are TOML literals.
        for section, keys in (sections or {}).items():
            lines += ["", f"[{section}]"] + [f"{k} = {v}" for k, v in keys.items()]
        lines += ["", "[domains]", f'local = ["{domain}"]', ""]
        for name, aliases in users:
            lines += ["[[users]]", f'name = "{name}"']
            if aliases:
                lines.append(f"aliases = {toml_list(aliases)}")
            lines.append("")
        # Raw TOML appended as is (e.g. [[relay.routes]] tables).
        lines.append(extra_toml)
        self.config_path.write_text("\n".join(lines), encoding="utf-8")

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout=30, env_extra=None):
        assert self.proc is None
        self.starts += 1
        self.log_path = self.root / f"server.{self.starts}.log"
        log = open(self.log_path, "wb")
        env = dict(os.environ)
        env.update(env_extra or {})
        # Leak checking stays on; a report fails the clean-exit assertion.
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        self.proc = subprocess.Popen(
            [find_binary(), "serve", "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=self.root)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            # Any loopback address: the MX test's remote listens on 127.0.0.2:25.
            m = re.search(r"listening on 127\.\d+\.\d+\.\d+:(\d+)", text)
            if m and "ready" in text:
                self.port = int(m.group(1))
                for port, kind in re.findall(r"cloudsdial: listening on 127\.\d+\.\d+\.\d+:(\d+)(?: \((\w+)\))?", text):
                    self.ports.setdefault(kind or "smtp", int(port))
                # "imap: listening on 127.0.0.1:PORT (imap|imaps)": this start's log only.
                self.imap_ports = {kind: int(port) for port, kind in
                                   re.findall(r"imap: listening on 127\.\d+\.\d+\.\d+:(\d+) \((imaps?)\)", text)}
                self.pop3_ports = {kind: int(port) for port, kind in
                                   re.findall(r"pop3: listening on 127\.\d+\.\d+\.\d+:(\d+) \((pop3s?)\)", text)}
                self.http_ports = {kind: int(port) for port, kind in
                                   re.findall(r"http: listening on 127\.\d+\.\d+\.\d+:(\d+) \((https?)\)", text)}
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"cloudsdial exited with {self.proc.returncode} during startup:\n{text}")
            time.sleep(0.02)
        self.proc.kill()
        raise AssertionError("cloudsdial did not become ready:\n" + self.log())

    def log(self):
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the server and waits; asserts a clean exit for SIGTERM/SIGINT."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("cloudsdial did not exit after SIGTERM:\n" + self.log()[-5000:])
        self.proc = None
        if sig != signal.SIGKILL:
            text = self.log()
            assert rc == 0, f"exit code {rc}:\n{text[-5000:]}"
            assert "AddressSanitizer" not in text and "LeakSanitizer" not in text and "runtime error:" not in text, text[-5000:]
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def pid(self):
        return self.proc.pid

    def queue(self, *args, check=True):
        """Runs `cloudsdial queue ARGS --config ...`; returns the CompletedProcess."""
        r = subprocess.run([find_binary(), "queue", *args, "--config", str(self.config_path)], capture_output=True,
                           text=True, cwd=self.root, timeout=60, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r

    def user(self, action, name, password=None):
        """Runs `cloudsdial user ACTION NAME` on this server's config (password on stdin)."""
        r = subprocess.run([find_binary(), "user", action, name, "--config", str(self.config_path)],
                           input=(password + "\n") if password is not None else "", capture_output=True, text=True,
                           cwd=self.root, timeout=60, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
        assert r.returncode == 0, r.stderr
        return r

    # ------------------------------------------------------------------ clients
    def smtp(self, **kw):
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=30, **kw)

    def connect(self, timeout=30):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return RawClient(s)

    def assert_healthy(self):
        assert self.proc is not None and self.proc.poll() is None, "server died:\n" + self.log()[-5000:]
        with self.smtp() as s:
            code, _ = s.ehlo()
            assert code == 250
            assert s.noop()[0] == 250

    def imap(self, user=None, password=None, timeout=30):
        """An imaplib client on the plain IMAP listener, logged in (LOGIN) when `user` is given
        (password: IMAP_USERS[user] unless given)."""
        m = imaplib.IMAP4("127.0.0.1", self.imap_ports["imap"], timeout=timeout)
        if user is not None:
            m.login(user, password if password is not None else IMAP_USERS[user])
        return m

    def imap_ssl(self, timeout=30):
        """An imaplib client on the implicit-TLS listener (RFC 8314); the certificate is the
        self-signed one the server generated, so it is not verified."""
        return imaplib.IMAP4_SSL("127.0.0.1", self.imap_ports["imaps"], ssl_context=unverified_tls(), timeout=timeout)

    # ------------------------------------------------------------------ mailboxes
    def maildir(self, user="demo"):
        return self.data_dir / "mail" / user / "Maildir"

    def messages(self, user="demo"):
        """All delivered messages of `user` (new/ and cur/) as bytes."""
        out = []
        for sub in ("new", "cur"):
            d = self.maildir(user) / sub
            if d.is_dir():
                for p in sorted(d.iterdir()):
                    out.append(p.read_bytes())
        return out

    def find(self, token, user="demo"):
        token = token.encode() if isinstance(token, str) else token
        return [m for m in self.messages(user) if token in m]

    def all_messages(self):
        root = self.data_dir / "mail"
        out = []
        if root.is_dir():
            for user in sorted(root.iterdir()):
                out += self.messages(user.name)
        return out


# ---------------------------------------------------------------------------- IMAP
# Logins made with `cloudsdial user add NAME` (password on stdin) before the IMAP server starts.
IMAP_USERS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret", "dave": "dave-secret"}


def new_jmap_server(root: Path):
    """A started Server with IMAP (imap_sections) and HTTP on ephemeral loopback ports and the
    IMAP_USERS logins: JMAP tests log in over both."""
    sections = imap_sections()
    sections["http"] = {"listen": '["127.0.0.1:0"]'}
    srv = Server(root, users=[], sections=sections)
    for name, password in IMAP_USERS.items():
        srv.user("add", name, password)
    srv.start()
    assert "http" in srv.http_ports, srv.log()
    return srv


def unverified_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def imap_sections(**imap_extra):
    """Config tables for IMAP on ephemeral loopback ports, plain (STARTTLS) and implicit TLS
    with the generated self-signed certificate; LOGIN without TLS allowed on loopback; no
    delay after a failed login. APPENDLIMIT is set to 35 MiB (the SMTP message limit's
    usual size) so a 50 MB APPEND is over it. Values are TOML literals."""
    imap = {"listen": '["127.0.0.1:0"]', "tls_listen": '["127.0.0.1:0"]', "append_limit": '"35MiB"'}
    imap.update(imap_extra)
    return {"imap": imap, "tls": {"enabled": "true"},
            "auth": {"plaintext_on_loopback": "true", "failure_delay": '"0s"'}}


def new_imap_server(root: Path, users=None, hostname=HOSTNAME, **imap_extra):
    """A started Server with [imap] on and the logins of `users` (name -> password, default
    IMAP_USERS) made by `cloudsdial user add`; no [[users]] entries."""
    srv = Server(root, users=[], sections=imap_sections(**imap_extra), hostname=hostname)
    for name, password in (users or IMAP_USERS).items():
        srv.user("add", name, password)
    srv.start()
    assert set(srv.imap_ports) == {"imap", "imaps"}, srv.log()
    return srv


@pytest.fixture(scope="module")
def imap_server(tmp_path_factory):
    """One IMAP-enabled server for a test module (imap_ports["imap"], ["imaps"], port = SMTP),
    with a 100 MiB storage quota per user (RFC 9208 GETQUOTA has a root to show)."""
    srv = new_imap_server(tmp_path_factory.mktemp("imap"), quota='"100MiB"')
    yield srv
    if srv.proc is not None:
        srv.stop()


@pytest.fixture
def make_imap_server(tmp_path):
    """Factory for a dedicated IMAP-enabled server (restartable; stopped cleanly at the end)."""
    made = []

    def make(**imap_extra):
        srv = new_imap_server(tmp_path / f"imap{len(made)}", **imap_extra)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        if srv.proc is not None:
            srv.stop()


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago (for a server that must be restarted on it)."""
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(predicate, timeout=30, what="condition"):
    """Polls `predicate` until it is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def default_users():
    users = [("demo", ["postmaster", "dëmo"])]
    users += [(f"user{i}", []) for i in range(1, 101)]
    return users


def strip_received(stored: bytes) -> bytes:
    """The stored message minus the headers the server prepended at final delivery:
    Return-Path: then Received: (RFC 5321 §4.4)."""
    assert stored.startswith(b"Return-Path: <"), stored[:200]
    assert b"\r\nReceived: " in stored[:1000], stored[:200]
    pos = 0
    while stored.startswith(b"Received:", pos) or stored.startswith(b"Return-Path:", pos) or stored.startswith(b"Delivered-To:", pos):
        end = stored.index(b"\r\n", pos) + 2
        while stored[end:end + 1] in (b" ", b"\t"):
            end = stored.index(b"\r\n", end) + 2
        pos = end
    return stored[pos:]


class RawClient:
    """A raw socket SMTP client that reads whole (multi-line) replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def read_line(self, timeout=30):
        self.sock.settimeout(timeout)
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered: %r" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self, timeout=30):
        """Returns (code, [text lines]) of the next reply."""
        lines = []
        while True:
            line = self.read_line(timeout)
            assert len(line) >= 3 and line[:3].isdigit(), line
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, line: str, timeout=30):
        self.send(line.encode("utf-8") + b"\r\n")
        return self.reply(timeout)

    def greet(self):
        code, lines = self.reply()
        assert code == 220, lines
        code, lines = self.cmd("EHLO client.test")
        assert code == 250, lines
        return lines

    def closed(self, timeout=5):
        """True when the server closes the connection (after consuming any replies)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("srv")).start()
    yield srv
    if srv.proc is not None:
        srv.stop()


@pytest.fixture
def make_server(tmp_path):
    """Factory for a dedicated server with its own config (stopped cleanly at the end)."""
    made = []

    def make(**kw):
        srv = Server(tmp_path / f"s{len(made)}", **kw)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        if srv.proc is not None:
            srv.stop()


# ---------------------------------------------------------------------------- dnsmasq
# An authoritative DNS server for the relay's end-to-end tests ([dns] servers, issue 13):
# Debian's dnsmasq (package dnsmasq-base) on 127.0.0.1 and a free port, answering only
# from the records it is given. The zones those names are in are --local, so an unknown
# name there is NXDOMAIN; any other name is REFUSED (no upstream). Nothing leaves loopback.

DNSMASQ = "/usr/sbin/dnsmasq"
DNS_TYPES = {"A": 1, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}


def dns_query(server: str, name: str, qtype: str = "MX", timeout: float = 1.0):
    """One UDP query (RFC 1035 §4.1) to "IP:PORT". Returns (rcode, answers), answers a list
    of (type name, value): MX -> (preference, exchange), A/AAAA -> address text, CNAME ->
    name, TXT -> the joined strings. Raises socket.timeout when nothing answers."""
    host, _, port = server.rpartition(":")
    host = host.strip("[]")
    qid = int.from_bytes(os.urandom(2), "big")
    question = b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.rstrip(".").split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", DNS_TYPES[qtype], 1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (host, int(port)))
        while True:
            reply, _ = s.recvfrom(65535)
            if len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid:
                break
    return parse_dns_reply(reply)


def _dns_name(msg: bytes, pos: int):
    """(name, position after it) with compression pointers (RFC 1035 §4.1.4), bounded."""
    labels, end, hops = [], None, 0
    while True:
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if length == 0:
            return ".".join(labels), (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length


def parse_dns_reply(msg: bytes):
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        _, pos = _dns_name(msg, pos)
        pos += 4
    names = {v: k for k, v in DNS_TYPES.items()}
    answers = []
    for _ in range(an):
        _, pos = _dns_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        rdata_at = pos + 10
        rdata = msg[rdata_at:rdata_at + rdlen]
        kind = names.get(rtype, str(rtype))
        if kind == "MX":
            value = (struct.unpack(">H", rdata[:2])[0], _dns_name(msg, rdata_at + 2)[0])
        elif kind == "A":
            value = socket.inet_ntop(socket.AF_INET, rdata)
        elif kind == "AAAA":
            value = socket.inet_ntop(socket.AF_INET6, rdata)
        elif kind == "CNAME":
            value = _dns_name(msg, rdata_at)[0]
        elif kind == "TXT":
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1:i + 1 + rdata[i]].decode("utf-8", "replace"))
                i += 1 + rdata[i]
            value = "".join(parts)
        else:
            value = rdata
        answers.append((kind, value))
        pos = rdata_at + rdlen
    return flags & 0xF, answers


class ServfailUpstream:
    """A UDP "name server" on 127.0.0.1 that answers every query SERVFAIL (RFC 1035 §4.1.1,
    RCODE 2): dnsmasq forwards the zones given as `servfail=` to it and relays the answer."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                query, peer = self.sock.recvfrom(65535)
            except OSError:
                return  # closed
            if len(query) < 12:
                continue
            rd = struct.unpack(">H", query[2:4])[0] & 0x0100
            flags = 0x8000 | rd | 0x0080 | 2  # QR, RD copied, RA, SERVFAIL
            # The question is echoed (QDCOUNT kept), no records.
            try:
                self.sock.sendto(query[:2] + struct.pack(">H", flags) + query[4:6] + b"\0" * 6 + query[12:], peer)
            except OSError:
                return

    def stop(self):
        self.sock.close()
        self.thread.join(timeout=5)


class Dnsmasq:
    """One dnsmasq process; `server` is "127.0.0.1:PORT" for [dns] servers."""

    def __init__(self, root: Path, mx=None, hosts=None, cnames=None, txt=None, null_mx=(), servfail=()):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.server = None
        self.upstream = None
        args = []
        zones = set()
        # RFC 7505 §3: a null MX is one MX record, preference 0, exchange the root ".":
        # raw RDATA (--dns-rr), since --mx-host cannot name the root.
        for domain in null_mx:
            zones.add(domain)
            args.append(f"--dns-rr={domain},{DNS_TYPES['MX']},000000")
        # Zones whose every answer is SERVFAIL: forwarded to a server that says so.
        if servfail:
            self.upstream = ServfailUpstream()
            for zone in servfail:
                args.append(f"--server=/{zone}/127.0.0.1#{self.upstream.port}")
        for domain, records in (mx or {}).items():
            zones.add(domain)
            for preference, exchange in records:
                args.append(f"--mx-host={domain},{exchange},{preference}")
        for host, addresses in (hosts or {}).items():
            zones.add(host)
            if isinstance(addresses, str):
                addresses = [addresses]
            args.append(f"--host-record={host}," + ",".join(addresses))
        for alias, target in (cnames or {}).items():
            zones.add(alias)
            args.append(f"--cname={alias},{target}")
        for name, text in (txt or {}).items():
            zones.add(name)
            args.append(f"--txt-record={name},{text}")
        # Authoritative for the top-level zones named: unknown names there are NXDOMAIN.
        args += [f"--local=/{tld}/" for tld in sorted({z.rstrip('.').rsplit('.', 1)[-1] for z in zones})]
        self.records = args

    def start(self, attempts=5):
        for _ in range(attempts):
            port = free_udp_port()
            self.log_path = self.root / f"dnsmasq-{port}.log"
            cmd = [DNSMASQ, "--no-daemon", f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                   "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                   f"--log-facility={self.log_path}", "--log-queries"] + self.records
            with open(self.root / "dnsmasq.stderr", "ab") as err:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            server = f"127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    dns_query(server, "probe.invalid", "A", timeout=0.2)
                    self.server = server
                    return self
                except (socket.timeout, ConnectionRefusedError, OSError):
                    continue
            self.stop()  # the port was taken (UDP or TCP) or it did not come up: another port
        err = (self.root / "dnsmasq.stderr").read_text(errors="replace")
        pytest.fail(f"dnsmasq did not start: {err[-2000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        if self.upstream is not None:
            self.upstream.stop()
            self.upstream = None


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dnsmasq(tmp_path):
    """Factory: dnsmasq(mx={"b.test": [(10, "mx.b.test")]}, hosts={"mx.b.test": "127.0.0.1"},
    cnames={...}, txt={...}, null_mx=["n.test"], servfail=["sf.test"]) starts a server
    answering exactly those records (names under a servfail zone: SERVFAIL) and returns
    "127.0.0.1:PORT" (for `[dns] servers`); each is stopped at the end of the test. Skips
    the test when dnsmasq is not installed (ci/install-deps.sh installs dnsmasq-base)."""
    if not os.access(DNSMASQ, os.X_OK):
        pytest.skip("dnsmasq not installed (Debian package dnsmasq-base)")
    started = []

    def start(**records):
        d = Dnsmasq(tmp_path / f"dns{len(started)}", **records)
        started.append(d)
        return d.start().server

    yield start
    for d in started:
        d.close()


# ---------------------------------------------------------------------------- IMAP for third-party clients
# (test_imap_clients.py: mbsync, mutt.) Self-contained so it merges next to the general IMAP
# fixtures of test_imap.py; only the certificate name differs: the server's [server] hostname
# is "localhost", so the self-signed certificate it generates (<data_dir>/tls/cert.pem, for
# `hostname`) verifies for a client that connects to "localhost" and trusts that file.
CLIENTS_IMAP_USERS = {"alice": "alice-secret", "bob": "bob-secret"}


@pytest.fixture(scope="module")
def clients_imap_server(tmp_path_factory):
    """A started server for a test module with IMAP (plain + implicit TLS) on ephemeral loopback
    ports, hostname "localhost" (the generated certificate names it), and the logins of
    CLIENTS_IMAP_USERS. Attribute added: cert_path (the generated certificate)."""
    srv = new_imap_server(tmp_path_factory.mktemp("imapclients"), users=CLIENTS_IMAP_USERS, hostname="localhost")
    srv.cert_path = srv.data_dir / "tls" / "cert.pem"
    assert srv.cert_path.is_file(), srv.log()
    yield srv
    if srv.proc is not None:
        srv.stop()
