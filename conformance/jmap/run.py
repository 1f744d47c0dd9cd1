#!/usr/bin/python3
# HTTP/JMAP conformance transcript runner: runs the cases of conformance/jmap/cases/*.json
# against ANY JMAP server (RFC 8620 Core, RFC 8621 Mail) and asserts only standard behaviour.
# Standard library only. Case format: docs/CONFORMANCE.md, section "JMAP transcripts".
#
#   run.py --url http://127.0.0.1:8080 --user alice --password secret [--case ID ...] [-v]
#
# Each case is {"id", "rfc", "title", "steps": [...]}; a step is one HTTP exchange:
#   {"call": [[name, args, callId], ...]}         POST the API URL (accountId filled in when absent)
#   {"request": {"method", "url", "body"|"json", "auth": "user"|"none"|"bad", "headers"}}
#   {"upload": {"type", "body"}}                  POST the uploadUrl
#   {"download": {"blobId", "name", "type"}}      GET the downloadUrl template
# followed by "expect": {"status": N, "headers": {name: prefix}, "bodyContains": "text",
#   "json": [{"pointer": "/methodResponses/0/0", "equals"|"contains"|"hasKey"|"type"|"exists"|
#   "minLength"|"startsWith"|"notEquals": value}, ...]} and "save": {"var": "/pointer"}.
# Strings may hold ${var}: the saved ones plus accountId, username, nonce (unique per run),
# role.inbox/role.drafts/... (Mailbox ids by role), identityId, identityEmail,
# maxCallsInRequest. Exit status: 0 when every case passed, 1 otherwise.
import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"]
MISSING = object()


class CaseFailed(Exception):
    pass


def pointer(doc, ptr):
    """RFC 6901: the value at `ptr` in `doc`, or MISSING."""
    if ptr == "":
        return doc
    if not ptr.startswith("/"):
        raise CaseFailed(f"bad pointer {ptr!r}")
    for token in ptr[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict):
            if token not in doc:
                return MISSING
            doc = doc[token]
        elif isinstance(doc, list):
            if not token.isdigit() or (len(token) > 1 and token[0] == "0") or int(token) >= len(doc):
                return MISSING
            doc = doc[int(token)]
        else:
            return MISSING
    return doc


JSON_TYPES = {"string": str, "number": (int, float), "boolean": bool, "object": dict, "array": list,
              "null": type(None)}


def check(doc, c):
    got = pointer(doc, c["pointer"])
    where = c["pointer"]
    if "exists" in c:
        if (got is not MISSING) != c["exists"]:
            raise CaseFailed(f"{where}: exists should be {c['exists']}")
        return
    if got is MISSING:
        raise CaseFailed(f"{where}: missing")
    if "equals" in c and got != c["equals"]:
        raise CaseFailed(f"{where}: {got!r} != {c['equals']!r}")
    if "notEquals" in c and got == c["notEquals"]:
        raise CaseFailed(f"{where}: should not be {got!r}")
    if "type" in c:
        t = JSON_TYPES[c["type"]]
        if not isinstance(got, t) or (c["type"] == "number" and isinstance(got, bool)):
            raise CaseFailed(f"{where}: {got!r} is not a {c['type']}")
    if "contains" in c and (not isinstance(got, (list, str)) or c["contains"] not in got):
        raise CaseFailed(f"{where}: {got!r} does not contain {c['contains']!r}")
    if "notContains" in c and isinstance(got, (list, str)) and c["notContains"] in got:
        raise CaseFailed(f"{where}: {got!r} contains {c['notContains']!r}")
    if "hasKey" in c and (not isinstance(got, dict) or c["hasKey"] not in got):
        raise CaseFailed(f"{where}: no key {c['hasKey']!r} in {got!r}")
    if "minLength" in c and (not hasattr(got, "__len__") or len(got) < c["minLength"]):
        raise CaseFailed(f"{where}: {got!r} shorter than {c['minLength']}")
    if "startsWith" in c and (not isinstance(got, str) or not got.startswith(c["startsWith"])):
        raise CaseFailed(f"{where}: {got!r} does not start with {c['startsWith']!r}")


class Runner:
    def __init__(self, url, user, password, verbose=False):
        parts = urllib.parse.urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.session_url = url if parts.path not in ("", "/") else self.base + "/.well-known/jmap"
        self.user, self.password, self.verbose = user, password, verbose
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.session = None
        self.globals = {}

    # ---------------------------------------------------------------- HTTP
    def http(self, method, url, body=None, headers=None, auth="user"):
        h = dict(headers or {})
        if auth == "user":
            h["Authorization"] = self.auth
        elif auth == "bad":
            h["Authorization"] = "Basic " + base64.b64encode(f"{self.user}:wrong-{self.password}".encode()).decode()
        full = url if "://" in url else urllib.parse.urljoin(self.base + "/", url)
        req = urllib.request.Request(full, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def api(self, calls):
        status, _, raw = self.http("POST", self.session["apiUrl"],
                                   json.dumps({"using": USING, "methodCalls": calls}).encode(),
                                   {"Content-Type": "application/json"})
        if status != 200:
            raise CaseFailed(f"setup call {calls[0][0]}: HTTP {status}: {raw[:300]!r}")
        return json.loads(raw)["methodResponses"]

    # ---------------------------------------------------------------- setup
    def setup(self):
        status, _, raw = self.http("GET", self.session_url)
        if status != 200:
            raise SystemExit(f"session resource: HTTP {status}: {raw[:300]!r}")
        self.session = json.loads(raw)
        account = self.session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        g = self.globals
        g["accountId"] = account
        g["username"] = self.session.get("username", self.user)
        g["nonce"] = f"n{int(time.time() * 1000) % 10**10}"
        g["maxCallsInRequest"] = self.session["capabilities"]["urn:ietf:params:jmap:core"]["maxCallsInRequest"]
        for m in self.api([["Mailbox/get", {"accountId": account, "ids": None}, "m"]])[0][1].get("list", []):
            if m.get("role"):
                g.setdefault(f"role.{m['role']}", m["id"])
        if "urn:ietf:params:jmap:submission" in self.session["capabilities"]:
            identities = self.api([["Identity/get", {"accountId": account, "ids": None}, "i"]])[0][1].get("list", [])
            if identities:
                g["identityId"], g["identityEmail"] = identities[0]["id"], identities[0]["email"]

    # ---------------------------------------------------------------- substitution
    def subst(self, value, env):
        if isinstance(value, str):
            if value.startswith("${") and value.endswith("}") and value.count("${") == 1:
                name = value[2:-1]
                if name not in env:
                    raise CaseFailed(f"unknown variable {name}")
                return env[name]
            out = value
            while "${" in out:
                start = out.index("${")
                end = out.index("}", start)
                name = out[start + 2:end]
                if name not in env:
                    raise CaseFailed(f"unknown variable {name}")
                out = out[:start] + str(env[name]) + out[end + 1:]
            return out
        if isinstance(value, list):
            return [self.subst(v, env) for v in value]
        if isinstance(value, dict):
            return {self.subst(k, env): self.subst(v, env) for k, v in value.items()}
        return value

    # ---------------------------------------------------------------- steps
    def step(self, step, env):
        if "call" in step:
            calls = []
            for c in step["call"]:
                name, args = c[0], dict(c[1])
                args.setdefault("accountId", env["accountId"])
                calls.append([name, args, c[2]])
            if "repeatOverMaxCalls" in step:  # maxCallsInRequest + 1 copies of the one call
                calls = [[calls[0][0], calls[0][1], f"r{i}"] for i in range(env["maxCallsInRequest"] + 1)]
            body = {"using": step.get("using", USING), "methodCalls": calls}
            return self.http("POST", self.session["apiUrl"], json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
        if "request" in step:
            r = step["request"]
            url = {"session": self.session_url, "api": self.session["apiUrl"]}.get(r.get("url", "api"), r.get("url"))
            headers = dict(r.get("headers", {}))
            body = None
            if "json" in r:
                body = json.dumps(r["json"]).encode()
                headers.setdefault("Content-Type", "application/json")
            elif "body" in r:
                body = r["body"].encode()
            return self.http(r.get("method", "GET"), url, body, headers, r.get("auth", "user"))
        if "upload" in step:
            u = step["upload"]
            url = self.session["uploadUrl"].replace("{accountId}", urllib.parse.quote(env["accountId"], safe=""))
            return self.http("POST", url, u["body"].encode(), {"Content-Type": u.get("type", "application/octet-stream")})
        if "download" in step:
            d = step["download"]
            q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
            url = (self.session["downloadUrl"].replace("{accountId}", q(env["accountId"]))
                   .replace("{blobId}", q(d["blobId"])).replace("{name}", q(d.get("name", "blob")))
                   .replace("{type}", q(d.get("type", "application/octet-stream"))))
            return self.http("GET", url)
        raise CaseFailed(f"unknown step {sorted(step)}")

    def run_case(self, case):
        env = dict(self.globals)
        for i, raw_step in enumerate(case["steps"]):
            needs = raw_step.get("needs", [])
            missing = [n for n in needs if n not in env]
            if missing:
                raise CaseFailed(f"step {i}: the server offers no {', '.join(missing)}")
            step = self.subst({k: v for k, v in raw_step.items() if k not in ("expect", "save")}, env)
            status, headers, raw = self.step(step, env)
            doc = None
            if raw and headers.get("content-type", "").split(";")[0].strip().endswith("json"):
                try:
                    doc = json.loads(raw)
                except ValueError:
                    raise CaseFailed(f"step {i}: body is not JSON: {raw[:200]!r}")
            if self.verbose:
                print(f"  step {i}: HTTP {status} {raw[:400]!r}")
            try:
                # Saved variables first: the step's own expectations may use them.
                for var, ptr in raw_step.get("save", {}).items():
                    got = pointer(doc, ptr) if doc is not None else MISSING
                    if got is not MISSING:
                        env[var] = got
                expect = self.subst(raw_step.get("expect", {}), env)
                if status != expect.get("status", 200):
                    raise CaseFailed(f"HTTP {status}, expected {expect.get('status', 200)}: {raw[:300]!r}")
                for name, prefix in expect.get("headers", {}).items():
                    value = headers.get(name.lower())
                    if value is None or not value.lower().startswith(prefix.lower()):
                        raise CaseFailed(f"header {name}: {value!r}, expected {prefix!r}...")
                if "bodyContains" in expect and expect["bodyContains"].encode() not in raw:
                    raise CaseFailed(f"body lacks {expect['bodyContains']!r}: {raw[:300]!r}")
                for c in expect.get("json", []):
                    if doc is None:
                        raise CaseFailed(f"no JSON body for {c['pointer']}")
                    check(doc, c)
                for var, ptr in raw_step.get("save", {}).items():
                    if var not in env or pointer(doc, ptr) is MISSING:
                        raise CaseFailed(f"save {var}: nothing at {ptr}")
            except CaseFailed as e:
                raise CaseFailed(f"step {i}: {e}; response: {json.dumps(doc)[:600] if doc is not None else raw[:300]!r}")


def load_cases(selected=None):
    cases = []
    for path in sorted((HERE / "cases").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data if isinstance(data, list) else [data]:
            case.setdefault("file", path.name)
            if not selected or case["id"] in selected:
                cases.append(case)
    return cases


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True, help="server base URL or session URL")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--case", action="append", help="run only this case id (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    runner = Runner(args.url, args.user, args.password, args.verbose)
    runner.setup()
    cases = load_cases(args.case)
    failed = 0
    for case in cases:
        try:
            runner.run_case(case)
            print(f"PASS {case['id']} ({case['rfc']})")
        except CaseFailed as e:
            failed += 1
            print(f"FAIL {case['id']} ({case['rfc']}): {e}")
    print(f"jmap conformance: {len(cases) - failed}/{len(cases)} passed")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
