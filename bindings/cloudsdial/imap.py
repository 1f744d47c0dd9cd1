# Scripted IMAP client sessions in a simulated World (World.imap_session): the commands
# that need more than a line (Append, Idle), the answers (ImapReply with its ImapResponses)
# and the session handle (ImapSession). The client is the simulator's own
# (simulator/imap_script.h): implicit TLS to the server's imaps port, LOGIN, the commands one
# at a time, LOGOUT.
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from ._session_view import ScriptedSessionView, _text, core_commands

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
    return core_commands(commands, (Append, Idle), "an IMAP command is a str, an imap.Append or an imap.Idle")


class ImapSession(ScriptedSessionView):
    """One scripted IMAP session of a World (World.imap_session)."""

    _record_method = "_imap_session"
    _run_method = "_run_imap_sessions"
    _kind = "ImapSession"
    _reply = staticmethod(_reply)

    @property
    def login(self) -> Optional[ImapReply]:
        return _reply(self._info()["login"])

    @property
    def logout(self) -> Optional[ImapReply]:
        return _reply(self._info()["logout"])
