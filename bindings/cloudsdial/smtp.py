# cloudsdial.smtp: the sans-IO SMTP sessions of the server core (ServerSession,
# ClientSession from cloudsdial._core.smtp) plus `pump`, which connects a client and a
# server session in memory, for protocol developers testing their own code.
from __future__ import annotations

from ._core.smtp import ClientSession, ServerSession

__all__ = ["ServerSession", "ClientSession", "pump", "drain"]


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


def pump(client: ClientSession, server: ServerSession, answer=None, now: float = 0.0, rounds: int = 1000) -> list:
    """Moves bytes between a client and a server session until both are quiet; server
    events that need a reply are answered by answer(event) -> (code, text) (default
    250 Ok). Returns every client event."""
    answer = answer or (lambda ev: (250, "Ok"))
    client_events = []
    for _ in range(rounds):
        c_bytes, c_other, c_events = drain(client)
        s_bytes, s_other, s_events = drain(server)
        client_events += c_events
        for ev in s_events:
            if ev["kind"] in ("mail_from", "rcpt_to", "message"):
                code, text = answer(ev)
                server.complete(ev["id"], code, text, now=now)
        if c_bytes:
            server.feed(c_bytes, now)
        if s_bytes:
            client.feed(s_bytes, now)
        if not (c_bytes or s_bytes or s_events or c_events):
            if ("close",) in c_other:
                server.feed_eof(now)
            if ("close",) in s_other:
                client.feed_eof(now)
            if not (c_other or s_other):
                break
    return client_events
