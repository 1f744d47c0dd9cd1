# What the handles of a World's SMTP sessions (sim.Session) and scripted IMAP and POP3
# sessions (imap.ImapSession, pop3.Pop3Session) share: the World and index they stand for,
# and the core's record of the session, read afresh at each access (a handle kept across
# World.run() sees the new state). ScriptedSessionView adds what the scripted IMAP and POP3
# sessions (simulator/imap_script.h, pop3_script.h) share: greeting, replies, error, wait.

from __future__ import annotations


class SessionView:
    # The World method that returns the session's record (a dict) for an index.
    _record_method = ""

    def __init__(self, world, index: int):
        self._world = world
        self.index = index

    def _info(self) -> dict:
        return getattr(self._world, self._record_method)(self.index)

    @property
    def connect_failed(self) -> bool:
        return self._info()["connect_failed"]


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def core_commands(commands, kinds: tuple, what: str) -> list:
    """The commands as the core takes them: a str as is, one of `kinds` by its _core();
    anything else raises TypeError("<what>, not <type>")."""
    out = []
    for c in commands:
        if isinstance(c, kinds):
            out.append(c._core())
        elif isinstance(c, str):
            out.append(c)
        else:
            raise TypeError(f"{what}, not {type(c).__name__}")
    return out


class ScriptedSessionView(SessionView):
    # The protocol's reply type from a record's reply dict (None stays None), the World
    # method that runs sessions to their end, and the name __repr__ shows.
    _reply = staticmethod(lambda d: d)
    _run_method = ""
    _kind = ""

    @property
    def done(self) -> bool:
        """The session is over (its last command answered, or it stopped: see error)."""
        return self._info()["done"]

    @property
    def error(self) -> str:
        """Why the session stopped before its end ("" when it ran to the end)."""
        return self._info()["error"]

    @property
    def greeting(self) -> str:
        """The server's greeting line."""
        return _text(self._info()["greeting"])

    @property
    def replies(self) -> list:
        """One reply per command, in order (fewer when the session stopped early)."""
        return [self._reply(r) for r in self._info()["replies"]]

    def wait(self, max_seconds: float = 3600.0, max_steps: int = 50_000_000) -> bool:
        """Runs the world until this session is over; False if max_seconds passed first."""
        return getattr(self._world, self._run_method)([self.index], max_seconds, max_steps)

    def __repr__(self) -> str:
        info = self._info()
        return (f"<{self._kind} {self.index} {info['client']}->{info['server']} user={info['user']} "
                f"done={info['done']}>")
