# cloudsdial: Python bindings of Cloudsdial Mail (docs/PYTHON.md). The simulator (World,
# Scenario, run_seeds, IMAP and POP3 sessions: cloudsdial.imap, cloudsdial.pop3), the embedded real server (Server),
# mailbox inspection through the store (Folder), the sans-IO SMTP and POP3 sessions
# (cloudsdial.smtp, cloudsdial.pop3), a pure-Python JMAP client (cloudsdial.jmap.JmapClient)
# and the error classes; the pytest plugin is cloudsdial.pytest_plugin.
from ._core import (CloudsdialError, ConfigError, NetworkError, NotFoundError, SimTimeoutError,
                    SimulationError, StateError, StorageError, __version__, is_valid_alias, is_valid_user_name)
from .sim import (RunReport, Scenario, ScenarioRun, SentMessage, Session, SimEvent, StoredMessage, Violation,
                  World, make_message, parse_email, run_scenario, run_seeds)
from .server import ReceivedMessage, Server
from .imap import ImapReply, ImapSession
from .pop3 import Pop3Reply, Pop3Session
from .store import Folder, FolderMessage
from .jmap import JmapClient
from . import imap, jmap, pop3, smtp

__all__ = [
    "World", "Session", "SentMessage", "StoredMessage", "Violation", "SimEvent", "Scenario", "ScenarioRun",
    "RunReport", "run_scenario", "run_seeds", "make_message", "parse_email", "Server", "ReceivedMessage", "smtp",
    "pop3", "imap", "ImapSession", "ImapReply", "Pop3Session", "Pop3Reply", "Folder", "FolderMessage",
    "CloudsdialError", "ConfigError", "NotFoundError", "StateError", "StorageError", "NetworkError",
    "SimTimeoutError", "SimulationError", "__version__", "is_valid_user_name", "is_valid_alias", "jmap", "JmapClient",
]
