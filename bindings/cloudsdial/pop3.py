# cloudsdial.pop3: the sans-IO POP3 server session of the server core (ServerSession from
# cloudsdial._core.pop3), plus pure-Python helpers for testing against it in memory:
# Maildrop (what the application behind a session keeps: messages per user, the exclusive
# maildrop lock, durable deletion on QUIT), Client (a small sans-IO RFC 1939 client; the
# C++ core has no POP3 client) and pump/drain, which connect them. No sockets, no clock.
# Also the scripted POP3 sessions of a simulated World (World.pop3_session): Pause, the
# answers (Pop3Reply) and the session handle (Pop3Session); their client is the
# simulator's own (simulator/pop3_script.h): implicit TLS to the server's pop3s port,
# USER/PASS, the commands one at a time, QUIT.
from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from ._core.pop3 import ServerSession
from ._session_view import ScriptedSessionView, _text, core_commands

__all__ = ["ServerSession", "Maildrop", "Client", "pump", "drain", "Pause", "Pop3Reply", "Pop3Session",
           "WorldCommand"]


def drain(session) -> tuple[bytes, list, list]:
    """All pending outputs and events of a session: (bytes to send, other outputs, events)."""
    data, other, events = b"", [], []
    while (out := session.poll_output()) is not None:
        if out[0] == "send":
            data += out[1]
        else:
            other.append(out)
    while (ev := session.poll_event()) is not None:
        events.append(ev)
    return data, other, events


class Maildrop:
    """Messages per user, answering a ServerSession's events as the real server does:
    auth -> lock the user's maildrop and hand the session a snapshot (a second session of
    the same user gets -ERR [IN-USE], RFC 2449 §8.1.2), retrieve -> the message's bytes in
    chunks, update -> delete the marked uids, then unlock. UIDLs are the server's form:
    UIDVALIDITY and UID as 8 + 8 hex digits (unique and stable, RFC 1939 §7)."""

    def __init__(self, uidvalidity: int = 1, chunk_bytes: int = 65536):
        if chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be > 0")
        self.uidvalidity = uidvalidity
        self.chunk_bytes = chunk_bytes
        self.messages: dict[str, dict[int, bytes]] = {}
        self._next_uid: dict[str, int] = {}
        self._locks: dict[str, object] = {}
        self.fail_updates = False  # True: complete_update(ok=False), nothing deleted

    def add(self, user: str, content: bytes) -> int:
        """Appends a message (raw bytes, CRLF line ends) to the user's maildrop; returns its uid."""
        uid = self._next_uid.get(user, 1)
        self._next_uid[user] = uid + 1
        self.messages.setdefault(user, {})[uid] = bytes(content)
        return uid

    def uidl(self, uid: int) -> str:
        return f"{self.uidvalidity:08x}{uid:08x}"

    def snapshot(self, user: str) -> list[tuple[int, int, str]]:
        """(uid, size, uidl) per message, in uid order: message number = index + 1."""
        return [(uid, len(c), self.uidl(uid)) for uid, c in sorted(self.messages.get(user, {}).items())]

    def locked(self, user: str) -> bool:
        return user in self._locks

    def release(self, session) -> None:
        """Drops the lock `session` holds (a dropped connection: nothing is deleted)."""
        for user, holder in list(self._locks.items()):
            if holder is session:
                del self._locks[user]

    def answer(self, session, event: dict, now: float = 0.0) -> None:
        """Answers one event of `session` (as poll_event() returned it)."""
        kind, eid = event["kind"], event["id"]
        if kind == "auth":
            user = event["user"]
            if not event["success"]:
                session.complete_auth(eid, False, now=now)
            elif user in self._locks:
                session.complete_auth(eid, False, refusal="[IN-USE] Maildrop is locked by another session", now=now)
            else:
                self._locks[user] = session
                session.complete_auth(eid, True, self.snapshot(user), now=now)
        elif kind == "retrieve":
            content = self.messages.get(session.user, {}).get(event["uid"])
            if content is None:  # deleted behind the session's back
                session.complete_retrieve(eid, False, now=now)
                return
            for at in range(0, len(content), self.chunk_bytes):
                if not session.send_message(eid, content[at:at + self.chunk_bytes]):
                    break
            session.complete_retrieve(eid, True, now=now)
        elif kind == "update":
            if self.fail_updates:
                session.complete_update(eid, False, now=now)
            else:
                drop = self.messages.get(session.user, {})
                for uid in event["deleted_uids"]:
                    drop.pop(uid, None)
                session.complete_update(eid, True, now=now)
            self.release(session)
        else:
            raise ValueError(f"unknown event kind {kind!r}")


# Commands whose +OK response is multi-line (RFC 1939 §5-7, RFC 2449 §5 CAPA); LIST and UIDL
# only without an argument; AUTH only without a mechanism (the listing some servers offer).
_MULTILINE = {"CAPA", "RETR", "TOP"}


class Client:
    """A sans-IO POP3 client: queue commands (user(), pass_(), stat(), retr(), ...), send
    the bytes poll_output() returns, feed() the server's bytes, and read one response per
    command (the greeting first) from poll_event(): a dict with 'command', 'ok' (True for
    +OK, False for -ERR, None for a SASL '+ ' continuation), 'text', 'code' (the RFC 2449
    response code such as 'IN-USE', or None) and, for multi-line responses, 'lines' (bytes,
    dot-unstuffed); RETR and TOP also carry 'content' (the message bytes with CRLFs).
    Commands are pipelined (RFC 2449 §6.6): they all go out at once."""

    def __init__(self):
        self._out = b""
        self._in = b""
        self._expect: deque[tuple[Optional[str], bool]] = deque([(None, False)])  # the greeting
        self._events: deque[dict] = deque()
        self._lines: Optional[list[bytes]] = None  # the multi-line body being read
        self._head: Optional[dict] = None
        self.closed = False

    # -- commands ------------------------------------------------------------------------
    def command(self, line: str, multiline: bool = False) -> None:
        """Queues one command line (without CRLF); multiline: its +OK carries a body."""
        if "\r" in line or "\n" in line:
            raise ValueError("a command is one line")
        if self.closed:
            raise RuntimeError("the client is closed")
        self._out += line.encode("utf-8") + b"\r\n"
        self._expect.append((line, multiline))

    def capa(self): self.command("CAPA", True)
    def user(self, name: str): self.command(f"USER {name}")
    def pass_(self, password: str): self.command(f"PASS {password}")
    def stat(self): self.command("STAT")
    def list(self, msg: Optional[int] = None): self.command("LIST" if msg is None else f"LIST {msg}", msg is None)
    def uidl(self, msg: Optional[int] = None): self.command("UIDL" if msg is None else f"UIDL {msg}", msg is None)
    def retr(self, msg: int): self.command(f"RETR {msg}", True)
    def top(self, msg: int, lines: int): self.command(f"TOP {msg} {lines}", True)
    def dele(self, msg: int): self.command(f"DELE {msg}")
    def noop(self): self.command("NOOP")
    def rset(self): self.command("RSET")
    def quit(self): self.command("QUIT")
    def stls(self): self.command("STLS")
    def utf8(self): self.command("UTF8")

    def auth_plain(self, user: str, password: str) -> None:
        """AUTH PLAIN with an initial response (RFC 5034 §4, RFC 4616)."""
        token = base64.b64encode(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")
        self.command(f"AUTH PLAIN {token}")

    def respond(self, line: str) -> None:
        """Answers a SASL continuation ('+ ...') with one line (base64, '' or '*' to cancel):
        the AUTH command's response is still the one awaited (RFC 5034 §4)."""
        if "\r" in line or "\n" in line:
            raise ValueError("a SASL response is one line")
        self._out += line.encode("ascii") + b"\r\n"

    # -- I/O -----------------------------------------------------------------------------
    def poll_output(self) -> Optional[bytes]:
        out, self._out = self._out, b""
        return out or None

    def feed(self, data: bytes) -> None:
        self._in += data
        while (lf := self._in.find(b"\n")) >= 0:
            line, self._in = self._in[:lf], self._in[lf + 1:]
            self._on_line(line[:-1] if line.endswith(b"\r") else line)

    def feed_eof(self) -> None:
        self.closed = True

    def poll_event(self) -> Optional[dict]:
        return self._events.popleft() if self._events else None

    @property
    def waiting(self) -> int:
        """Commands (and the greeting) still awaiting their response."""
        return len(self._expect)

    def _on_line(self, line: bytes) -> None:
        if self._lines is not None:  # inside a multi-line body (RFC 1939 §3)
            if line == b".":
                head, self._head = self._head, None
                head["lines"], self._lines = self._lines, None
                if head["command"].split(" ")[0].upper() in ("RETR", "TOP"):
                    head["content"] = b"".join(l + b"\r\n" for l in head["lines"])
                self._events.append(head)
            else:
                self._lines.append(line[1:] if line.startswith(b".") else line)
            return
        if not self._expect:
            raise ValueError(f"unexpected line from the server: {line!r}")
        command, multiline = self._expect[0]
        text = line.decode("utf-8", "replace")
        if text.startswith("+ ") or text == "+":  # SASL continuation: the command stays open
            self._events.append({"command": command, "ok": None, "text": text[2:], "code": None})
            return
        if text.startswith("+OK"):
            ok, rest = True, text[3:]
        elif text.startswith("-ERR"):
            ok, rest = False, text[4:]
        else:
            raise ValueError(f"not a POP3 response: {line!r}")
        self._expect.popleft()
        rest = rest[1:] if rest.startswith(" ") else rest
        code = None
        if rest.startswith("[") and "]" in rest:  # RFC 2449 §8 extended response code
            code, rest = rest[1:rest.index("]")], rest[rest.index("]") + 1:].lstrip(" ")
        event = {"command": command, "ok": ok, "text": rest, "code": code}
        if command is not None and command.upper() == "QUIT":
            self.closed = True
        if ok and (multiline or (command is not None and command.split(" ")[0].upper() in _MULTILINE)):
            self._head, self._lines = event, []
            return
        self._events.append(event)


def pump(client: Client, server: ServerSession, maildrop, now: float = 0.0, rounds: int = 1000) -> list[dict]:
    """Moves bytes between a Client and a ServerSession until both are quiet, answering
    the server's events with maildrop.answer(server, event, now) (a Maildrop, or anything
    with that method). Bytes the server did not take yet (one command at a time) are fed
    again after the answer. When the server closes, the client sees EOF and the maildrop
    lock is released. A ("starttls",) output (after +OK to STLS) stops the pump: call
    server.tls_established() (there is no TLS in memory) and pump again. Returns every
    client response."""
    responses: list[dict] = []
    to_server = b""
    for _ in range(rounds):
        to_server += client.poll_output() or b""
        s_bytes, s_other, s_events = drain(server)
        for ev in s_events:
            maildrop.answer(server, ev, now)
        moved = False
        if to_server and not server.closed:
            taken = server.feed(to_server, now)
            moved = taken > 0
            to_server = to_server[taken:]
        if s_bytes:
            client.feed(s_bytes)
        while (r := client.poll_event()) is not None:
            responses.append(r)
        if ("close",) in s_other:
            client.feed_eof()
            if hasattr(maildrop, "release"):
                maildrop.release(server)
        if ("starttls",) in s_other:
            break  # the caller runs the handshake (or calls server.tls_established()) and pumps again
        if not (s_bytes or s_events or s_other or moved):
            break
    return responses


# ---------------------------------------------------------------- World.pop3_session


@dataclass(frozen=True)
class Pause:
    """Wait `seconds` of virtual time before the next command (the session keeps the
    maildrop locked meanwhile): room for a crash or a second session in between."""
    seconds: float

    def _core(self) -> tuple:
        return ("PAUSE", float(self.seconds))


WorldCommand = Union[str, Pause]


@dataclass(frozen=True)
class Pop3Reply:
    """The answer to one command: the status line and, for a multi-line "+OK" answer
    (CAPA, RETR, TOP, LIST and UIDL without argument), the body with the byte-stuffing
    undone and without the terminating "." line (RFC 1939 §3).

    complete=False: no answer arrived (the connection broke or the command timed out).
    text is the status line after "+OK " / "-ERR ". sent/received are virtual seconds on
    the client's clock. A Pause's reply is ok with command "PAUSE <n>us"."""
    command: str
    complete: bool
    ok: bool
    text: str
    multiline: bool
    body: bytes
    sent: float
    received: Optional[float]

    @property
    def status(self) -> str:
        """"+OK", "-ERR", or "" when no answer arrived."""
        return ("+OK" if self.ok else "-ERR") if self.complete else ""

    @property
    def lines(self) -> list:
        """The body's lines without CRLF, as text."""
        return _text(self.body).split("\r\n")[:-1] if self.body else []


def _reply(d: Optional[dict]) -> Optional[Pop3Reply]:
    if d is None:
        return None
    return Pop3Reply(d["command"], d["complete"], d["ok"], _text(d["text"]), d["multiline"], bytes(d["body"]),
                     d["sent"], d["received"])


def _core_commands(commands: Sequence[WorldCommand]) -> list:
    return core_commands(commands, (Pause,), "a POP3 command is a str or a pop3.Pause")


class Pop3Session(ScriptedSessionView):
    """One scripted POP3 session of a World (World.pop3_session)."""

    _record_method = "_pop3_session"
    _run_method = "_run_pop3_sessions"
    _kind = "Pop3Session"
    _reply = staticmethod(_reply)

    @property
    def user(self) -> Optional[Pop3Reply]:
        """The answer to USER (None without login)."""
        return _reply(self._info()["user_reply"])

    @property
    def login(self) -> Optional[Pop3Reply]:
        """The answer to PASS (recorded as "PASS ***"); None when USER was refused or no login."""
        return _reply(self._info()["pass_reply"])

    @property
    def quit(self) -> Optional[Pop3Reply]:
        """The answer to QUIT: "+OK" when every marked message was removed (RFC 1939 §6)."""
        return _reply(self._info()["quit"])
