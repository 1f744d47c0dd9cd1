// POP3 checks (see pop3_checker.h).
#include "pop3_checker.h"

#include <map>

#include "imap_workload.h"  // header_sim_id
#include "store/maildir.h"

namespace mail::sim {

namespace {

using End = Pop3SessionRecord::End;

bool may_have_updated(End e) { return e == End::committed || e == End::update_unknown || e == End::update_failed; }

std::optional<std::uint64_t> smtp_id(std::string_view sim_id) {
  if (sim_id.empty() || sim_id.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : sim_id) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string who(const Pop3SessionRecord& s) {
  return "pop3 session " + std::to_string(s.index) + " on " + s.server + " (" + std::string(to_string(s.end)) + ")";
}

// UIDLs marked on `server` by sessions other than `self` that may have run UPDATE.
std::set<std::string> marked_by_others(const Pop3Ledger& ledger, std::string_view server, const Pop3SessionRecord* self) {
  std::set<std::string> out;
  for (const auto& s : ledger.sessions) {
    if (&s == self || s.server != server || !may_have_updated(s.end)) continue;
    for (const auto& [uidl, sim] : s.marked) out.insert(uidl);
  }
  return out;
}

}  // namespace

std::set<std::pair<std::string, std::uint64_t>> pop3_removable(const Pop3Ledger& ledger, std::string_view server,
                                                               const std::string& user) {
  std::set<std::pair<std::string, std::uint64_t>> out;
  for (const auto& s : ledger.sessions) {
    if (s.server != server || !may_have_updated(s.end)) continue;
    for (const auto& [uidl, sim] : s.marked) {
      if (auto id = smtp_id(sim)) out.insert({user, *id});
    }
  }
  return out;
}

void check_pop3(const Pop3Ledger& ledger, const Ledger& smtp, std::vector<Violation>& out, Pop3Totals& totals) {
  for (const auto& p : ledger.problems) out.push_back({"pop3-client", p});
  totals.in_use = ledger.in_use;
  totals.deles = ledger.deles_acked;
  totals.retrs = ledger.retrs.size();
  for (const auto& s : ledger.sessions) {
    if (s.end == End::committed) ++totals.committed;
    if (s.end == End::update_unknown || s.end == End::update_failed) ++totals.update_unknown;
    if (s.end == End::aborted) ++totals.aborted;
    std::set<std::string> seen;
    for (const auto& [uidl, size] : s.snapshot) {
      if (!seen.insert(uidl).second) out.push_back({"uidl-duplicate", who(s) + " lists UIDL " + uidl + " twice"});
    }
    if (s.liveness && s.end != End::committed) {
      out.push_back({"liveness", who(s) + " did not end with QUIT +OK" + (s.reply.empty() ? "" : ": " + s.reply)});
    }
  }
  // RETRs: sizes, contents, UIDL <-> message both ways (per server).
  std::map<std::pair<std::string, std::string>, const Pop3Retr*> by_uidl;
  std::map<std::pair<std::string, std::string>, const Pop3Retr*> by_sim;
  for (const auto& r : ledger.retrs) {
    const std::string what = "RETR of UIDL " + r.uidl + " (X-Sim-Id " + r.sim_id + ") by pop3 session " +
                             std::to_string(r.session) + " on " + r.server;
    if (r.content.size() != r.listed) {
      out.push_back({"size-mismatch", what + ": LIST said " + std::to_string(r.listed) + " octets, RETR sent " +
                                          std::to_string(r.content.size())});
    }
    if (auto id = smtp_id(r.sim_id)) {
      const LedgerEntry* e = smtp.find(*id);
      const auto [received, rest] = split_received(r.content);
      if (e == nullptr || received.empty() || rest != e->content) {
        out.push_back({"corrupt", what + " differs from what was submitted"});
      }
    } else {
      out.push_back({"corrupt", what + ": no X-Sim-Id of a submitted message"});
    }
    auto [u, fresh_u] = by_uidl.try_emplace({r.server, r.uidl}, &r);
    if (!fresh_u && u->second->content != r.content) {
      out.push_back({"uidl-reused", what + " is not what pop3 session " + std::to_string(u->second->session) +
                                        " retrieved under that UIDL (X-Sim-Id " + u->second->sim_id + ")"});
    }
    if (r.sim_id.empty()) continue;
    auto [m, fresh_m] = by_sim.try_emplace({r.server, r.sim_id}, &r);
    if (!fresh_m && m->second->uidl != r.uidl) {
      out.push_back({"uidl-changed", what + ": pop3 session " + std::to_string(m->second->session) +
                                         " retrieved it as UIDL " + m->second->uidl});
    }
  }
  // The maildrop lock: B logged in (+OK) after A had and before A sent the QUIT that got +OK.
  for (const auto& a : ledger.sessions) {
    if (a.end != End::committed) continue;
    for (const auto& b : ledger.sessions) {
      if (&a == &b || b.server != a.server || b.login_received == 0) continue;
      const bool b_in = b.end == End::aborted || may_have_updated(b.end);
      if (b_in && b.login_sent > a.login_received && b.login_received < a.quit_sent) {
        out.push_back({"lock-not-exclusive", "pop3 session " + std::to_string(b.index) + " logged in while " + who(a) +
                                                 " held the maildrop"});
      }
    }
  }
  // UPDATE: what later sessions list.
  for (const auto& c : ledger.sessions) {
    if (c.marked.empty()) continue;
    for (const auto& s : ledger.sessions) {
      if (s.server != c.server || &s == &c || s.login_sent <= c.ended || s.snapshot.empty()) continue;
      if (c.end != End::committed) continue;
      for (const auto& [uidl, size] : s.snapshot) {
        if (c.marked.count(uidl) != 0) {
          out.push_back({"deleted-resurrected", "UIDL " + uidl + " (X-Sim-Id " + c.marked.at(uidl) + ") DELEd by " +
                                                    who(c) + " is listed by pop3 session " + std::to_string(s.index) +
                                                    " that logged in after " + c.reply});
        }
      }
    }
  }
  // The final view: the last liveness session's snapshot on each server.
  std::map<std::string, const Pop3SessionRecord*> final_view;
  for (const auto& s : ledger.sessions) {
    if (s.liveness && s.end == End::committed) final_view[s.server] = &s;
  }
  for (const auto& [server, f] : final_view) {
    std::set<std::string> listed;
    for (const auto& [uidl, size] : f->snapshot) listed.insert(uidl);
    const std::set<std::string> any_update = marked_by_others(ledger, server, nullptr);
    for (const auto& s : ledger.sessions) {
      if (s.server != server || s.marked.empty() || s.login_sent > f->login_sent) continue;
      if (!may_have_updated(s.end)) {
        for (const auto& [uidl, sim] : s.marked) {
          if (any_update.count(uidl) == 0 && listed.count(uidl) == 0) {
            out.push_back({"deleted-without-quit", "UIDL " + uidl + " (X-Sim-Id " + sim + ") marked by " + who(s) +
                                                       " is gone, though only sessions without QUIT marked it"});
          }
        }
        continue;
      }
      if (s.end == End::committed) continue;  // deleted-resurrected covers it
      const std::set<std::string> others = marked_by_others(ledger, server, &s);
      std::vector<std::string> gone, kept;
      for (const auto& [uidl, sim] : s.marked) {
        if (others.count(uidl) != 0) continue;
        (listed.count(uidl) != 0 ? kept : gone).push_back(uidl + " (X-Sim-Id " + sim + ")");
      }
      if (!gone.empty() && !kept.empty()) {
        out.push_back({"half-update", who(s) + ": " + std::to_string(gone.size()) + " of its marked messages are gone (" +
                                          gone.front() + ", ...) and " + std::to_string(kept.size()) + " remain (" +
                                          kept.front() + ", ...) in pop3 session " + std::to_string(f->index) +
                                          "'s final listing"});
      }
    }
  }
}

void check_pop3_maildrop(const Pop3Ledger& ledger, const MailServerConfig& server, std::string_view server_address,
                         std::string_view user, const MailboxView& view, std::vector<Violation>& out) {
  std::set<std::string> stored;  // X-Sim-Ids in the maildrop
  for (store::MaildirFolder folder : store::maildir_message_folders) {
    const std::string d = store::maildir_folder_path(server.data_dir, user, folder);
    (void)view.disk->visit(d, [&](std::string_view, bool is_dir, std::string_view data) {
      if (!is_dir) stored.insert(header_sim_id(data));
    });
  }
  for (const auto& s : ledger.sessions) {
    if (s.server != server_address || s.marked.empty() || !may_have_updated(s.end)) continue;
    if (s.end == End::committed) {
      for (const auto& [uidl, sim] : s.marked) {
        if (stored.count(sim) != 0) {
          out.push_back({"deleted-still-stored", view.label + ": X-Sim-Id " + sim + " (UIDL " + uidl + ") DELEd by " +
                                                     who(s) + " is still in " + std::string(user) + "'s Maildir"});
        }
      }
      continue;
    }
    const std::set<std::string> others = marked_by_others(ledger, server_address, &s);
    std::size_t gone = 0, kept = 0;
    for (const auto& [uidl, sim] : s.marked) {
      if (others.count(uidl) != 0) continue;
      ++(stored.count(sim) != 0 ? kept : gone);
    }
    if (gone > 0 && kept > 0) {
      out.push_back({"half-update", view.label + ": " + who(s) + ": " + std::to_string(gone) +
                                        " of its marked messages are gone from the Maildir and " +
                                        std::to_string(kept) + " remain"});
    }
  }
}

}  // namespace mail::sim
