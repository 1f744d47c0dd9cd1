# IMAP COMPRESS=DEFLATE (RFC 4978) and LITERAL- (RFC 7888 §4) against the real `cloudsdial
# serve`: Python's imaplib taught COMPRESS with the standard zlib module (raw deflate,
# wbits=-15, a sync flush after every command, as RFC 4978 §4 describes), over plaintext and
# over implicit TLS (compression above TLS, §3): LOGIN, COMPRESS DEFLATE, SELECT, APPEND,
# FETCH a body, LOGOUT; the wire is checked to be compressed. Also: a second COMPRESS
# (NO [COMPRESSIONACTIVE]), COMPRESS before login (BAD), the default (not offered),
# uncompressed input after the OK (the connection ends, the server lives on), a deflate bomb
# (the line limit applies to inflated octets), and `[imap] literal_minus = true` (LITERAL-
# advertised, {4097+} refused).
import imaplib
import socket
import threading
import zlib

import pytest

from conftest import IMAP_USERS, new_imap_server, wait_until

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class _InflatingReader:
    """imaplib's `file` once DEFLATE is on: reads the socket, inflates, hands out lines."""

    def __init__(self, sock):
        self.sock = sock
        self.inflater = zlib.decompressobj(wbits=-15)
        self.buf = b""
        self.wire_bytes = 0
        self.plain_bytes = 0

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise imaplib.IMAP4.abort("socket closed (compressed)")
        self.wire_bytes += len(data)
        out = self.inflater.decompress(data)
        self.plain_bytes += len(out)
        self.buf += out

    def readline(self, limit=-1):
        while b"\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read(self, size):
        while len(self.buf) < size:
            self._fill()
        out, self.buf = self.buf[:size], self.buf[size:]
        return out

    def close(self):
        pass


class CompressMixin:
    deflater = None

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK" and self.deflater is None:
            # RFC 4978 §3: both directions compressed from the octet after the OK's CRLF.
            self.deflater = zlib.compressobj(wbits=-15)
            self.file = _InflatingReader(self.sock)
        return typ, data

    def send(self, data):
        if self.deflater is not None:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)


class CompressIMAP4(CompressMixin, imaplib.IMAP4):
    pass


class CompressIMAP4_SSL(CompressMixin, imaplib.IMAP4_SSL):
    pass


@pytest.fixture(scope="module")
def imap_server(tmp_path_factory):
    """An IMAP server with the default `[imap] compress = true`, said explicitly."""
    srv = new_imap_server(tmp_path_factory.mktemp("imap-compress"), compress="true")
    yield srv
    if srv.proc is not None:
        srv.stop()


def ok(result):
    typ, data = result
    assert typ == "OK", (typ, data)
    return data


def connect(srv, tls):
    if tls:
        from conftest import unverified_tls
        return CompressIMAP4_SSL("127.0.0.1", srv.imap_ports["imaps"], ssl_context=unverified_tls(), timeout=30)
    return CompressIMAP4("127.0.0.1", srv.imap_ports["imap"], timeout=30)


def body(n):
    return "".join(f"Line {i} of a compressible body, quoted > and quoted again\r\n" for i in range(n))


@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "imaps"])
def test_rfc4978_compress_login_select_append_fetch_logout(imap_server, tls):
    m = connect(imap_server, tls)
    ok(m.login("alice", IMAP_USERS["alice"]))
    caps = ok(m.capability())[0].decode().split()
    assert "COMPRESS=DEFLATE" in caps
    assert "DEFLATE active" in ok(m.compress())[0].decode()
    reader = m.file
    assert isinstance(reader, _InflatingReader)
    # RFC 4978 §3: once active, a second COMPRESS is refused and nothing changes.
    typ, data = m.compress()
    assert typ == "NO" and b"[COMPRESSIONACTIVE]" in data[0], (typ, data)
    box = "Compress" + ("TLS" if tls else "Plain")
    ok(m.create(box))
    ok(m.select(box))
    text = body(3000)  # ~200 KB, one literal in both directions
    msg = ("From: alice@example.test\r\nTo: alice@example.test\r\nSubject: compressed\r\n\r\n" + text).encode()
    ok(m.append(box, None, None, msg))
    ok(m.noop())
    before_wire, before_plain = reader.wire_bytes, reader.plain_bytes
    data = ok(m.fetch("1", "(BODY.PEEK[TEXT] RFC822.SIZE)"))
    assert data[0][1] == text.encode()
    got_wire = reader.wire_bytes - before_wire
    got_plain = reader.plain_bytes - before_plain
    print(f"FETCH {'over TLS ' if tls else ''}compressed: {got_plain} octets in {got_wire} on the wire")
    assert got_wire * 4 < got_plain  # deflate on the wire, not a pass-through
    ok(m.close())
    ok(m.delete(box))
    typ, _ = m.logout()
    assert typ == "BYE"
    imap_server.assert_healthy()


def test_rfc4978_s5_compress_before_login_is_bad(imap_server):
    m = connect(imap_server, False)
    caps = ok(m.capability())[0].decode().split()
    assert "COMPRESS=DEFLATE" not in caps
    with pytest.raises(imaplib.IMAP4.error):
        m.compress()
    assert m.deflater is None
    ok(m.noop())
    m.logout()


def test_compress_is_offered_by_default_and_can_be_turned_off(make_imap_server):
    srv = make_imap_server()
    m = connect(srv, False)
    ok(m.login("bob", IMAP_USERS["bob"]))
    assert "COMPRESS=DEFLATE" in ok(m.capability())[0].decode().split()
    m.logout()
    off = make_imap_server(compress="false")
    m = connect(off, False)
    ok(m.login("bob", IMAP_USERS["bob"]))
    assert "COMPRESS=DEFLATE" not in ok(m.capability())[0].decode().split()
    with pytest.raises(imaplib.IMAP4.error):
        m.compress()
    ok(m.noop())
    m.logout()


def raw_compress_session(srv):
    """A raw socket, logged in as carol, after COMPRESS DEFLATE's OK."""
    s = socket.create_connection(("127.0.0.1", srv.imap_ports["imap"]), timeout=30)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN carol " + IMAP_USERS["carol"].encode() + b"\r\n")
    assert f.readline().startswith(b"a OK")
    s.sendall(b"b COMPRESS DEFLATE\r\n")
    assert f.readline() == b"b OK DEFLATE active\r\n"
    return s


def read_all(s):
    out = b""
    while True:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            return out
        if not data:
            return out
        out += data



def test_uncompressed_input_after_ok_closes_the_connection(imap_server):
    s = raw_compress_session(imap_server)
    # Not DEFLATE: 'g' (0x67) starts a block of the reserved type 11 (RFC 1951 §3.2.3).
    s.sendall(b"g NOOP\r\n")
    assert read_all(s) == b""  # the server closes, and never answers it as a command
    s.close()
    wait_until(lambda: "(read: invalid)" in imap_server.log(), what="the disconnect line naming corrupt input")
    imap_server.assert_healthy()
    m = imap_server.imap("carol")
    ok(m.noop())
    m.logout()


def test_deflate_bomb_hits_the_line_limit_not_memory(imap_server):
    s = raw_compress_session(imap_server)
    c = zlib.compressobj(level=9, wbits=-15)
    wire = c.compress(b"d NOOP " + b"A" * (64 << 20) + b"\r\ne NOOP\r\n") + c.flush(zlib.Z_SYNC_FLUSH)
    assert len(wire) < (256 << 10)  # 64 MiB in well under 1% of it
    sender = threading.Thread(target=s.sendall, args=(wire,))
    sender.start()
    # The inflated octets went through the session's line limit (64 KiB): the long line is
    # skipped to its CRLF and refused, the next command runs; nothing held 64 MiB.
    inflater = zlib.decompressobj(wbits=-15)
    got = b""
    while b"e OK" not in got:
        data = s.recv(65536)
        assert data, got
        got += inflater.decompress(data)
    sender.join()
    assert b"d BAD Command line too long" in got, got
    s.close()
    imap_server.assert_healthy()


def test_rfc7888_s4_literal_minus_when_configured(make_imap_server):
    srv = make_imap_server(literal_minus="true")
    m = srv.imap("dave")
    caps = ok(m.capability())[0].decode().split()
    assert "LITERAL-" in caps and "LITERAL+" not in caps
    s = socket.create_connection(("127.0.0.1", srv.imap_ports["imap"]), timeout=30)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a LOGIN dave " + IMAP_USERS["dave"].encode() + b"\r\n")
    assert f.readline().startswith(b"a OK")
    msg = b"Subject: x\r\n\r\n" + b"y" * 4082
    assert len(msg) == 4096
    s.sendall(b"b APPEND INBOX {4096+}\r\n" + msg + b"\r\n")
    assert f.readline().startswith(b"b OK"), "a 4096-octet non-synchronising literal is fine"
    s.sendall(b"c APPEND INBOX {4097+}\r\n" + msg + b"z\r\n")
    assert f.readline().startswith(b"c BAD [TOOBIG]")
    s.sendall(b"d NOOP\r\n")
    line = f.readline()
    assert line.startswith(b"d OK"), line
    s.close()
    m.logout()
