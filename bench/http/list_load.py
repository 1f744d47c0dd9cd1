#!/usr/bin/python3
"""list_load.py - the "message list" load of issue 16's benchmark, over JMAP or IMAP.

One request = what a mail client does to show the newest 50 messages of a large mailbox:
  jmap: one POST /jmap/api with Email/query (inMailbox inbox, sort receivedAt desc, limit 50,
        calculateTotal) and Email/get of its #ids (id threadId mailboxIds keywords subject from
        to receivedAt size preview): RFC 8620 §3.7 back-reference, one round trip.
  imap: UID SEARCH ALL (the client takes the 50 highest UIDs: arrival order), then one UID FETCH
        of those 50 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[TEXT]<0.256>): the
        same fields, the 256-octet text prefix standing in for JMAP's preview. Two round trips.
C client processes each run requests back to back on one connection (HTTP keep-alive /
one IMAP session) for --seconds; reported: requests/s over all clients, latency p50/p99
(per request, all clients pooled), and the server's CPU seconds (--server-pid, whole tree).
Standard library only; works against any JMAP or IMAP server on this machine.
"""
import argparse
import base64
import http.client
import imaplib
import json
import multiprocessing
import os
import re
import time

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
PROPS = ["id", "threadId", "mailboxIds", "keywords", "subject", "from", "to", "receivedAt", "size", "preview"]


def proc_tree_cpu(pid):
    """CPU seconds (user+sys) of pid and its descendants."""
    if not pid:
        return 0.0
    children = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(p))
            except OSError:
                pass
    total, todo, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
        todo += children.get(p, [])
    return total


def jmap_client(args, start, stop_at, out, finish):
    auth = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    c = http.client.HTTPConnection(args.host, args.port, timeout=60)
    c.request("POST", "/jmap/login", body=json.dumps({"username": args.user, "password": args.password}))
    r = c.getresponse()
    token = json.loads(r.read())["accessToken"] if r.status == 200 else None
    headers = {"Authorization": f"Bearer {token}" if token else auth, "Content-Type": "application/json"}
    c.request("GET", "/.well-known/jmap", headers=headers)
    session = json.loads(c.getresponse().read())
    account = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
    body = json.dumps({"using": USING, "methodCalls": [["Mailbox/query", {"accountId": account, "filter": {"role": "inbox"}}, "m"]]})
    c.request("POST", "/jmap/api", body=body, headers=headers)
    inbox = json.loads(c.getresponse().read())["methodResponses"][0][1]["ids"][0]
    body = json.dumps({"using": USING, "methodCalls": [
        ["Email/query", {"accountId": account, "filter": {"inMailbox": inbox},
                         "sort": [{"property": "receivedAt", "isAscending": False}], "limit": 50,
                         "calculateTotal": True}, "q"],
        ["Email/get", {"accountId": account, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": PROPS}, "g"]]})
    start.wait()
    lat = []
    while time.monotonic() < stop_at.value:
        t = time.monotonic()
        c.request("POST", "/jmap/api", body=body, headers=headers)
        resp = json.loads(c.getresponse().read())
        got = resp["methodResponses"][1][1]["list"]
        assert len(got) == 50, resp["methodResponses"][1]
        lat.append(time.monotonic() - t)
    out.put(lat)
    finish.wait()  # the server's CPU is read before any session ends (Dovecot: one process each)


def imap_client(args, start, stop_at, out, finish):
    m = imaplib.IMAP4(args.host, args.port, timeout=60)
    m.login(args.user, args.password)
    m.select("INBOX", readonly=True)
    start.wait()
    lat = []
    while time.monotonic() < stop_at.value:
        t = time.monotonic()
        typ, data = m.uid("SEARCH", None, "ALL")
        uids = data[0].split()[-50:]
        typ, data = m.uid("FETCH", b",".join(uids).decode(),
                          "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[TEXT]<0.256>)")
        assert typ == "OK" and sum(1 for d in data if isinstance(d, tuple)) == 50, data[:2]
        lat.append(time.monotonic() - t)
    out.put(lat)
    finish.wait()  # before LOGOUT ends this session's process on Dovecot
    m.logout()


def run(args, clients):
    start = multiprocessing.Barrier(clients + 1)
    stop_at = multiprocessing.Value("d", 1e18)
    out = multiprocessing.Queue()
    finish = multiprocessing.Barrier(clients + 1)
    target = jmap_client if args.proto == "jmap" else imap_client
    procs = [multiprocessing.Process(target=target, args=(args, start, stop_at, out, finish)) for _ in range(clients)]
    for p in procs:
        p.start()
    stop_at.value = time.monotonic() + args.seconds + 0.2
    start.wait()  # every session is open (Dovecot forked its processes): CPU from here
    cpu0 = proc_tree_cpu(args.server_pid)
    t0 = time.monotonic()
    lat = []
    for _ in procs:
        lat += out.get()
    wall = time.monotonic() - t0
    cpu = proc_tree_cpu(args.server_pid) - cpu0
    finish.wait()
    for p in procs:
        p.join()
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    return {"proto": args.proto, "label": args.label, "clients": clients, "requests": len(lat),
            "rps": len(lat) / wall, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "server_cpu_s": cpu,
            "wall_s": wall, "load1": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proto", choices=["jmap", "imap"], required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--clients", default="1,20")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--label", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    for c in [int(x) for x in args.clients.split(",")]:
        r = run(args, c)
        print(f"{r['label']:10} {r['proto']:5} clients={c:3} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  "
              f"p99 {r['p99_ms']:7.2f} ms  server cpu {r['server_cpu_s']:.2f} s  load {r['load1']:.1f}", flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
