# The simulation API of the `cloudsdial` package: World (a simulated world built in code),
# client Sessions (SMTP), ImapSessions (imap.py) and Pop3Sessions (pop3.py) and what they sent and got, stored
# messages parsed with `email` (Maildir files, or folders through the store: store.py),
# scenarios and the batch runner. Thin Python over cloudsdial._core (bindings/src).
# Every run is deterministic: same seed and same calls give the same trace_hash.
from __future__ import annotations

import email
import email.message
import email.policy
import json
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence, Union

from . import _core
from .imap import Command, ImapSession, _core_commands
from .pop3 import Pop3Session, WorldCommand as Pop3Command, _core_commands as _pop3_core_commands
from .store import Folder, folders_from_core
from ._session_view import SessionView
from ._core import RunReport, Scenario, ScenarioRun, SimEvent, run_scenario

__all__ = [
    "World", "Session", "SentMessage", "StoredMessage", "Violation", "SimEvent",
    "Scenario", "ScenarioRun", "RunReport", "run_scenario", "run_seeds", "make_message", "parse_email",
]


@dataclass(frozen=True)
class Violation:
    """An invariant the checkers found broken ("lost-after-ack", "duplicate", ...)."""
    invariant: str
    detail: str


@dataclass(frozen=True)
class SentMessage:
    """A message a simulated client submitted, and what the server answered.

    outcome: "not_sent" (never got to send it), "pending", "acked" (250 after the data:
    it MUST be stored), "refused" (4xx/5xx from the server) or "unknown" (the connection
    failed after the content may have gone out)."""
    id: int
    session: int
    server: str
    recipients: list
    rcpt_accepted: list
    outcome: str
    reply: str
    decided_at: float
    content: bytes
    liveness: bool = False

    @property
    def acked(self) -> bool:
        return self.outcome == "acked"


@dataclass(frozen=True)
class StoredMessage:
    """A message file in a user's Maildir (new/ or cur/), bytes as stored."""
    user: str
    folder: str
    name: str
    data: bytes

    def email(self) -> email.message.EmailMessage:
        """The message parsed with Python's email package (policy=default). CRLF line ends
        become LF first, as the package expects: get_content() gives "text\n"; `data`
        keeps the bytes as stored."""
        return parse_email(self.data)

    @property
    def sim_id(self) -> Optional[int]:
        """The id of the SentMessage this is a copy of (its X-Sim-Id header)."""
        value = self.email().get("X-Sim-Id")
        return int(value) if value is not None else None


def parse_email(data: bytes) -> email.message.EmailMessage:
    """Message bytes (CRLF line ends, as on the wire and in Maildir) parsed with Python's
    email package: line ends are made LF first, else every line of get_content() would
    keep its CR."""
    return email.message_from_bytes(data.replace(b"\r\n", b"\n"), policy=email.policy.default)


def make_message(mail_from: Optional[str] = None, to: Sequence[str] = (), subject: str = "test",
                 body: str = "hello\n", headers: Optional[dict] = None) -> bytes:
    """A small RFC 5322 message (CRLF lines) for World.send."""
    lines = [f"From: <{mail_from or 'sender@clients.test'}>", "To: " + ", ".join(f"<{t}>" for t in to),
             f"Subject: {subject}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode("utf-8")


def _content(message: Union[str, bytes, email.message.Message, None], mail_from, to, subject, body) -> str:
    if message is None:
        message = make_message(mail_from, to, subject, body)
    if isinstance(message, email.message.Message):
        message = message.as_bytes(policy=email.policy.SMTP)
    if isinstance(message, bytes):
        return message.decode("utf-8", "surrogateescape")
    return message


class Session(SessionView):
    """One simulated SMTP client session (connect, EHLO, transactions, QUIT)."""

    _record_method = "_session"

    @property
    def done(self) -> bool:
        """The session is over (QUIT answered, connection failed or broken)."""
        return self._info()["done"]

    @property
    def messages(self) -> list[SentMessage]:
        return [self._world.message(i) for i in self._info()["messages"]]

    @property
    def message(self) -> SentMessage:
        """The first (often the only) message of the session."""
        return self.messages[0]

    def wait(self, max_seconds: float = 3600.0, max_steps: int = 50_000_000) -> bool:
        """Runs the world until this session is over; False if max_seconds passed first."""
        return self._world._run_sessions([self.index], max_seconds, max_steps)

    def __repr__(self) -> str:
        info = self._info()
        return f"<Session {self.index} {info['client']}->{info['server']} done={info['done']}>"


class World(_core.World):
    """A simulated world: mail servers, clients, network, disks and a virtual clock.

    World(seed) builds an empty world; add hosts with add_server/add_client, send mail
    with send(), read it with imap_session() or pop3_session(), inject faults (partition, heal, crash, restart, set_disk, set_network,
    set_link, set_personality),
    run it (run_for, run_until, run_until_idle) and inspect it (mailbox, folders, folder,
    messages, check, stats, trace_hash). Times are virtual seconds (floats)."""

    def __init__(self, seed: int, **kwargs):
        super().__init__(seed, **kwargs)
        self._handlers: dict[str, list] = {"accepted": [], "delivered": [], "trace": []}
        self._prefixes: list[str] = []
        self.workload: list[Session] = []  # the sessions from_scenario started

    @classmethod
    def from_scenario(cls, scenario: Union[str, Scenario], seed: int, **kwargs) -> "World":
        """A World with a scenario's hosts (mx1.., client1..), server configuration (TLS
        included), disk and network settings and its fault-phase workload (world.workload,
        the sessions it started, all starting within the scenario's fault_phase), but
        without its chaos injector, liveness sessions or clock skews: the faults are yours
        to inject. Its trace hash differs from `run_scenario`'s for the same seed."""
        world = cls(seed, **kwargs)
        world.workload = [Session(world, i) for i in world._setup_scenario(_scenario(scenario))]
        return world

    def add_workload(self, sessions: int = 10, *, clients: Sequence[str] = (), servers: Sequence[str] = (),
                     start: tuple = (0.0, 60.0), transactions: tuple = (1, 3), recipients: tuple = (1, 3),
                     message_bytes: tuple = (200, 6000), connect_timeout: float = 30.0, **ppm) -> list[Session]:
        """Random client sessions drawn as the scenarios draw them (simulator/workload.h):
        each starts within `start` seconds from now, between the given (default: all)
        clients and servers, to the first server's users. ppm knobs (parts per million of
        sessions or messages): pipelining_ppm, chunking_ppm, abrupt_disconnect_ppm,
        unknown_recipient_ppm, dot_line_ppm, starttls_ppm (servers added with tls=True).
        Plans are drawn from the seed now, so faults change what happens, not what is sent."""
        ids = self._add_workload(sessions, list(clients), list(servers), start, transactions, recipients,
                                 message_bytes, ppm, connect_timeout)
        return [Session(self, i) for i in ids]

    # ------------------------------------------------------------------ mail
    def send(self, client: str, server: str, message=None, *, mail_from: Optional[str] = None,
             to: Union[str, Sequence[str]] = (), subject: str = "test", body: str = "hello\n",
             pipelining: bool = True, chunking: bool = False, start_delay: float = 0.0,
             hang_up_after_bytes: Optional[int] = None, connect_timeout: float = 30.0) -> Session:
        """Starts a client session from `client` to `server` that sends one message.

        `message` may be bytes/str (RFC 5322 text, LF or CRLF) or an email.message.Message;
        without it one is made from mail_from/to/subject/body. `to` is the envelope
        recipients. mail_from=None sends a default sender, "" the null sender <>."""
        return self.session(client, server, [(mail_from, to, message, subject, body)], pipelining=pipelining,
                            chunking=chunking, start_delay=start_delay, hang_up_after_bytes=hang_up_after_bytes,
                            connect_timeout=connect_timeout)

    def session(self, client: str, server: str, messages: Iterable[tuple], *, pipelining: bool = True,
                chunking: bool = False, start_delay: float = 0.0, hang_up_after_bytes: Optional[int] = None,
                connect_timeout: float = 30.0) -> Session:
        """Starts a session that sends several messages, each a tuple
        (mail_from, to) + optionally (message,) or (message, subject, body)."""
        items = []
        for m in messages:
            mail_from, to = m[0], m[1]
            to = [to] if isinstance(to, str) else list(to)
            message = m[2] if len(m) > 2 else None
            subject = m[3] if len(m) > 3 else "test"
            body = m[4] if len(m) > 4 else "hello\n"
            items.append((mail_from, to, _content(message, mail_from, to, subject, body)))
        index = self._open_session(client, server, items, pipelining, chunking, start_delay, hang_up_after_bytes,
                                   connect_timeout)
        return Session(self, index)

    def imap_session(self, client: str, server: str, user: str, password: str = "",
                     commands: Sequence[Command] = (), *, login: bool = True, logout: bool = True,
                     start_delay: float = 0.0, command_timeout: float = 120.0) -> ImapSession:
        """Starts a scripted IMAP session from `client` to `server`'s IMAP listener (implicit
        TLS; the server was added with imap=True and logins). It logs in (LOGIN user
        password, unless login=False), sends `commands` one at a time, each after the
        previous one's completion, then LOGOUT (unless logout=False). A command is a str
        without tag or CRLF ("SELECT INBOX", "UID FETCH 1:* (FLAGS)"), an imap.Append or an
        imap.Idle. A NO or BAD does not stop the script; a broken connection does. The
        answers: session.login, session.replies (one per command), session.logout."""
        index = self._open_imap_session(client, server, user, password, _core_commands(commands), login, logout,
                                        start_delay, command_timeout)
        return ImapSession(self, index)

    def run_until_imap_sessions_done(self, sessions: Optional[Iterable[ImapSession]] = None,
                                     max_seconds: float = 3600.0, max_steps: int = 50_000_000) -> bool:
        """Runs until the given (default: every) IMAP session is over."""
        return self._run_imap_sessions(self._session_ids(sessions, "imap_sessions"), max_seconds, max_steps)

    def pop3_session(self, client: str, server: str, user: str, password: str = "",
                     commands: Sequence[Pop3Command] = (), *, login: bool = True, quit: bool = True,
                     start_delay: float = 0.0, command_timeout: float = 120.0) -> Pop3Session:
        """Starts a scripted POP3 session from `client` to `server`'s POP3 listener (implicit
        TLS; the server was added with pop3=True and logins). It logs in (USER, PASS unless
        login=False), sends `commands` one at a time, each after the previous one's answer,
        then QUIT (unless quit=False: the connection is then closed without QUIT, and RFC
        1939 §6 says nothing marked is deleted). A command is a str without CRLF ("STAT",
        "RETR 1", "DELE 2") or a pop3.Pause. An -ERR does not stop the script; a broken
        connection does. The answers: session.login, session.replies, session.quit."""
        index = self._open_pop3_session(client, server, user, password, _pop3_core_commands(commands), login, quit,
                                        start_delay, command_timeout)
        return Pop3Session(self, index)

    def run_until_pop3_sessions_done(self, sessions: Optional[Iterable[Pop3Session]] = None,
                                     max_seconds: float = 3600.0, max_steps: int = 50_000_000) -> bool:
        """Runs until the given (default: every) POP3 session is over."""
        return self._run_pop3_sessions(self._session_ids(sessions, "pop3_sessions"), max_seconds, max_steps)

    def folders(self, server: str, user: str, *, bodies: bool = True) -> list[Folder]:
        """A user's folders as the server's indexed store has them (the store an IMAP
        session reads): counters (uidvalidity, uidnext, highestmodseq) and messages (uid,
        flags, keywords, modseq, internal_date, size, data). The store calls run as a task on
        the server host in virtual time: part of the run, and of its trace hash."""
        return folders_from_core(self._folders(server, user, None, bodies))

    def folder(self, server: str, user: str, name: str = "INBOX", *, bodies: bool = True) -> Folder:
        """One folder of folders() (NotFoundError when it does not exist)."""
        return folders_from_core(self._folders(server, user, name, bodies))[0]

    def message(self, id: int) -> SentMessage:
        """A sent message by id (its X-Sim-Id)."""
        return SentMessage(**self._message(id))

    @property
    def messages(self) -> list[SentMessage]:
        """Every message any client submitted, in id order."""
        return [SentMessage(**m) for m in self._messages()]

    def acked(self) -> list[SentMessage]:
        """The messages a server acknowledged (250 after the data)."""
        return [m for m in self.messages if m.acked]

    def mailbox(self, server: str, user: Optional[str] = None, *, durable: bool = False) -> list[StoredMessage]:
        """Messages in the Maildirs of `server` (one user's, or all). durable=True shows what
        a power loss right now would leave."""
        return [StoredMessage(*m) for m in self._mailbox(server, user, durable)]

    def queue(self, server: str) -> list[dict]:
        """The outbound queue of a relaying server (a host of the relay-* scenarios, e.g.
        World.from_scenario("relay-faults", seed)), as `cloudsdial queue show --json` gives
        each message: id, arrival (Unix seconds), arrival_text, size, sender ("<a@b>", "<>"
        for a DSN), pending, deferred, held, active (a delivery is running), next_attempt,
        last_reply, auth, client, helo, envid, ret and "recipients": one dict each with
        address, state ("pending", "deferred", "delivered", "bounced"), attempts,
        next_attempt, last_reply, remote_mta, notify, orcpt. Messages leave the queue once
        every recipient is delivered or bounced (and any DSN queued), so an empty list means
        nothing is left to do. Raises for a host that is down or has no outbound queue."""
        listing, shown = self._queue_json(server)
        active = {m["id"]: m["active"] for m in json.loads(listing)["messages"]}
        out = []
        for text in shown:
            message = json.loads(text)["message"]
            message["active"] = active.get(message["id"], False)
            out.append(message)
        return out

    def set_personality(self, server: str, spec: Optional[dict] = None, **keys) -> None:
        """Makes `server` behave like a difficult remote MX, for connections accepted from now
        on (docs/SIMULATOR.md, "Remote-MX personalities"). The keys are those of a scenario
        file's [hosts.NAME.personality] table; times are seconds (floats), probabilities
        parts per million; a stage ("greeting", "ehlo", "mail", "rcpt", "data",
        "end_of_data") is a dict:

            world.set_personality("mx1", greylist=True, greylist_delay=60.0,
                                  drop_after_dot_ppm=100_000,
                                  rcpt={"reply": "452 4.2.2 Mailbox full", "reply_ppm": 250_000},
                                  data={"delay": (1.0, 5.0), "garble_ppm": 10_000,
                                        "garble": ["split", "endless"]})

        A second call replaces the personality (and starts a new greylist); the decisions
        come from the seed. Errors name the key at fault."""
        merged = dict(spec or {})
        merged.update(keys)
        self._set_personality(server, _personality_toml(merged))

    def check(self) -> list[Violation]:
        """Runs the checkers: every acked message stored (live and after a power loss) exactly
        once and intact, nothing stored that was never sent or was refused."""
        return [Violation(*v) for v in self._check()]

    def _session_ids(self, sessions, stat: str) -> list:
        """The indexes of `sessions`; None: every session counted by stats()[stat]."""
        if sessions is None:
            return list(range(self.stats()[stat]))
        return [s.index for s in sessions]

    def run_until_sessions_done(self, sessions: Optional[Iterable[Session]] = None, max_seconds: float = 3600.0,
                                max_steps: int = 50_000_000) -> bool:
        """Runs until the given (default: every) session is over."""
        return self._run_sessions(self._session_ids(sessions, "sessions"), max_seconds, max_steps)

    # ------------------------------------------------------------------ events
    def on_accepted(self, fn: Callable[[SimEvent], None]) -> None:
        """fn(event) when a client gets the 250 for a message (event.message_id)."""
        self._subscribe("accepted", fn)

    def on_delivered(self, fn: Callable[[SimEvent], None]) -> None:
        """fn(event) when a server has stored a message durably (event.queue_id, event.host)."""
        self._subscribe("delivered", fn)

    def on_trace(self, fn: Callable[[SimEvent], None], prefix: str = "") -> None:
        """fn(event) for every trace record whose kind starts with `prefix` ("net.", "disk.")."""
        self._prefixes.append(prefix)
        self._subscribe("trace", (prefix, fn))

    def _subscribe(self, kind: str, fn) -> None:
        self._handlers[kind].append(fn)
        _install(self, self._handlers, self._prefixes)


def _install(target, handlers: dict, prefixes: list) -> None:
    def dispatch(event):
        if event.kind == "trace":
            for prefix, fn in handlers["trace"]:
                if event.trace_kind.startswith(prefix):
                    fn(event)
        else:
            for fn in handlers[event.kind]:
                fn(event)
    target._set_events(bool(handlers["accepted"]), bool(handlers["delivered"]), list(prefixes), dispatch)


_PERSONALITY_SECONDS = {"greylist_delay"}
_PERSONALITY_STAGES = ("greeting", "ehlo", "mail", "rcpt", "data", "end_of_data")


def _toml_duration(key: str, value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _core.ConfigError(f"{key}: must be seconds (a number >= 0)")
    return f'"{int(round(value * 1_000_000))}us"'


def _toml_scalar(key: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    raise _core.ConfigError(f"{key}: unsupported value {value!r}")


def _personality_toml(spec: dict) -> str:
    """The dict of World.set_personality as the TOML of a [hosts.NAME.personality] table,
    so the C++ side parses (and reports errors for) both the same way."""
    top, tables = [], []
    for key, value in spec.items():
        if key in _PERSONALITY_STAGES:
            if not isinstance(value, dict):
                raise _core.ConfigError(f"{key}: must be a dict of stage keys")
            lines = [f"[{key}]"]
            for k, v in value.items():
                if k == "delay":
                    if not isinstance(v, (list, tuple)) or len(v) != 2:
                        raise _core.ConfigError(f"{key}.delay: must be (min_seconds, max_seconds)")
                    lines.append(f"delay = [{_toml_duration(key + '.delay', v[0])}, {_toml_duration(key + '.delay', v[1])}]")
                else:
                    lines.append(f"{k} = {_toml_scalar(key + '.' + k, v)}")
            tables.append("\n".join(lines))
        elif key in _PERSONALITY_SECONDS:
            top.append(f"{key} = {_toml_duration(key, value)}")
        else:
            top.append(f"{key} = {_toml_scalar(key, value)}")
    return "\n".join(top + [""] + tables) + "\n"


def _scenario(scenario: Union[str, Scenario]) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if scenario in Scenario.builtin_names():
        return Scenario.builtin(scenario)
    return Scenario.from_file(str(scenario))


def run_seeds(scenario: Union[str, Scenario], seeds: Iterable[int], jobs: int = 1, *,
              lying_fsync: bool = False) -> list[RunReport]:
    """Runs a scenario (built-in name, TOML path or Scenario) for each seed on `jobs`
    threads, with the GIL released; returns one RunReport per seed, in seed order
    (report.trace_hash, report.violations, report.replay)."""
    return _core._run_seeds(_scenario(scenario), list(seeds), jobs, lying_fsync)
