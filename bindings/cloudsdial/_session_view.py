# What the handles of a World's SMTP sessions (sim.Session) and IMAP sessions
# (imap.ImapSession) share: the World and index they stand for, and the core's record of
# the session, read afresh at each access (a handle kept across World.run() sees the new
# state).

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
