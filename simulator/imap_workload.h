// The IMAP workload (imap-concurrent, issue 14): scripted IMAP clients (imap_client.h) over
// SimNet and implicit TLS (RFC 8314), several at once on one user's mailbox. Each session
// logs in, selects folders (with CONDSTORE, RFC 7162 §3.1.8), APPENDs messages carrying
// "X-Sim-Id: a<n>" (the ImapLedger records what the server answered, with the APPENDUID),
// fetches known UIDs (BODY.PEEK[]), stores flags, expunges (\Deleted + EXPUNGE, UID
// EXPUNGE), moves between folders (UID MOVE, COPYUID), IDLEs for a while, NOOPs, asks
// STATUS and logs out, or hangs up abruptly. Every response code the checker needs
// (APPENDUID, COPYUID, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, FETCH UID + body) is recorded as
// an observation stamped with the ledger's logical clock: `sent` when its command went out,
// `received` when the answer came in. One thread runs the World, so "A received before B
// sent" is a real causal order, and the checker (imap_checker.h) relies only on that.
// Plans (operation kinds, folders, message contents, idle times, hang-ups) are drawn up front
// from the caller's stream; which UID an operation picks is drawn at run time from the
// session's own stream, among what the ledger knows then.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/prng.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "workload.h"
#include "world.h"

namespace mail::sim {

// The operation mix of a (non-liveness) session: each operation after the first SELECT is
// drawn with these relative weights (their sum must be > 0). The defaults are the mix the
// scenario was written with (sum 100, so the draws are what they always were).
struct ImapOpMix {
  std::uint32_t append = 25;       // APPEND to one of `folders`
  std::uint32_t fetch = 15;        // UID FETCH BODY.PEEK[] of a known UID (or a sequence range)
  std::uint32_t store = 8;         // UID STORE of flags
  std::uint32_t expunge = 6;       // \Deleted, then EXPUNGE
  std::uint32_t uid_expunge = 6;   // \Deleted, then UID EXPUNGE
  std::uint32_t move = 8;          // UID MOVE to another of `folders`
  std::uint32_t idle = 6;          // IDLE for `idle`, then DONE
  std::uint32_t noop = 5;
  std::uint32_t status = 7;        // STATUS of INBOX or one of `folders`
  std::uint32_t select = 14;       // SELECT (CONDSTORE) of INBOX or one of `folders`
  std::uint64_t total() const noexcept {
    return std::uint64_t{append} + fetch + store + expunge + uid_expunge + move + idle + noop + status + select;
  }
};

// The folders every new account has (store/index/account_open.cpp): the workload appends to
// and moves between some of these, so it never needs to CREATE one.
inline constexpr std::string_view kImapAccountFolders[] = {"Drafts", "Sent", "Trash", "Junk", "Archive"};

struct ImapWorkloadConfig {
  std::uint16_t port = 993;  // implicit TLS (the servers' imaps listener)
  std::string user;          // the login all sessions share (one mailbox)
  std::string password;
  std::uint32_t sessions = 12;
  DurationRange session_start{0s, 5min};
  Range ops_per_session{4, 14};
  // Appended to, expunged from and moved between. INBOX is only read, flagged and IDLEd on
  // (the SMTP checks own its contents).
  std::vector<std::string> folders{"Drafts", "Archive"};  // of kImapAccountFolders
  ImapOpMix mix;
  Range message_bytes{200, 4000};
  DurationRange idle{1s, 30s};
  std::uint32_t abrupt_disconnect_ppm = 50'000;  // hang up after a random byte count
  std::uint32_t liveness_sessions = 1;  // after healing: read every folder; must succeed
  Duration command_timeout = 2min;
  std::shared_ptr<tls::TlsContext> tls_client;
};

enum class ImapOp : std::uint8_t { select, append, fetch, store, expunge, uid_expunge, move, idle, noop, status, fetch_all };
std::string_view to_string(ImapOp) noexcept;

struct ImapStep {
  ImapOp op = ImapOp::noop;
  std::string folder;        // select / append / status / fetch_all target; move: destination
  std::uint64_t append = 0;  // ImapLedger append id
  Duration idle{0};
  std::uint64_t pick = 0;    // chooses a UID at run time
};

struct ImapSessionPlan {
  std::uint32_t index = 0;  // shares the numbering of the SMTP sessions
  HostId client = 0;
  rt::Endpoint server;
  Duration start{0};
  std::vector<ImapStep> steps;
  std::optional<std::uint64_t> hang_up_after_bytes;
  bool liveness = false;
  std::uint64_t rng_seed = 0;  // the session's run-time choices
};

struct ImapAppend {
  enum class Outcome : std::uint8_t { not_sent, pending, acked, refused, unknown };
  std::uint64_t id = 0;  // "X-Sim-Id: a<id>"
  std::uint32_t session = 0;
  bool liveness = false;
  std::string server;
  std::string folder;
  std::string content;
  Outcome outcome = Outcome::not_sent;
  std::string reply;
  std::uint64_t sent = 0, received = 0;  // logical clock
  // Where the message is now, as far as the client knows (APPENDUID, then COPYUID).
  std::string at_folder;
  std::uint32_t uidvalidity = 0, uid = 0;
  bool removal_requested = false;  // a \Deleted store (then EXPUNGE) was sent for it
  bool move_unknown = false;       // a MOVE of it went out without a COPYUID back
  std::uint64_t located = 0;  // logical time the location above was learnt
  std::uint64_t touched = 0;  // logical time a MOVE or \Deleted store for it was last sent
};
std::string_view to_string(ImapAppend::Outcome) noexcept;

// What a session saw a UID hold or get (APPENDUID, COPYUID destination, FETCH BODY[]).
struct UidObservation {
  enum class Source : std::uint8_t { appenduid, copyuid, fetch };
  Source source = Source::fetch;
  std::string server, folder;
  std::uint32_t uidvalidity = 0, uid = 0;
  std::string sim_id;            // "a12" (an append), "37" (an SMTP message), "" (none)
  std::uint64_t content_hash = 0;  // FNV-1a of the message as fetched or appended
  std::string content;           // fetch only: the bytes (for the corruption checks)
  std::uint32_t session = 0;
  std::uint64_t sent = 0, received = 0;
};

// UIDNEXT / HIGHESTMODSEQ of a folder as a SELECT or STATUS answered it.
struct CounterObservation {
  enum class Kind : std::uint8_t { uidnext, highestmodseq };
  Kind kind = Kind::uidnext;
  std::string server, folder;
  std::uint32_t uidvalidity = 0;
  std::uint64_t value = 0;
  std::uint32_t session = 0;
  std::uint64_t sent = 0, received = 0;
};

// The folder contents a liveness session read at the end (UID FETCH 1:*).
struct FinalView {
  std::string server, folder;
  std::uint64_t sent = 0;
  std::map<std::string, int> sim_ids;  // copies of each X-Sim-Id
};

class ImapLedger {
 public:
  std::uint64_t tick() { return ++clock_; }  // the logical clock: every send and receive
  std::uint64_t now() const noexcept { return clock_; }
  ImapAppend& add_append();
  ImapAppend& append(std::uint64_t id) { return appends_.at(id - 1); }
  const ImapAppend* find_append(std::uint64_t id) const {
    return id >= 1 && id <= appends_.size() ? &appends_[id - 1] : nullptr;
  }
  const std::vector<ImapAppend>& appends() const noexcept { return appends_; }

  std::vector<UidObservation> uids;
  std::vector<CounterObservation> counters;
  std::vector<FinalView> finals;
  // Index losses (the scenario deleted index.sqlite* while the host was down): when, and where.
  std::vector<std::pair<std::string, std::uint64_t>> index_losses;
  std::vector<std::string> notes;  // UIDVALIDITY changes after an index loss, ...
  std::vector<std::string> problems;  // protocol oddities (a violation)

 private:
  std::uint64_t clock_ = 0;
  std::vector<ImapAppend> appends_;
};

// "X-Sim-Id: ..." of a message's header (the value up to CRLF); "" when absent.
std::string header_sim_id(std::string_view message);

// `count` sessions on `servers` (their IMAP port is config.port). Liveness sessions go to
// the servers in turn (session k to servers[k % size]), so `size` of them read every
// server's folders; the others to a server drawn at random.
std::vector<ImapSessionPlan> plan_imap_sessions(Prng& rng, const ImapWorkloadConfig& config, std::uint32_t count,
                                                std::uint32_t first_index, const std::vector<HostId>& clients,
                                                const std::vector<rt::Endpoint>& servers, bool liveness,
                                                ImapLedger& ledger);

rt::Task<void> run_imap_session(rt::Env& env, ImapSessionPlan plan, ImapWorkloadConfig config, ImapLedger& ledger,
                                SessionStats& stats);

void launch_imap_sessions(World& world, Instant phase_start, std::vector<ImapSessionPlan> plans,
                          const ImapWorkloadConfig& config, ImapLedger& ledger, SessionStats& stats);

}  // namespace mail::sim
