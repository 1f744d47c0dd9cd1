# Scripted IMAP client sessions in a simulated World (World.imap_session): the commands
# that need more than a line (Append, Idle), the answers (ImapReply with its ImapResponses)
# and the session handle (ImapSession). The client is the simulator's own
# (simulator/imap_script.h): implicit TLS to the server's imaps port, LOGIN, the commands one
# at a time, LOGOUT.
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from ._session_view import SessionView

__all__ = ["Append", "Idle", "ImapResponse", "ImapReply", "ImapSession", "Command"]


@dataclass(frozen=True)
class Append:
    """APPEND `message` to `folder` with `flags` (RFC 9051 §6.3.12), sent as a LITERAL+
    literal (RFC 7888). `folder` is written as given (quote it yourself if it needs it)."""
    folder: str
    message: Union[bytes, str]
    flags: Sequence[str] = ()

    def _core(self) -> tuple:
        message = self.message.encode("utf-8") if isinstance(self.message, str) else bytes(self.message)
        return ("APPEND", self.folder, " ".join(self.flags), message)


@dataclass(frozen=True)
class Idle:
    """IDLE for `seconds` of virtual time, then DONE (RFC 2177): what the server pushes
    meanwhile lands in the reply's untagged responses."""
    seconds: float

    def _core(self) -> tuple:
        return ("IDLE", float(self.seconds))


Command = Union[str, Append, Idle]


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class ImapResponse:
    """One untagged ("* 3 EXISTS") or continuation ("+ idling") response. `text` is the
    line(s) without CRLF, each literal replaced by "{n}"; `literals` holds their octets."""
    kind: str
    text: str
    literals: list = field(default_factory=list)


@dataclass(frozen=True)
class ImapReply:
    """The answer to one command: the untagged responses, then the tagged completion.

    complete=False: no completion arrived (the connection broke or the command timed out);
    status is then "". sent/received are virtual seconds on the client's clock."""
    command: str
    complete: bool
    status: str
    text: str
    untagged: list
    sent: float
    received: Optional[float]

    @property
    def ok(self) -> bool:
        return self.complete and self.status == "OK"

    @property
    def lines(self) -> list:
        """The untagged responses' texts."""
        return [r.text for r in self.untagged]

    def code(self, name: str) -> Optional[str]:
        """The arguments of a response code [NAME args] in the completion or an untagged
        response ("" when it has none), e.g. code("APPENDUID") -> "1700000000 4"; None when
        absent."""
        pattern = re.compile(r"\[" + re.escape(name.upper()) + r"(?: ([^\]]*))?\]", re.I)
        for text in [self.text] + self.lines:
            m = pattern.search(text)
            if m:
                return m.group(1) or ""
        return None


def _reply(d: Optional[dict]) -> Optional[ImapReply]:
    if d is None:
        return None
    untagged = [ImapResponse(kind, _text(text), list(literals)) for kind, text, literals in d["untagged"]]
    return ImapReply(d["command"], d["complete"], d["status"], _text(d["text"]), untagged, d["sent"], d["received"])


def _core_commands(commands: Sequence[Command]) -> list:
    out = []
    for c in commands:
        if isinstance(c, (Append, Idle)):
            out.append(c._core())
        elif isinstance(c, str):
            out.append(c)
        else:
            raise TypeError(f"an IMAP command is a str, an imap.Append or an imap.Idle, not {type(c).__name__}")
    return out


class ImapSession(SessionView):
    """One scripted IMAP session of a World (World.imap_session)."""

    _record_method = "_imap_session"

    @property
    def done(self) -> bool:
        """The session is over (LOGOUT answered, or it stopped: see error)."""
        return self._info()["done"]

    @property
    def error(self) -> str:
        """Why the session stopped before its end ("" when it ran to the end)."""
        return self._info()["error"]

    @property
    def greeting(self) -> str:
        return _text(self._info()["greeting"])

    @property
    def login(self) -> Optional[ImapReply]:
        return _reply(self._info()["login"])

    @property
    def logout(self) -> Optional[ImapReply]:
        return _reply(self._info()["logout"])

    @property
    def replies(self) -> list:
        """One ImapReply per command, in order (fewer when the session stopped early)."""
        return [_reply(r) for r in self._info()["replies"]]

    def wait(self, max_seconds: float = 3600.0, max_steps: int = 50_000_000) -> bool:
        """Runs the world until this session is over; False if max_seconds passed first."""
        return self._world._run_imap_sessions([self.index], max_seconds, max_steps)

    def __repr__(self) -> str:
        info = self._info()
        return f"<ImapSession {self.index} {info['client']}->{info['server']} user={info['user']} done={info['done']}>"
