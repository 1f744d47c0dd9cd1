# cloudsdial.jmap: a small pure-Python JMAP client (RFC 8620 Core, RFC 8621 Mail) for tests and
# scripts, standard library only (urllib). Works against any JMAP server; nothing here is
# specific to Cloudsdial. Not a full client: no retries, no upload concurrency, no
# state caching. Contract: every HTTP error of the API becomes JmapError carrying the status
# and the problem-details body (RFC 8620 §3.6.1); method-level errors are returned as the
# ["error", {...}, id] responses they are (use JmapClient.one() to raise on them instead).
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator, Optional, Sequence

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
USING = [CORE, MAIL, SUBMISSION]

__all__ = ["JmapClient", "JmapError", "JmapMethodError", "CORE", "MAIL", "SUBMISSION"]


class JmapError(Exception):
    """An HTTP-level failure: `status` and the decoded body (problem details when JSON)."""

    def __init__(self, status: int, body: Any, url: str = ""):
        super().__init__(f"HTTP {status} from {url}: {body!r}")
        self.status, self.body, self.url = status, body, url

    @property
    def type(self) -> Optional[str]:
        return self.body.get("type") if isinstance(self.body, dict) else None


class JmapMethodError(Exception):
    """A method-level error response (RFC 8620 §3.6.2): ["error", {"type": ...}, id]."""

    def __init__(self, name: str, args: dict):
        super().__init__(f"{name}: {args.get('type')}: {args.get('description', '')}")
        self.name, self.args, self.type = name, args, args.get("type")


class JmapClient:
    """JmapClient(url, user, password) or JmapClient(url, token=...).

    `url` is the server's base ("http://127.0.0.1:8080") or the session URL itself; the
    Session resource is fetched from /.well-known/jmap (RFC 8620 §2.2) on first use.
    """

    def __init__(self, url: str, user: Optional[str] = None, password: Optional[str] = None, *,
                 token: Optional[str] = None, timeout: float = 30.0):
        if token is None and (user is None or password is None):
            raise ValueError("JmapClient needs user and password, or token")
        parts = urllib.parse.urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.session_url = url if parts.path not in ("", "/") else self.base + "/.well-known/jmap"
        self.user, self.timeout = user, timeout
        if token is not None:
            self.auth = "Bearer " + token
        else:
            self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._session: Optional[dict] = None
        self.last_responses: list = []

    # -- HTTP -----------------------------------------------------------------------------
    def _url(self, url: str) -> str:
        return url if "://" in url else urllib.parse.urljoin(self.base + "/", url)

    def request(self, method: str, url: str, body: Optional[bytes] = None,
                headers: Optional[dict] = None) -> tuple[int, dict, bytes]:
        """One HTTP request; returns (status, headers, body) for any status (no raise)."""
        h = {"Authorization": self.auth}
        h.update(headers or {})
        req = urllib.request.Request(self._url(url), data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            data = e.read()
            return e.code, dict(e.headers), data

    def _json(self, method: str, url: str, body: Any = None, ok: Sequence[int] = (200,)) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        status, _, raw = self.request(method, url, data, headers)
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw
        if status not in ok:
            raise JmapError(status, decoded, self._url(url))
        return decoded

    # -- Session (RFC 8620 §2) --------------------------------------------------------------
    @property
    def session(self) -> dict:
        if self._session is None:
            self._session = self._json("GET", self.session_url)
        return self._session

    def refresh_session(self) -> dict:
        self._session = None
        return self.session

    @property
    def account_id(self) -> str:
        accounts = self.session["primaryAccounts"]
        return accounts.get(MAIL) or next(iter(self.session["accounts"]))

    # -- API (RFC 8620 §3) ------------------------------------------------------------------
    def call(self, *calls: Sequence, using: Optional[Sequence[str]] = None) -> list:
        """Runs [name, args] (or [name, args, callId]) calls in one request and returns the
        methodResponses. accountId defaults to the primary mail account; call ids default
        to "c0", "c1", ... so later calls can reference earlier ones ("#ids": {"resultOf": "c0", ...})."""
        method_calls = []
        for i, c in enumerate(calls):
            name, args = c[0], dict(c[1])
            args.setdefault("accountId", self.account_id)
            method_calls.append([name, args, c[2] if len(c) > 2 else f"c{i}"])
        body = self._json("POST", self.session["apiUrl"],
                          {"using": list(using or USING), "methodCalls": method_calls})
        self.last_responses = body["methodResponses"]
        return self.last_responses

    def one(self, name: str, args: dict) -> dict:
        """One call; returns its arguments, raising JmapMethodError on an error response."""
        [[rname, rargs, _]] = self.call([name, args])[:1]
        if rname == "error":
            raise JmapMethodError(name, rargs)
        return rargs

    # -- Mail helpers (RFC 8621) ----------------------------------------------------------
    def mailboxes(self) -> list:
        return self.one("Mailbox/get", {"ids": None})["list"]

    def mailbox(self, role: str) -> dict:
        """The Mailbox with `role` ("inbox", "drafts", "sent", ...); KeyError if none."""
        for m in self.mailboxes():
            if m.get("role") == role:
                return m
        raise KeyError(role)

    def query_emails(self, filter: Optional[dict] = None, sort: Optional[list] = None,
                     limit: Optional[int] = None, **extra) -> list:
        """Email/query (RFC 8621 §4.4): the ids, in order."""
        args: dict = dict(extra)
        if filter is not None:
            args["filter"] = filter
        if sort is not None:
            args["sort"] = sort
        if limit is not None:
            args["limit"] = limit
        return self.one("Email/query", args)["ids"]

    def get_emails(self, ids: Sequence[str], properties: Optional[Sequence[str]] = None,
                   fetch_bodies: bool = False) -> list:
        """Email/get (RFC 8621 §4.2): the Email objects, in the order of `ids` found."""
        args: dict = {"ids": list(ids)}
        if properties is not None:
            args["properties"] = list(properties)
        if fetch_bodies:
            args["fetchTextBodyValues"] = True
            args["fetchHTMLBodyValues"] = True
        return self.one("Email/get", args)["list"]

    def identity(self, email: Optional[str] = None) -> dict:
        ids = self.one("Identity/get", {"ids": None})["list"]
        for i in ids:
            if email is None or i.get("email") == email:
                return i
        raise KeyError(email)

    def send(self, from_: str, to: Sequence[str] | str, subject: str, text: str) -> dict:
        """Creates a draft in Drafts and submits it (RFC 8621 §7.5); on success the Email moves
        to Sent without $draft (onSuccessUpdateEmail). Returns {"emailId", "submissionId"};
        raises JmapMethodError when either create fails."""
        if isinstance(to, str):
            to = [to]
        drafts, sent = self.mailbox("drafts"), self.mailbox("sent")
        identity = self.identity(from_)
        responses = self.call(
            ["Email/set", {"create": {"draft": {
                "mailboxIds": {drafts["id"]: True}, "keywords": {"$draft": True, "$seen": True},
                "from": [{"email": from_}], "to": [{"email": a} for a in to], "subject": subject,
                "bodyValues": {"t": {"value": text}}, "textBody": [{"partId": "t", "type": "text/plain"}]}}}],
            ["EmailSubmission/set", {
                "create": {"sub": {"identityId": identity["id"], "emailId": "#draft"}},
                "onSuccessUpdateEmail": {"#sub": {f"mailboxIds/{drafts['id']}": None,
                                                  f"mailboxIds/{sent['id']}": True, "keywords/$draft": None}}}])
        name, args, _ = responses[0]
        if name == "error" or "draft" not in args.get("created", {}):
            raise JmapMethodError("Email/set", args.get("notCreated", {}).get("draft", args))
        name, sargs, _ = responses[1]
        if name == "error" or "sub" not in sargs.get("created", {}):
            raise JmapMethodError("EmailSubmission/set", sargs.get("notCreated", {}).get("sub", sargs))
        return {"emailId": args["created"]["draft"]["id"], "submissionId": sargs["created"]["sub"]["id"]}

    # -- Blobs (RFC 8620 §6) --------------------------------------------------------------
    def upload(self, data: bytes, type: str = "application/octet-stream") -> dict:
        """POST to the uploadUrl: returns {"accountId", "blobId", "type", "size"}."""
        url = self.session["uploadUrl"].replace("{accountId}", urllib.parse.quote(self.account_id, safe=""))
        status, _, raw = self.request("POST", url, data, {"Content-Type": type})
        if status not in (200, 201):
            raise JmapError(status, raw, self._url(url))
        return json.loads(raw)

    def download(self, blob_id: str, name: str = "blob", type: str = "application/octet-stream") -> bytes:
        """GET the downloadUrl template filled in: the blob's octets."""
        q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
        url = (self.session["downloadUrl"].replace("{accountId}", q(self.account_id))
               .replace("{blobId}", q(blob_id)).replace("{name}", q(name)).replace("{type}", q(type)))
        status, _, raw = self.request("GET", url)
        if status != 200:
            raise JmapError(status, raw, self._url(url))
        return raw

    # -- Push (RFC 8620 §7.3) -------------------------------------------------------------
    def events(self, types: str = "*", closeafter: str = "no", ping: int = 0,
               timeout: Optional[float] = None) -> Iterator[dict]:
        """Yields the EventSource's events as {"event": name, "data": decoded JSON} until the
        server closes the stream or the caller stops iterating (the connection is closed)."""
        url = (self.session["eventSourceUrl"].replace("{types}", types).replace("{closeafter}", closeafter)
               .replace("{ping}", str(ping)))
        req = urllib.request.Request(self._url(url), headers={"Authorization": self.auth,
                                                              "Accept": "text/event-stream"})
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout if timeout is None else timeout)
        except urllib.error.HTTPError as e:
            raise JmapError(e.code, e.read(), self._url(url)) from None
        try:
            event, data = "message", []
            while True:
                line = resp.readline()
                if not line:
                    return
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data:
                        text = "\n".join(data)
                        try:
                            decoded: Any = json.loads(text)
                        except ValueError:
                            decoded = text
                        yield {"event": event, "data": decoded}
                    event, data = "message", []
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        event = value
                    elif field == "data":
                        data.append(value)
        finally:
            resp.close()
