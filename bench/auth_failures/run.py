#!/usr/bin/python3
# bench/auth_failures: issue 4's "1,000 wrong passwords do not get faster or leak which
# users exist". Starts `cloudsdial serve` on loopback twice. Phase 1 (delays off, budgets
# off): N wrong AUTH PLAIN attempts for an existing user and N for unknown names,
# interleaved, one STARTTLS session each; prints reply sets and latency percentiles per
# group (the oracle would be a difference). Phase 2 (the default defences): wrong passwords
# from one IP until lockout; prints each attempt's latency, showing it grows, never shrinks.
# Usage: bench/auth_failures/run.py CLOUDSDIAL_BINARY [-n N]   (prints figures, asserts nothing)
import argparse
import base64
import os
import re
import signal
import smtplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start(binary, root, auth):
    cfg = root / "cloudsdial.toml"
    cfg.write_text("\n".join([
        "[server]", 'hostname = "mx.example.test"', f'data_dir = "{root / "var"}"', 'log_level = "warn"',
        "[smtp]", 'listen = ["127.0.0.1:0"]', "max_connections_per_ip = 1000",
        "[tls]", "enabled = true",
        "[auth]"] + [f"{k} = {v}" for k, v in auth.items()] + [
        "[domains]", 'local = ["example.test"]', "[[users]]", 'name = "demo"', ""]))
    subprocess.run([binary, "user", "add", "alice", "--config", str(cfg)], input="right-password\n", text=True,
                   check=True, capture_output=True)
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen([binary, "serve", "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(500):
        text = (root / "server.log").read_text(errors="replace")
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
        if m and "ready" in text:
            return proc, int(m.group(1))
        time.sleep(0.02)
    proc.kill()
    sys.exit("server did not start:\n" + text)


def attempt(port, user, password):
    """One session: EHLO, STARTTLS, EHLO, AUTH PLAIN; returns (reply, seconds for AUTH)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test", timeout=120)
    try:
        s.ehlo()
        s.starttls(context=ctx)
        s.ehlo()
        blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        t0 = time.perf_counter()
        reply = s.docmd("AUTH", "PLAIN " + blob)
        return reply, time.perf_counter() - t0
    finally:
        try:
            s.close()
        except OSError:
            pass


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-n", type=int, default=1000, help="wrong passwords per group in phase 1")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="auth-bench.") as tmp:
        root = Path(tmp) / "p1"
        root.mkdir()
        proc, port = start(a.binary, root, {"failure_delay": '"0s"', "failure_delay_max": '"0s"',
                                            "ip_failures_max": "1000000", "user_failures_max": "1000000"})
        real, unknown, replies = [], [], {"existing": set(), "unknown": set()}
        try:
            for i in range(a.n):
                r, dt = attempt(port, "alice", f"wrong-{i}")
                real.append(dt)
                replies["existing"].add(r)
                r, dt = attempt(port, f"nobody{i}", f"wrong-{i}")
                unknown.append(dt)
                replies["unknown"].add(r)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        print(f"# auth_failures ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.2f})")
        print()
        print(f"Phase 1: {a.n} wrong AUTH PLAIN per group, delays and budgets off (raw verification)")
        print()
        print("| user | replies | median ms | p10 ms | p90 ms | mean ms |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for name, xs in (("existing (alice)", real), ("unknown (nobodyN)", unknown)):
            key = "existing" if name.startswith("existing") else "unknown"
            print(f"| {name} | {sorted(replies[key])} | {statistics.median(xs)*1e3:.2f} | {pct(xs,10)*1e3:.2f} | "
                  f"{pct(xs,90)*1e3:.2f} | {statistics.mean(xs)*1e3:.2f} |")
        print()
        print(f"median ratio existing/unknown: {statistics.median(real)/statistics.median(unknown):.3f}")

        root = Path(tmp) / "p2"
        root.mkdir()
        proc, port = start(a.binary, root, {"failure_delay": '"100ms"', "failure_delay_max": '"2s"',
                                            "ip_failures_max": "8", "user_failures_max": "5"})
        try:
            print()
            print("Phase 2: wrong passwords from one IP with defences on (failure_delay 100ms doubling to 2s, "
                  "ip_failures_max 8, user_failures_max 5); then the right password")
            print()
            print("| attempt | user | reply | AUTH latency ms |")
            print("| ---: | --- | --- | ---: |")
            for i in range(10):
                user, pw = ("alice", "wrong") if i < 6 else (f"nobody{i}", "wrong")
                if i == 6:
                    user, pw = "alice", "right-password"
                try:
                    r, dt = attempt(port, user, pw)
                    print(f"| {i+1} | {user}{' (right password)' if pw.startswith('right') else ''} | {r[0]} "
                          f"{r[1].decode()[:40]} | {dt*1e3:.0f} |")
                except smtplib.SMTPServerDisconnected:
                    print(f"| {i+1} | {user} | disconnected | - |")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()


if __name__ == "__main__":
    main()
