# User names: Python applies the server's one rule (server/store/user_name.h) through
# cloudsdial._core, never a copy of its own; the World, the embedded Server and the
# configuration loader accept and refuse the same names.
import pytest

import cloudsdial
from cloudsdial import _core

GOOD = ["demo", "Alice.B_c", "a", "user-1", "x_y", "u" * 64]
BAD = ["", ".", "..", "a..b", ".hidden", "-x", "a/b", "a b", "a@b", "a+b", "d\u00ebmo", "u" * 65, "a\0b"]


def test_the_rule_is_the_servers():
    assert cloudsdial.is_valid_user_name is _core.is_valid_user_name
    for name in GOOD:
        assert cloudsdial.is_valid_user_name(name), name
    for name in BAD:
        assert not cloudsdial.is_valid_user_name(name), name
    assert cloudsdial.is_valid_alias("d\u00ebmo") and not cloudsdial.is_valid_alias("a/b")
    assert "a-z A-Z 0-9 . _ -" in _core.USER_NAME_RULE


def test_world_accepts_capitals_dots_and_underscores():
    w = cloudsdial.World(5)
    w.add_server("mx1", domains=["example.test"], users=["Alice.B_c", ("carol", ["d\u00ebmo"])])
    w.add_client("c1")
    assert w.users("mx1") == ["Alice.B_c", "carol"]
    assert w.send("c1", "mx1", to="alice.b_c@example.test", subject="case").wait(max_seconds=60)
    assert [m.email()["Subject"] for m in w.mailbox("mx1", "Alice.B_c")] == ["case"]
    assert w.check() == []


@pytest.mark.parametrize("name", ["a/b", "..", "", "-x"])
def test_world_refuses_what_the_server_refuses(name):
    with pytest.raises(cloudsdial.ConfigError, match="must be 1-64 of a-z A-Z 0-9"):
        cloudsdial.World(1).add_server("mx1", users=[name])


def test_world_refuses_bad_aliases():
    with pytest.raises(cloudsdial.ConfigError, match="or UTF-8"):
        cloudsdial.World(1).add_server("mx1", users=[("alice", ["a/b"])])


@pytest.mark.parametrize("name", GOOD[:4] + BAD[:10])
def test_server_configuration_agrees(name):
    # The embedded server parses the `cloudsdial serve` format: same answer as the rule.
    if cloudsdial.is_valid_user_name(name):
        cloudsdial.Server(users=[name]).stop()
    else:
        with pytest.raises(cloudsdial.ConfigError, match="users.name"):
            cloudsdial.Server(users=[name])
