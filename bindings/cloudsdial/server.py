# cloudsdial.Server: the production server embedded in-process (own thread, ephemeral
# loopback ports, temporary data dir) as a context manager, with the inspection API tests
# need: received messages (envelope + content), mailboxes parsed with `email` (Maildir
# files, or folders through the running server's indexed store), wait_for_message(), and
# smtplib/imaplib clients. The GreenMail use case for any test suite that sends real mail.
from __future__ import annotations

import imaplib
import poplib
import os
import shutil
import smtplib
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

from . import _core
from .sim import StoredMessage, parse_email
from .store import Folder, folders_from_core

__all__ = ["Server", "ReceivedMessage"]


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the embedded server accepted (250), as the client sent it."""
    queue_id: str
    mail_from: str
    recipients: list
    content: bytes
    reply: str

    def email(self):
        """The content parsed with Python's email package (LF line ends, see parse_email)."""
        return parse_email(self.content)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _endpoint(host: str, port: int) -> str:
    return _toml_str(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def _config_text(hostname: str, domains: Sequence[str], users: Sequence, message_size_max: Optional[int],
                 imap: bool, host: str, pop3: bool = False, http: bool = False) -> str:
    lines = ["[server]", f"hostname = {_toml_str(hostname)}", "", "[smtp]", 'listen = ["127.0.0.1:0"]',
             'error_delay = "0s"']
    if message_size_max is not None:
        lines.append(f"message_size_max = {int(message_size_max)}")
    if imap:
        # IMAP (STARTTLS) and IMAPS (implicit TLS) on ephemeral ports; LOGIN without TLS
        # from loopback only, so imaplib.IMAP4 can log in as a local client would.
        lines += ["", "[imap]", f"listen = [{_endpoint(host, 0)}]", f"tls_listen = [{_endpoint(host, 0)}]"]
    if pop3:
        # POP3 (STLS) and POP3S (implicit TLS) on ephemeral ports, the same loopback rule.
        lines += ["", "[pop3]", f"listen = [{_endpoint(host, 0)}]", f"tls_listen = [{_endpoint(host, 0)}]"]
    if http:
        # HTTP and HTTPS (implicit TLS) on ephemeral ports: GET /metrics and what the server
        # serves over HTTP; loopback clients are not rate limited (the default).
        lines += ["", "[http]", f"listen = [{_endpoint(host, 0)}]", f"tls_listen = [{_endpoint(host, 0)}]"]
    if imap or pop3:
        lines += ["", "[auth]", "plaintext_on_loopback = true"]
    lines += ["", "[domains]", "local = [" + ", ".join(_toml_str(d) for d in domains) + "]", ""]
    for u in users:
        name, aliases = (u, []) if isinstance(u, str) else (u[0], list(u[1]))
        lines += ["[[users]]", f"name = {_toml_str(name)}"]
        if aliases:
            lines.append("aliases = [" + ", ".join(_toml_str(a) for a in aliases) + "]")
        lines.append("")
    return "\n".join(lines)


class Server:
    """The real cloudsdial server (SMTP, IMAP), in-process.

    with cloudsdial.Server(users=["alice"]) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            s.sendmail("a@b.test", ["alice@example.test"], "Subject: hi\\r\\n\\r\\nhello")
        msg = srv.wait_for_message(timeout=10)

    `config` is a TOML text (the `cloudsdial serve` format) or a path to one; without it a
    configuration is made from hostname/domains/users. In both cases the server listens on
    `host`:`port` (default 127.0.0.1 and an ephemeral port) and keeps its mail in
    `data_dir` (default: a temporary directory removed at stop()). imap=True (the default,
    generated configuration only) adds IMAP listeners (imap_ports) on `host`, pop3=True (the
    default) POP3 listeners (pop3_ports), http=True (the default) HTTP listeners (http_ports,
    http_url: GET /metrics and the other HTTP routes); `logins` ({name: password}) go into the users file,
    for IMAP LOGIN, POP3 USER/PASS and SMTP AUTH."""

    def __init__(self, config: Union[str, Path, None] = None, *, users: Sequence = ("demo",),
                 domains: Sequence[str] = ("example.test",), hostname: str = "mx.example.test",
                 data_dir: Union[str, Path, None] = None, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warn", message_size_max: Optional[int] = None, imap: bool = True,
                 logins: Optional[Mapping[str, str]] = None, pop3: bool = True, http: bool = True):
        self._logins = dict(logins or {})
        if config is None:
            text, source = (_config_text(hostname, domains, users, message_size_max, imap, host, pop3, http),
                            "<cloudsdial.Server>")
        elif isinstance(config, Path) or (isinstance(config, str) and "\n" not in config and config.endswith(".toml")):
            text, source = Path(config).read_text(encoding="utf-8"), str(config)
        else:
            text, source = str(config), "<config>"
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="cloudsdial-")
            data_dir = self._tmp
        try:
            self._core = _core.EmbeddedServer(text, source, str(data_dir), host, port, log_level)
            if self._logins:
                self._write_logins()
        except BaseException:
            if self._tmp is not None:  # a refused configuration leaves no directory behind
                shutil.rmtree(self._tmp, ignore_errors=True)
            raise

    def _write_logins(self) -> None:
        """Adds self._logins to the users file (as `cloudsdial user add` would), before start."""
        path = Path(self._core.users_path)
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        text = _core._users_file_text(existing, list(self._logins.items()))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> "Server":
        """Starts the server thread; returns once it listens."""
        self._core.start(timeout)
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Graceful shutdown (sessions get `grace` seconds), then removes a temporary data dir."""
        self._core.stop(grace)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._core.running

    # ------------------------------------------------------------------ where
    @property
    def host(self) -> str:
        return self._core.endpoints[0][0]

    @property
    def port(self) -> int:
        """The bound SMTP port (the real one when 0 was asked for)."""
        return self._core.endpoints[0][1]

    @property
    def data_dir(self) -> Path:
        return Path(self._core.data_dir)

    @property
    def hostname(self) -> str:
        return self._core.hostname

    @property
    def domains(self) -> list[str]:
        return list(self._core.domains)

    @property
    def users(self) -> list[str]:
        return [name for name, _ in self._core.users]

    def address(self, user: str) -> str:
        """user@<first domain>."""
        return f"{user}@{self.domains[0]}"

    def smtp(self, timeout: float = 30.0) -> smtplib.SMTP:
        """An smtplib client connected to this server."""
        return smtplib.SMTP(self.host, self.port, local_hostname="client.test", timeout=timeout)

    @property
    def imap_ports(self) -> dict:
        """The bound IMAP ports by listener kind: "imap" (STARTTLS, 143-style) and "imaps"
        (implicit TLS, RFC 8314); empty when the configuration has no [imap]."""
        return {kind: port for kind, _, port in self._core.imap_endpoints}

    @property
    def imap_port(self) -> int:
        """The first plaintext (STARTTLS) IMAP port; StateError without one."""
        return self._imap_endpoint("imap")[1]

    @property
    def imaps_port(self) -> int:
        """The first implicit-TLS IMAP port; StateError without one."""
        return self._imap_endpoint("imaps")[1]

    def _imap_endpoint(self, kind: str) -> tuple:
        for k, host, port in self._core.imap_endpoints:
            if k == kind:
                return host, port
        raise _core.StateError(f"the server has no {kind} listener (Server(imap=True) or [imap] in the config)")

    @property
    def pop3_ports(self) -> dict:
        """The bound POP3 ports by listener kind: "pop3" (STLS, 110-style) and "pop3s"
        (implicit TLS, RFC 8314); empty when the configuration has no [pop3]."""
        return {kind: port for kind, _, port in self._core.pop3_endpoints}

    @property
    def http_ports(self) -> dict:
        """The bound HTTP ports by listener kind: "http" and "https" (implicit TLS, the mail
        ports' certificate); empty when the configuration has no [http]."""
        return {kind: port for kind, _, port in self._core.http_endpoints}

    @property
    def http_port(self) -> int:
        """The first plain HTTP port; StateError without one."""
        return self._http_endpoint("http")[1]

    @property
    def http_url(self) -> str:
        """The base URL of the first plain HTTP listener ("http://127.0.0.1:PORT")."""
        host, port = self._http_endpoint("http")
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def _http_endpoint(self, kind: str) -> tuple:
        for k, host, port in self._core.http_endpoints:
            if k == kind:
                return host, port
        raise _core.StateError(f"the server has no {kind} listener (Server(http=True) or [http] in the config)")

    def pop3(self, user: Optional[str] = None, password: Optional[str] = None, *, tls: bool = False,
             timeout: float = 30.0) -> poplib.POP3:
        """A poplib client connected to this server, logged in (USER/PASS) as `user` when given
        (password from Server(logins=...) unless given). tls=True: the implicit-TLS port
        (POP3_SSL, the self-signed certificate not verified)."""
        kind = "pop3s" if tls else "pop3"
        found = [(h, p) for k, h, p in self._core.pop3_endpoints if k == kind]
        if not found:
            raise _core.StateError(f"the server has no {kind} listener (Server(pop3=True) or [pop3] in the config)")
        host, port = found[0]
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client = poplib.POP3_SSL(host, port, context=context, timeout=timeout)
        else:
            client = poplib.POP3(host, port, timeout=timeout)
        if user is not None:
            if password is None:
                if user not in self._logins:
                    client.close()
                    raise _core.ConfigError(f"no password for '{user}': pass password= or Server(logins={{...}})")
                password = self._logins[user]
            try:
                client.user(user)
                client.pass_(password)
            except BaseException:
                client.close()
                raise
        return client

    def imap(self, user: Optional[str] = None, password: Optional[str] = None, *, tls: bool = False,
             timeout: float = 30.0) -> imaplib.IMAP4:
        """An imaplib client connected to this server, logged in (LOGIN) as `user` when given.
        `password` defaults to the user's from Server(logins=...). tls=True connects to the
        implicit-TLS port (IMAP4_SSL, the self-signed certificate not verified); else the
        plaintext port, where LOGIN works from loopback (plaintext_on_loopback)."""
        if tls:
            host, port = self._imap_endpoint("imaps")
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
        else:
            host, port = self._imap_endpoint("imap")
            client = imaplib.IMAP4(host, port, timeout=timeout)
        if user is not None:
            if password is None:
                if user not in self._logins:
                    client.shutdown()
                    raise _core.ConfigError(f"no password for '{user}': pass password= or Server(logins={{...}})")
                password = self._logins[user]
            try:
                client.login(user, password)
            except BaseException:
                client.shutdown()
                raise
        return client

    # ------------------------------------------------------------------ inspection
    @property
    def received(self) -> list[ReceivedMessage]:
        """Every message accepted so far, in acceptance order."""
        return [ReceivedMessage(**m) for m in self._core.received()]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Waits until `count` messages were accepted; raises SimTimeoutError otherwise."""
        if not self._core.wait_received(count, timeout):
            raise _core.SimTimeoutError(f"{len(self.received)} of {count} messages arrived within {timeout}s")
        return self.received[:count]

    def wait_for_message(self, match: Optional[Callable[[ReceivedMessage], bool]] = None,
                         timeout: float = 10.0) -> ReceivedMessage:
        """The first accepted message (matching `match`), waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for m in self.received[seen:]:
                if match is None or match(m):
                    return m
            seen = len(self.received)
            left = deadline - time.monotonic()
            if left <= 0 or not self._core.wait_received(seen + 1, left):
                raise _core.SimTimeoutError(f"no matching message within {timeout}s")

    def folders(self, user: str, *, bodies: bool = True, timeout: float = 10.0) -> list[Folder]:
        """A user's folders through the running server's indexed store (the store its IMAP
        sessions use), read on the server thread: counters (uidvalidity, uidnext,
        highestmodseq) and messages (uid, flags, keywords, modseq, internal_date, size,
        data). NotFoundError for an unknown user; StateError when the server is not running."""
        return folders_from_core(self._core._folders(user, None, bodies, timeout))

    def folder(self, user: str, name: str = "INBOX", *, bodies: bool = True, timeout: float = 10.0) -> Folder:
        """One folder of folders() (NotFoundError when it does not exist)."""
        return folders_from_core(self._core._folders(user, name, bodies, timeout))[0]

    def mailbox(self, user: str) -> list[StoredMessage]:
        """The messages in a user's Maildir (new/ and cur/) as stored, oldest name first."""
        out = []
        base = self.data_dir / "mail" / user / "Maildir"
        for folder in ("new", "cur"):
            d = base / folder
            if d.is_dir():
                for p in sorted(d.iterdir()):
                    out.append(StoredMessage(user, folder, p.name, p.read_bytes()))
        return out
