# [server] log_format = "json": every log line the server writes is one JSON object
# (docs/USER_GUIDE.md §6), with "service"/"connection" for "smtp[<n>]: ..." lines and proper
# escaping of client-supplied text. The lines `serve` says itself (version and
# configuration, TLS certificate, "listening on", "ready") are JSON records too.
import json
import re
import uuid

from conftest import DOMAIN

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_every_log_line_is_json(make_server):
    srv = make_server(server_extra={"log_format": '"json"'}).start()
    tok = "tok-" + uuid.uuid4().hex
    sender = '"quoted\\\\name"@example.org'  # a quoted local part: a quote and a backslash in the log
    msg = (f"From: <{sender}>\r\nTo: demo@{DOMAIN}\r\nSubject: {tok}\r\n\r\nHello.\r\n").encode()
    with srv.smtp() as s:
        assert s.sendmail(sender, [f"demo@{DOMAIN}"], msg) == {}
    srv.stop()

    lines = srv.log().splitlines()
    records = []
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {i + 1} is not JSON: {line!r}")
        assert isinstance(record, dict), line
        assert TIME.match(record["time"]), line
        assert record["level"] in ("debug", "info", "warn", "error"), line
        assert isinstance(record["message"], str), line
        m = re.match(r"^([a-z][a-z0-9_-]*)\[(\d+)\]: ", record["message"])
        if m:
            assert record["service"] == m.group(1) and record["connection"] == int(m.group(2)), line
        else:
            assert "service" not in record and "connection" not in record, line
        assert set(record) <= {"time", "level", "message", "service", "connection"}, line
        records.append(record)

    messages = [r["message"] for r in records]
    assert messages[0].startswith("cloudsdial ") and ": using configuration " in messages[0], messages
    assert any(m.startswith("cloudsdial: ready (pid ") for m in messages), messages
    assert any(m.startswith("smtp: listening on 127.0.0.1:") for m in messages), messages
    connects = [r for r in records if " connect from 127.0.0.1:" in r["message"]]
    assert connects and connects[0]["service"] == "smtp" and isinstance(connects[0]["connection"], int), records
    done = [r for r in records if "result=250" in r["message"]]
    assert len(done) == 1, messages
    assert done[0]["level"] == "info" and done[0]["service"] == "smtp", done
    assert f"from=<{sender}>" in done[0]["message"], done
    assert "smtp: stopped" in messages, messages
