// systemd integration without libsystemd: the sd_notify(3) datagram protocol (Type=notify
// units: READY=1, RELOADING=1, STOPPING=1, STATUS=...) and the journal-stream test that
// picks the "<N>" priority-prefixed log format (sd-daemon(3)). Both are no-ops outside
// systemd: no NOTIFY_SOCKET, no JOURNAL_STREAM. Process-level (environment, one datagram
// socket per message); no Env, no Asio.
#pragma once

#include <string>
#include <string_view>

namespace mail::app {

// Sends `state` ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET (a path, or "@name" for the
// abstract namespace). False when the variable is unset or the datagram cannot be sent;
// a service manager that is not listening must never stop the server.
bool notify_service_manager(std::string_view state);

// "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>" (systemd.service(5), Type=notify-reload).
std::string reloading_state();

// True when stderr is the journal's stream ($JOURNAL_STREAM is "<device>:<inode>" of fd 2),
// i.e. systemd runs us with StandardError=journal: log lines then carry "<N>" priorities and
// no time stamp of their own.
bool stderr_is_journal();

}  // namespace mail::app
