# Mailbox inspection through the indexed store (the MailStore an IMAP session reads, not the
# Maildir files): Folder and FolderMessage, as World.folders/folder and Server.folders/folder
# return them. Built from the dicts of cloudsdial._core (bindings/src/bind_store.cpp).
from __future__ import annotations

import datetime
import email.message
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["Folder", "FolderMessage"]


@dataclass(frozen=True)
class FolderMessage:
    """One message of a folder as the store indexes it (RFC 9051 §2.3).

    flags: the system flags ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft");
    keywords: the others ("$Label1", ...); modseq: RFC 7162 mod-sequence of its last change;
    internal_date: Unix seconds; size: octets as stored; data: the bytes (CRLF line ends),
    None when read with bodies=False."""
    uid: int
    flags: list
    keywords: list
    modseq: int
    internal_date: int
    size: int
    content_id: str
    data: Optional[bytes]

    @property
    def all_flags(self) -> list:
        """flags then keywords, as a FETCH FLAGS lists them."""
        return list(self.flags) + list(self.keywords)

    @property
    def date(self) -> datetime.datetime:
        """internal_date as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.internal_date, tz=datetime.timezone.utc)

    def email(self) -> email.message.EmailMessage:
        """The message parsed with Python's email package (LF line ends, see parse_email)."""
        from .sim import parse_email  # sim imports this module
        if self.data is None:
            raise ValueError("read without bodies: pass bodies=True")
        return parse_email(self.data)


@dataclass(frozen=True)
class Folder:
    """A folder with its counters and messages (ascending uid), at one moment.

    special_use: "\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive" ... or "" (RFC 6154);
    a folder that is not selectable (\\Noselect) has no messages and zero counters."""
    name: str
    special_use: str
    subscribed: bool
    selectable: bool
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    messages: list = field(default_factory=list)

    @property
    def uids(self) -> list:
        return [m.uid for m in self.messages]

    def message(self, uid: int) -> FolderMessage:
        """The message with this uid (KeyError when there is none)."""
        for m in self.messages:
            if m.uid == uid:
                return m
        raise KeyError(f"no uid {uid} in {self.name}")

    def __len__(self) -> int:
        return len(self.messages)


def folders_from_core(items: list) -> list:
    out = []
    for f in items:
        f = dict(f)
        f["messages"] = [FolderMessage(**m) for m in f["messages"]]
        out.append(Folder(**f))
    return out
