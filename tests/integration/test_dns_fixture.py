# The `dnsmasq` fixture (conftest.py) that the relay's end-to-end tests point `[dns] servers`
# at (issue 13): it answers the MX, A/AAAA, CNAME and TXT records it was given, says
# NXDOMAIN for other names in those zones (RFC 1035 §4.1.1 RCODE 3), a null MX (RFC 7505) and
# SERVFAIL for whole zones when asked, and stops with the test.
import socket

import pytest

from conftest import dns_query


def test_fixture_answers_mx_and_address_queries(dnsmasq):
    server = dnsmasq(mx={"b.test": [(10, "mx.b.test"), (20, "mx2.b.test")]},
                     hosts={"mx.b.test": "127.0.0.1", "mx2.b.test": ["127.0.0.2", "::1"]},
                     cnames={"alias.b.test": "mx.b.test"},
                     txt={"b.test": "v=spf1 -all"})
    assert server.startswith("127.0.0.1:")

    rcode, answers = dns_query(server, "b.test", "MX")
    assert rcode == 0
    assert sorted(v for k, v in answers if k == "MX") == [(10, "mx.b.test"), (20, "mx2.b.test")]

    rcode, answers = dns_query(server, "mx.b.test", "A")
    assert (rcode, answers) == (0, [("A", "127.0.0.1")])
    rcode, answers = dns_query(server, "mx2.b.test", "AAAA")
    assert (rcode, answers) == (0, [("AAAA", "::1")])
    rcode, answers = dns_query(server, "alias.b.test", "A")
    assert rcode == 0
    assert ("CNAME", "mx.b.test") in answers and ("A", "127.0.0.1") in answers
    rcode, answers = dns_query(server, "b.test", "TXT")
    assert (rcode, answers) == (0, [("TXT", "v=spf1 -all")])

    assert dns_query(server, "nx.b.test", "MX")[0] == 3          # NXDOMAIN
    assert dns_query(server, "mx.b.test", "MX") == (0, [])       # NODATA
    assert dns_query(server, "example.org", "MX")[0] == 5        # REFUSED: not ours, no upstream


def test_two_servers_side_by_side(dnsmasq):
    first = dnsmasq(mx={"c.test": [(5, "mx.c.test")]})
    second = dnsmasq(hosts={"mx.d.test": "127.0.0.1"})
    assert first != second
    assert dns_query(first, "c.test", "MX")[1] == [("MX", (5, "mx.c.test"))]
    assert dns_query(second, "mx.d.test", "A")[1] == [("A", "127.0.0.1")]


def test_null_mx_and_servfail_zones(dnsmasq):
    server = dnsmasq(null_mx=["null.test"], servfail=["dead.test"])
    # RFC 7505 §3: one MX record, preference 0, exchange the root (empty name).
    assert dns_query(server, "null.test", "MX") == (0, [("MX", (0, ""))])
    assert dns_query(server, "dead.test", "MX")[0] == 2       # SERVFAIL (RFC 1035 §4.1.1)
    assert dns_query(server, "mx.dead.test", "A")[0] == 2
    assert dns_query(server, "other.test", "MX")[0] == 3      # NXDOMAIN: .test is still ours
