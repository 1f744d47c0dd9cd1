// IMAP invariant checks (see imap_checker.h).
#include "imap_checker.h"

#include <map>
#include <set>
#include <tuple>

#include "core/hash.h"
#include "store/index/folder_layout.h"
#include "store/maildir.h"

namespace mail::sim {

namespace {

using FolderKey = std::tuple<std::string, std::string, std::uint32_t>;  // server, folder, uidvalidity

std::string where(const std::string& server, const std::string& folder, std::uint32_t uv) {
  return server + " " + folder + " (UIDVALIDITY " + std::to_string(uv) + ")";
}

std::string_view source_name(UidObservation::Source s) {
  switch (s) {
    case UidObservation::Source::appenduid: return "APPENDUID";
    case UidObservation::Source::copyuid: return "COPYUID";
    case UidObservation::Source::fetch: return "FETCH";
  }
  return "?";
}

std::string who(const UidObservation& o) {
  return std::string(source_name(o.source)) + " uid " + std::to_string(o.uid) + " (session " +
         std::to_string(o.session) + ", sent at " + std::to_string(o.sent) + ")";
}

std::optional<std::uint64_t> append_id(std::string_view sim_id) {
  if (sim_id.size() < 2 || sim_id[0] != 'a') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : sim_id.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::optional<std::uint64_t> smtp_id(std::string_view sim_id) {
  if (sim_id.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : sim_id) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

bool index_lost_between(const ImapLedger& l, const std::string& server, std::uint64_t from, std::uint64_t to) {
  for (const auto& [s, at] : l.index_losses) {
    if (s == server && at >= from && at <= to) return true;
  }
  return false;
}

}  // namespace

void check_imap_protocol(const ImapLedger& ledger, const Ledger& smtp, std::vector<Violation>& out,
                         std::vector<std::string>& notes, ImapTotals& totals) {
  totals.uid_observations = ledger.uids.size();
  totals.counter_observations = ledger.counters.size();
  for (const auto& p : ledger.problems) out.push_back({"imap-client", p});

  std::map<FolderKey, std::vector<const UidObservation*>> uids;
  for (const auto& o : ledger.uids) uids[{o.server, o.folder, o.uidvalidity}].push_back(&o);
  std::map<FolderKey, std::vector<const CounterObservation*>> counters;
  for (const auto& c : ledger.counters) counters[{c.server, c.folder, c.uidvalidity}].push_back(&c);

  for (const auto& [key, obs] : uids) {
    const auto& [server, folder, uv] = key;
    // One UID, one message, for ever.
    std::map<std::uint32_t, const UidObservation*> first;
    for (const UidObservation* o : obs) {
      auto [it, fresh] = first.emplace(o->uid, o);
      const UidObservation* f = it->second;
      if (!fresh && (f->sim_id != o->sim_id || f->content_hash != o->content_hash)) {
        out.push_back({"uid-reused", where(server, folder, uv) + ": uid " + std::to_string(o->uid) + " held X-Sim-Id " +
                                         (f->sim_id.empty() ? "(none)" : f->sim_id) + " by " + who(*f) + ", then " +
                                         (o->sim_id.empty() ? "(none)" : o->sim_id) +
                                         (f->sim_id == o->sim_id ? " with other content" : "") + " by " + who(*o)});
      }
    }
    // A UID assigned is above every UID known before its command went out.
    for (const UidObservation* b : obs) {
      if (b->source == UidObservation::Source::fetch) continue;
      for (const UidObservation* a : obs) {
        if (a->received == 0 || a->received >= b->sent || a->uid < b->uid) continue;
        out.push_back({"uid-not-ascending", where(server, folder, uv) + ": " + who(*b) + " not above " + who(*a) +
                                                " received at " + std::to_string(a->received)});
        break;
      }
    }
    // UIDNEXT above every UID known before.
    if (auto c = counters.find(key); c != counters.end()) {
      for (const CounterObservation* n : c->second) {
        if (n->kind != CounterObservation::Kind::uidnext) continue;
        for (const UidObservation* a : obs) {
          if (a->received == 0 || a->received >= n->sent || a->uid < n->value) continue;
          out.push_back({"uidnext-decreased", where(server, folder, uv) + ": UIDNEXT " + std::to_string(n->value) +
                                                  " (session " + std::to_string(n->session) + ") not above " + who(*a)});
          break;
        }
      }
    }
    // The content: what was appended, or what SMTP submitted (after the Received: field).
    for (const UidObservation* o : obs) {
      if (o->source != UidObservation::Source::fetch) continue;
      if (auto id = append_id(o->sim_id)) {
        const ImapAppend* e = ledger.find_append(*id);
        if (e == nullptr) {
          out.push_back({"phantom", where(server, folder, uv) + ": " + who(*o) + " holds " + o->sim_id + ", never planned"});
        } else if (e->content != o->content) {
          out.push_back({"corrupt", where(server, folder, uv) + ": " + who(*o) + " of " + o->sim_id + " is " +
                                        std::to_string(o->content.size()) + " bytes unlike the " +
                                        std::to_string(e->content.size()) + " appended"});
        } else if (e->outcome == ImapAppend::Outcome::not_sent) {
          out.push_back({"phantom", where(server, folder, uv) + ": " + who(*o) + " holds " + o->sim_id + ", never sent"});
        }
      } else if (auto sid = smtp_id(o->sim_id)) {
        const LedgerEntry* e = smtp.find(*sid);
        auto [received, rest] = split_received(o->content);
        if (e != nullptr && (received.empty() || rest != e->content)) {
          out.push_back({"corrupt", where(server, folder, uv) + ": " + who(*o) + " of SMTP message " + o->sim_id +
                                        " differs from what was submitted"});
        }
      }
    }
  }

  for (const auto& [key, obs] : counters) {
    const auto& [server, folder, uv] = key;
    for (const CounterObservation* b : obs) {
      for (const CounterObservation* a : obs) {
        if (a->kind != b->kind || a->received >= b->sent || a->value <= b->value) continue;
        const bool next = a->kind == CounterObservation::Kind::uidnext;
        out.push_back({next ? "uidnext-decreased" : "modseq-decreased",
                       where(server, folder, uv) + ": " + (next ? "UIDNEXT " : "HIGHESTMODSEQ ") +
                           std::to_string(b->value) + " (session " + std::to_string(b->session) + ", sent at " +
                           std::to_string(b->sent) + ") after " + std::to_string(a->value) + " (session " +
                           std::to_string(a->session) + ", received at " + std::to_string(a->received) + ")"});
        break;
      }
    }
  }

  // UIDVALIDITY: per (server, folder), changed only across an index loss, never down.
  struct Seen {
    std::uint32_t uv;
    std::uint64_t sent, received;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Seen>> seen;
  for (const auto& o : ledger.uids) seen[{o.server, o.folder}].push_back({o.uidvalidity, o.sent, o.received});
  for (const auto& c : ledger.counters) seen[{c.server, c.folder}].push_back({c.uidvalidity, c.sent, c.received});
  std::set<std::tuple<std::string, std::string, std::uint32_t, std::uint32_t>> reported;
  for (const auto& [key, list] : seen) {
    const auto& [server, folder] = key;
    for (const Seen& b : list) {
      for (const Seen& a : list) {
        if (a.received == 0 || a.received >= b.sent || a.uv == b.uv) continue;
        if (!reported.insert({server, folder, a.uv, b.uv}).second) continue;
        const std::string what = server + " " + folder + ": UIDVALIDITY " + std::to_string(a.uv) + " then " +
                                 std::to_string(b.uv);
        if (a.uv > b.uv) {
          out.push_back({"uidvalidity-decreased", what});
        } else if (!index_lost_between(ledger, server, a.received, b.sent)) {
          out.push_back({"uidvalidity-changed", what + " without an index loss in between"});
        } else {
          ++totals.uidvalidity_changes;
          notes.push_back(what + " after an index loss");
        }
      }
    }
  }
}

void check_imap_mailbox(const ImapLedger& ledger, const MailServerConfig& server, std::string_view server_address,
                        std::string_view user, const std::vector<std::string>& folders, const MailboxView& view,
                        std::vector<Violation>& out) {
  std::map<std::uint64_t, std::map<std::string, int>> found;  // append id -> folder -> copies
  const std::string maildir = maildir_of(server, user);
  for (const auto& folder : folders) {
    const std::string dir = maildir + "/" + store::index::folder_dir(folder);
    for (store::MaildirFolder sub : store::maildir_message_folders) {
      const std::string d = dir + "/" + std::string(store::to_string(sub));
      (void)view.disk->visit(d, [&](std::string_view name, bool is_dir, std::string_view data) {
        if (is_dir) return;
        const std::string sim_id = header_sim_id(data);
        const auto id = append_id(sim_id);
        const ImapAppend* e = id ? ledger.find_append(*id) : nullptr;
        const std::string path = d + "/" + std::string(name);
        if (e == nullptr || e->server != server_address) {
          out.push_back({"phantom", view.label + ": " + path + " (X-Sim-Id " + sim_id + ") was never appended here"});
          return;
        }
        if (data != e->content) {
          out.push_back({"corrupt", view.label + ": " + path + " (" + sim_id + ") differs from what was appended (" +
                                        std::to_string(data.size()) + " vs " + std::to_string(e->content.size()) +
                                        " bytes)"});
          return;
        }
        ++found[e->id][folder];
      });
    }
  }
  for (const auto& e : ledger.appends()) {
    if (e.server != server_address) continue;
    const std::string what = view.label + ": a" + std::to_string(e.id);
    int copies = 0;
    if (auto f = found.find(e.id); f != found.end()) {
      for (const auto& [folder, n] : f->second) copies += n;
    }
    if (copies > 0 && e.outcome == ImapAppend::Outcome::not_sent) out.push_back({"phantom", what + " was never sent"});
    if (copies > 0 && e.outcome == ImapAppend::Outcome::refused) {
      out.push_back({"refused-but-delivered", what + " is stored though APPEND was answered " + e.reply});
    }
    if (copies > 1 && !e.move_unknown) out.push_back({"duplicate", what + " is stored " + std::to_string(copies) + " times"});
    if (e.outcome != ImapAppend::Outcome::acked || e.removal_requested) continue;
    if (e.move_unknown) {
      if (copies == 0) out.push_back({"lost-after-ack", what + " (APPEND " + e.reply + ") is in no folder"});
      continue;
    }
    int here = 0;
    if (auto f = found.find(e.id); f != found.end()) {
      if (auto g = f->second.find(e.at_folder); g != f->second.end()) here = g->second;
    }
    if (here == 0) {
      out.push_back({"lost-after-ack", what + " (APPEND " + e.reply + ", now uid " + std::to_string(e.uid) + " of " +
                                           e.at_folder + ") is missing from " + e.at_folder});
    }
  }
}

void check_imap_final(const ImapLedger& ledger, std::vector<Violation>& out) {
  for (const auto& f : ledger.finals) {
    for (const auto& e : ledger.appends()) {
      if (e.server != f.server || e.outcome != ImapAppend::Outcome::acked || e.removal_requested || e.move_unknown) continue;
      if (e.at_folder != f.folder || e.located >= f.sent || e.touched >= f.sent) continue;
      std::string id = std::to_string(e.id);
      id.insert(id.begin(), 'a');  // not "a" + ...: GCC 12 -Wrestrict misfires (make werror)
      auto it = f.sim_ids.find(id);
      if (it == f.sim_ids.end()) {
        out.push_back({"lost-after-ack", f.server + " " + f.folder + ": " + id + " (APPEND " + e.reply +
                                             ") is not in the final UID FETCH 1:*"});
      } else if (it->second > 1) {
        out.push_back({"duplicate", f.server + " " + f.folder + ": " + id + " shows " + std::to_string(it->second) +
                                        " times in the final UID FETCH 1:*"});
      }
    }
  }
  for (const auto& e : ledger.appends()) {
    if (!e.liveness || e.outcome == ImapAppend::Outcome::acked) continue;
    std::string id = std::to_string(e.id);
    id.insert(id.begin(), 'a');
    out.push_back({"liveness", id + " appended after healing was " +
                                   std::string(to_string(e.outcome)) + (e.reply.empty() ? "" : " (" + e.reply + ")")});
  }
}

}  // namespace mail::sim
