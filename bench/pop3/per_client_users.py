#!/usr/bin/python3
"""bench/pop3/per_client_users.py - ../shared/peers/pop3-load.py with one maildrop per
client: client k (0-based) logs in as PATTERN % (FIRST + k) instead of --user. A POP3
server may lock the maildrop exclusively (RFC 1939 §4; ours answers a second session
-ERR [IN-USE]), so C parallel clients need C users. Everything else (options, phases,
output, JSON) is pop3-load.py's own; --user still names the user of the fill.

usage: per_client_users.py PEERS_DIR PATTERN FIRST [pop3-load.py options...]
"""
import copy
import importlib.util
import os
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    peers, pattern, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spec = importlib.util.spec_from_file_location("pop3_load", os.path.join(peers, "pop3-load.py"))
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    shared_worker = load.worker

    def worker(a, cid, bar, q):  # runs in the forked client process
        own = copy.copy(a)
        own.user = pattern % (first + cid)
        shared_worker(own, cid, bar, q)

    load.worker = worker  # run_once() looks it up at call time
    sys.argv = [sys.argv[0]] + sys.argv[4:]
    load.main()


if __name__ == "__main__":
    main()
