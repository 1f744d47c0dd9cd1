# Error mapping: core errors and bad arguments arrive as cloudsdial exceptions (one class
# per kind, each also a matching built-in exception), never as a crash or an assertion.
import pytest

import cloudsdial


def test_hierarchy():
    for cls, builtin in [(cloudsdial.ConfigError, ValueError), (cloudsdial.NotFoundError, LookupError),
                         (cloudsdial.StateError, RuntimeError), (cloudsdial.StorageError, OSError),
                         (cloudsdial.NetworkError, ConnectionError), (cloudsdial.SimTimeoutError, TimeoutError),
                         (cloudsdial.SimulationError, RuntimeError)]:
        assert issubclass(cls, cloudsdial.CloudsdialError) and issubclass(cls, builtin)


def test_bad_arguments():
    w = cloudsdial.World(1)
    with pytest.raises(cloudsdial.ConfigError):
        w.add_server("MX!", users=["alice"])
    with pytest.raises(cloudsdial.ConfigError):
        w.add_server("mx1", users=[])
    with pytest.raises(cloudsdial.ConfigError):
        w.add_server("mx1", users=["alice"], domains=["bad domain"])
    with pytest.raises(cloudsdial.ConfigError):
        w.add_server("mx1", users=["alice"], sync_eio_ppm=2_000_000)
    with pytest.raises(cloudsdial.ConfigError):
        w.add_server("mx1", users=["alice"], no_such_option=1)
    w.add_server("mx1", users=["alice"])
    with pytest.raises(cloudsdial.ConfigError):
        w.add_server("mx1", users=["alice"])
    w.add_client("c1")
    with pytest.raises(cloudsdial.NotFoundError):
        w.crash("nope")
    with pytest.raises(cloudsdial.ConfigError):
        w.send("c1", "mx1", to="not an address")
    with pytest.raises(cloudsdial.ConfigError):
        w.send("c1", "mx1", to=[])
    with pytest.raises(cloudsdial.ConfigError):
        w.send("mx1", "mx1", to="alice@example.test")
    with pytest.raises(cloudsdial.NotFoundError):
        w.send("c1", "c1", to="alice@example.test")
    with pytest.raises(cloudsdial.ConfigError):
        w.partition("c1", "c1")
    with pytest.raises(cloudsdial.ConfigError):
        w.run_for(-1)
    with pytest.raises(cloudsdial.ConfigError):
        w.set_network(latency=(2, 1))
    w.crash("mx1")
    with pytest.raises(cloudsdial.StateError):
        w.crash("mx1")
    w.boot("mx1")
    with pytest.raises(cloudsdial.StateError):
        w.boot("mx1")


def test_step_budget_is_a_simulation_error():
    w = cloudsdial.World(1)
    w.add_server("mx1", users=["alice"])
    w.add_client("c1")
    w.send("c1", "mx1", to="alice@example.test")
    with pytest.raises(cloudsdial.SimulationError, match="step budget"):
        w.run_until_idle(max_steps=3)


def test_storage_and_network_errors(tmp_path):
    with pytest.raises(cloudsdial.NotFoundError):
        cloudsdial.Scenario.from_file(str(tmp_path / "missing.toml"))
    with pytest.raises(cloudsdial.ConfigError):
        cloudsdial.Server("[server]\nnonsense = 1\n")
    with cloudsdial.Server() as a:
        b = cloudsdial.Server(port=a.port)
        with pytest.raises(cloudsdial.NetworkError):
            b.start()
        b.stop()
