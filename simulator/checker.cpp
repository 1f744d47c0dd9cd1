// Invariant checks over the ledger and the simulated disks (see checker.h).
#include "checker.h"

#include <map>
#include <set>

#include "store/directory.h"
#include "store/maildir.h"

namespace mail::sim {

std::pair<std::string_view, std::string_view> split_received(std::string_view stored) {
  // Final delivery prepends "Return-Path: <...>" and then one Received: field (RFC 5321 §4.4).
  constexpr std::string_view kReturnPath = "Return-Path:";
  constexpr std::string_view kName = "Received:";
  std::size_t start = 0;
  if (stored.substr(0, kReturnPath.size()) == kReturnPath) {
    const std::size_t eol = stored.find("\r\n");
    if (eol == std::string_view::npos) return {std::string_view(), stored};
    start = eol + 2;
  }
  if (stored.substr(start, kName.size()) != kName) return {std::string_view(), stored};
  std::size_t pos = start;
  for (;;) {
    const std::size_t eol = stored.find("\r\n", pos);
    if (eol == std::string_view::npos) return {stored, std::string_view()};
    pos = eol + 2;
    if (pos >= stored.size() || (stored[pos] != ' ' && stored[pos] != '\t')) break;
  }
  return {stored.substr(0, pos), stored.substr(pos)};
}

namespace {

std::optional<std::uint64_t> sim_id(std::string_view content) {
  constexpr std::string_view kHeader = "\r\nX-Sim-Id: ";
  const std::size_t at = content.find(kHeader);
  const std::size_t body = content.find("\r\n\r\n");
  if (at == std::string_view::npos || (body != std::string_view::npos && at > body)) return std::nullopt;
  std::uint64_t id = 0;
  std::size_t i = at + kHeader.size();
  if (i >= content.size() || content[i] < '0' || content[i] > '9') return std::nullopt;
  for (; i < content.size() && content[i] >= '0' && content[i] <= '9'; ++i) id = id * 10 + (content[i] - '0');
  return id;
}

// The distinct users a message was accepted for, resolved the way the server resolves.
std::set<std::string> accepted_users(const LedgerEntry& e, const store::Directory& dir, bool only_accepted = true) {
  std::set<std::string> users;
  for (std::size_t i = 0; i < e.recipients.size(); ++i) {
    if (only_accepted && (i >= e.rcpt_accepted.size() || !e.rcpt_accepted[i])) continue;
    const auto& r = e.recipients[i];
    const auto at = r.rfind('@');
    auto found = dir.lookup(r.substr(0, at), r.substr(at + 1));
    if (found.kind == store::Lookup::local_user) users.insert(found.user);
  }
  return users;
}

}  // namespace

void check_mailboxes(const Ledger& ledger, const MailServerConfig& server, std::string_view server_address,
                     const MailboxView& view, std::vector<Violation>& out,
                     const std::set<std::pair<std::string, std::uint64_t>>* removed) {
  const store::Directory dir(server.directory);
  // (user, id) -> copies found
  std::map<std::pair<std::string, std::uint64_t>, int> found;
  for (const auto& u : server.directory.users) {
    for (store::MaildirFolder folder : store::maildir_message_folders) {
      const std::string d = store::maildir_folder_path(server.data_dir, u.name, folder);
      // A mailbox that does not exist (yet) holds nothing: visit() fails, nothing is found.
      (void)view.disk->visit(d, [&](std::string_view name, bool is_dir, std::string_view data) {
        auto path = [&] { return d + "/" + std::string(name); };
        if (is_dir) {
          out.push_back({"corrupt", view.label + ": unexpected directory " + path()});
          return;
        }
        auto [received, rest] = split_received(data);
        if (received.empty()) {
          out.push_back({"corrupt", view.label + ": " + path() + " has no Received: header (" +
                                        std::to_string(data.size()) + " bytes)"});
          return;
        }
        const auto id = sim_id(rest);
        const LedgerEntry* e = id ? ledger.find(*id) : nullptr;
        if (e == nullptr) {
          out.push_back({"phantom", view.label + ": " + path() + " was never submitted"});
          return;
        }
        if (e->server != server_address) {
          out.push_back({"phantom", view.label + ": " + path() + " (message " + std::to_string(e->id) +
                                        ") was sent to " + e->server});
          return;
        }
        if (rest != e->content) {
          out.push_back({"corrupt", view.label + ": " + path() + " (message " + std::to_string(e->id) +
                                        ") differs from what was submitted (" + std::to_string(rest.size()) + " vs " +
                                        std::to_string(e->content.size()) + " bytes)"});
          return;
        }
        ++found[{u.name, e->id}];
      });
    }
  }
  // What was found must be explained by the ledger...
  for (const auto& [key, copies] : found) {
    // Not a structured binding: clang 14 cannot capture those in the lambda below.
    const std::string& user = key.first;
    const std::uint64_t id = key.second;
    const LedgerEntry& e = *ledger.find(id);
    auto what = [&] { return view.label + ": message " + std::to_string(id) + " in " + user + "'s mailbox"; };
    if (copies > 1) out.push_back({"duplicate", what() + " " + std::to_string(copies) + " times"});
    if (e.outcome == LedgerEntry::Outcome::not_sent) out.push_back({"phantom", what() + " but it was never sent"});
    if (e.outcome == LedgerEntry::Outcome::refused) {
      out.push_back({"refused-but-delivered", what() + " though the server answered " + e.reply});
    }
    // RFC 4954 §6 / RFC 6409 §4.3: the submission port takes no mail before a successful
    // AUTH, whatever the outcome the client saw.
    if (e.submit != SubmitAuth::none && !e.authenticated) {
      out.push_back({"unauthenticated-delivered", what() + " though its submission session (" +
                                                      std::string(to_string(e.submit)) + ") never authenticated"});
    }
    // An acked message belongs to its accepted recipients only; one with an unknown outcome
    // (RCPT replies possibly lost) at least to one of its recipients.
    const bool acked = e.outcome == LedgerEntry::Outcome::acked;
    if ((acked || e.outcome == LedgerEntry::Outcome::unknown) && accepted_users(e, dir, acked).count(user) == 0) {
      out.push_back({"misdelivered", what() + " but no " + (acked ? "accepted " : "") + "recipient maps to " + user});
    }
  }
  // ...and every acknowledged message must be there, once per accepted user.
  for (const auto& e : ledger.entries()) {
    if (e.outcome != LedgerEntry::Outcome::acked || e.server != server_address) continue;
    for (const auto& user : accepted_users(e, dir)) {
      if (removed != nullptr && removed->count({user, e.id}) != 0) continue;
      if (found.count({user, e.id}) == 0) {
        out.push_back({"lost-after-ack", view.label + ": message " + std::to_string(e.id) + " acked (" + e.reply +
                                             ") is missing from " + user + "'s mailbox"});
      }
    }
  }
}

void check_liveness(const Ledger& ledger, const SessionStats& stats, std::vector<Violation>& out) {
  if (stats.finished != stats.started) {
    out.push_back({"stuck-session", std::to_string(stats.started - stats.finished) + " of " +
                                        std::to_string(stats.started) + " client sessions never finished"});
  }
  for (const auto& e : ledger.entries()) {
    if (!e.liveness || e.outcome == LedgerEntry::Outcome::acked) continue;
    out.push_back({"liveness", "message " + std::to_string(e.id) + " sent after healing was " +
                                   std::string(to_string(e.outcome)) + (e.reply.empty() ? "" : " (" + e.reply + ")")});
  }
  for (const auto& p : stats.problems) out.push_back({"client", p});
}

void check_memory(const SessionStats& stats, std::uint64_t client_bytes_max, std::uint64_t server_bytes_max,
                  std::vector<Violation>& out) {
  if (stats.client_buffered_max > client_bytes_max) {
    out.push_back({"memory", "a client session buffered " + std::to_string(stats.client_buffered_max) +
                                 " bytes (bound " + std::to_string(client_bytes_max) + ")"});
  }
  if (stats.server_buffered_max > server_bytes_max) {
    out.push_back({"memory", "a server connection buffered " + std::to_string(stats.server_buffered_max) +
                                 " bytes (bound " + std::to_string(server_bytes_max) + ")"});
  }
}

void check_submission(const Ledger& ledger, std::vector<Violation>& out) {
  for (const auto& e : ledger.entries()) {
    if (e.submit == SubmitAuth::none) continue;
    const std::string what = "message " + std::to_string(e.id) + " (submission, " + std::string(to_string(e.submit)) + ")";
    // A wrong password must never get 235 (and no_auth never sends AUTH at all).
    if (e.submit != SubmitAuth::good && e.authenticated) out.push_back({"auth-bypass", what + " authenticated"});
    if (e.outcome == LedgerEntry::Outcome::acked && !e.authenticated)
      out.push_back({"unauthenticated-acked", what + " was acked (" + e.reply + ") without a successful AUTH"});
  }
}

}  // namespace mail::sim
