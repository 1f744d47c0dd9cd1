// Relay checkers (see relay_checker.h).
#include "relay_checker.h"

#include <algorithm>

#include "store/maildir.h"

namespace mail::sim {

namespace {

// Replies the client made up after the connection failed mid-conversation (ClientSession's
// local_reply): the remote may have stored the message before its reply was lost.
bool lost_reply(std::string_view reply) {
  for (std::string_view prefix : {std::string_view("451 4.4.2 connection closed by server"),
                                  std::string_view("451 4.4.2 timeout waiting for"),
                                  std::string_view("451 4.5.0 protocol error from server"),
                                  std::string_view("451 4.4.0 ")}) {
    if (reply.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::string micros(Duration d) { return std::to_string(d.count()) + "us"; }

// The backoff after `attempts` failed attempts (RFC 5321 §4.5.4.1; retry_schedule.h).
Duration backoff(const smtp::RetryPolicy& p, std::uint32_t attempts) {
  Duration d = p.first;
  for (std::uint32_t i = 1; i < attempts && d < p.max; ++i) d = d * static_cast<std::int64_t>(p.factor);
  return std::min(d, p.max);
}

}  // namespace

void RelayLog::crashed(HostId host, Instant at) {
  crashes_.emplace_back(host, at);
  // The reloaded queue may have lost unsynced records: its attempt counts are its own now.
  std::erase_if(tracks_, [host](const auto& kv) { return std::get<0>(kv.first) == host; });
}

void RelayLog::observe(HostId host, Instant at, std::string_view kind, std::string_view detail) {
  if (kind.substr(0, 4) != "log.") return;
  const std::size_t colon = detail.find(": ");
  if (colon == std::string_view::npos || colon == 0 || detail.find(' ') < colon) return;
  const std::string qid(detail.substr(0, colon));
  const std::string_view rest = detail.substr(colon + 2);
  if (rest.substr(0, 28) == "cannot record delivery state") {
    // Retried after a minute with the same attempt count: not the schedule's business.
    std::erase_if(tracks_, [&](const auto& kv) { return std::get<0>(kv.first) == host && std::get<1>(kv.first) == qid; });
    return;
  }
  constexpr std::string_view kDsn = "sender delivery status notification: ";
  if (rest.substr(0, kDsn.size()) == kDsn) {
    // RFC 3461 §6.2: never a DSN about a DSN (whose sender is <>).
    if (dsn_ids_.contains({host, qid})) violations_.push_back({"dsn-of-dsn", qid + " is a DSN and got a DSN"});
    dsn_ids_.emplace(host, std::string(rest.substr(kDsn.size())));
    return;
  }
  if (rest.substr(0, 4) != "to=<") return;
  const std::size_t gt = rest.find('>');
  const std::size_t st = rest.find(", status=");
  if (gt == std::string_view::npos || st == std::string_view::npos) return;
  const std::string rcpt(rest.substr(4, gt - 4));
  const std::string_view status_and_reply = rest.substr(st + 9);
  const std::size_t paren = status_and_reply.find(" (");
  const std::string_view status = status_and_reply.substr(0, paren);
  const std::string_view reply =
      paren == std::string_view::npos ? std::string_view() : status_and_reply.substr(paren + 2);
  const Key key{host, qid, rcpt};
  auto it = tracks_.find(key);
  const auto policy = policies_.find(host);
  if (it != tracks_.end() && it->second.deferrals > 0 && policy != policies_.end()) {
    // The attempt that ended now started no earlier than the scheduled retry: the backoff
    // after the previous deferral, or the lifetime's end when that comes first.
    Duration need = backoff(policy->second, it->second.deferrals);
    if (arrival_) {
      if (auto arrived = arrival_(host, qid)) need = std::min(need, *arrived + policy->second.lifetime - it->second.last_deferral);
    }
    const Duration got = at - it->second.last_deferral;
    ++retries_checked_;
    if (got + Duration(1000) < need) {
      violations_.push_back({"retry-early", qid + " <" + rcpt + "> attempt " + std::to_string(it->second.deferrals + 1) +
                                                " " + micros(got) + " after the previous deferral, schedule says " +
                                                micros(need)});
    }
  }
  if (status == "deferred") {
    Track& t = tracks_[key];
    t.last_deferral = at;
    ++t.deferrals;
    if (lost_reply(reply)) ++lost_[key];
  } else if (it != tracks_.end()) {
    tracks_.erase(it);
  }
}

std::uint32_t RelayLog::lost_replies(HostId host, const std::string& qid, const std::string& rcpt) const {
  auto it = lost_.find(Key{host, qid, rcpt});
  return it == lost_.end() ? 0 : it->second;
}

std::uint32_t RelayLog::crashes_since(HostId host, Instant since) const {
  std::uint32_t n = 0;
  for (const auto& [h, at] : crashes_) n += (h == host && at >= since) ? 1 : 0;
  return n;
}

namespace {

std::optional<std::uint64_t> number_after(std::string_view text, std::string_view label) {
  const std::size_t at = text.find(label);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + label.size();
  if (i >= text.size() || text[i] < '0' || text[i] > '9') return std::nullopt;
  std::uint64_t v = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
  return v;
}

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

struct DsnReport {
  std::string owner;  // the mailbox it is in
  std::string rcpt;
  std::string action;
};

std::string queue_id_of(std::string_view reply) {
  constexpr std::string_view kQueued = "queued as ";
  const std::size_t at = reply.find(kQueued);
  if (at == std::string_view::npos) return {};
  std::string id(reply.substr(at + kQueued.size()));
  while (!id.empty() && (id.back() == ' ' || id.back() == '\r' || id.back() == '\n')) id.pop_back();
  return id;
}

}  // namespace

void check_relay(const Ledger& ledger, const std::vector<RelayMta>& mtas, const RelayLog& log,
                 const std::vector<DroppedAfterDot>& drops, std::vector<Violation>& out, RelayTotals& totals) {
  // (sim id, recipient) -> copies delivered / DSN reports about it.
  std::map<std::pair<std::uint64_t, std::string>, std::uint32_t> delivered;
  std::map<std::pair<std::uint64_t, std::string>, std::vector<DsnReport>> reports;
  for (const RelayMta& m : mtas) {
    for (const auto& u : m.config->directory.users) {
      const std::string owner = u.name + "@" + m.domain;
      for (store::MaildirFolder folder : store::maildir_message_folders) {
        const std::string d = store::maildir_folder_path(m.config->data_dir, u.name, folder);
        (void)m.disk->visit(d, [&](std::string_view name, bool is_dir, std::string_view data) {
          if (is_dir) return;
          const std::string where = m.label + ": " + d + "/" + std::string(name);
          const std::size_t head_end = data.find("\r\n\r\n");
          const std::string_view head = data.substr(0, head_end);
          std::size_t hops = head.substr(0, 9) == "Received:" ? 1 : 0;
          for (std::size_t p = head.find("\r\nReceived:"); p != std::string_view::npos; p = head.find("\r\nReceived:", p + 2)) ++hops;
          if (hops > kRelayHopsMax) out.push_back({"mail-loop", where + " has " + std::to_string(hops) + " Received: fields"});
          if (head.find("multipart/report") != std::string_view::npos) {
            ++totals.dsns;
            if (head.substr(0, 15) != "Return-Path: <>") out.push_back({"dsn-sender", where + ": a DSN whose sender is not <>"});
            const auto id = number_after(data, "\r\nX-Sim-Id: ");
            if (!id || ledger.find(*id) == nullptr) {
              out.push_back({"phantom-dsn", where + ": a DSN about no submitted message"});
              return;
            }
            constexpr std::string_view kFinal = "Final-Recipient: rfc822;";
            for (std::size_t p = data.find(kFinal); p != std::string_view::npos; p = data.find(kFinal, p + 1)) {
              std::size_t a = p + kFinal.size();
              while (a < data.size() && data[a] == ' ') ++a;
              const std::size_t eol = data.find("\r\n", a);
              DsnReport r{owner, lower(std::string(data.substr(a, eol - a))), ""};
              const std::size_t act = data.find("Action: ", eol);
              if (act != std::string_view::npos) {
                const std::size_t e2 = data.find("\r\n", act);
                r.action = std::string(data.substr(act + 8, e2 - act - 8));
              }
              if (r.action == "relayed" || r.action == "delivered") ++totals.success_dsns;
              reports[{*id, r.rcpt}].push_back(std::move(r));
            }
            return;
          }
          const auto id = number_after(head, "\r\nX-Sim-Id: ");
          const LedgerEntry* e = id ? ledger.find(*id) : nullptr;
          if (e == nullptr) {
            out.push_back({"phantom", where + ": a message never submitted"});
            return;
          }
          if (data.size() < e->content.size() || data.substr(data.size() - e->content.size()) != e->content) {
            out.push_back({"corrupt", where + ": msg=" + std::to_string(*id) + " differs from what was submitted"});
          }
          ++delivered[{*id, owner}];
        });
      }
    }
  }

  auto mta_of_domain = [&](std::string_view rcpt) -> const RelayMta* {
    const std::string domain(rcpt.substr(rcpt.rfind('@') + 1));
    for (const auto& m : mtas) {
      if (m.domain == domain) return &m;
    }
    return nullptr;
  };
  for (const auto& e : ledger.entries()) {
    const RelayMta* sender_mta = nullptr;
    for (const auto& m : mtas) sender_mta = m.address == e.server ? &m : sender_mta;
    MAIL_ASSERT(sender_mta != nullptr);
    const std::string qid = e.outcome == LedgerEntry::Outcome::acked ? queue_id_of(e.reply) : std::string();
    for (std::size_t i = 0; i < e.recipients.size(); ++i) {
      const std::string& r = e.recipients[i];
      const std::string tag = "msg=" + std::to_string(e.id) + " <" + r + ">";
      const std::uint32_t d = delivered.contains({e.id, r}) ? delivered.at({e.id, r}) : 0;
      std::uint32_t failed = 0;
      if (auto it = reports.find({e.id, r}); it != reports.end()) {
        for (const DsnReport& rep : it->second) {
          if (rep.owner != e.mail_from) out.push_back({"dsn-misdirected", tag + ": a DSN in " + rep.owner + "'s mailbox"});
          if (rep.action == "failed") ++failed;
        }
      }
      const bool accepted = i < e.rcpt_accepted.size() && e.rcpt_accepted[i];
      const bool unknown_user = r.rfind("nobody", 0) == 0;
      if (unknown_user && d > 0) out.push_back({"misdelivered", tag + ": delivered to an unknown user"});
      const std::uint32_t total = d + failed;
      if (e.outcome == LedgerEntry::Outcome::acked && accepted) {
        totals.delivered += d > 0 ? 1 : 0;
        totals.bounced += (d == 0 && failed > 0) ? 1 : 0;
        if (total == 0) {
          out.push_back({"lost-after-ack", tag + " neither delivered nor bounced (" + e.reply + ")"});
          continue;
        }
      } else if (e.outcome == LedgerEntry::Outcome::acked || e.outcome == LedgerEntry::Outcome::not_sent) {
        // Refused at RCPT by the sending MTA, or never sent: nothing may arrive or bounce.
        if (total > 0) out.push_back({"phantom", tag + " arrived or bounced, but was " + (accepted ? "not sent" : "refused at RCPT")});
        continue;
      } else if (e.outcome == LedgerEntry::Outcome::refused) {
        if (total > 0) out.push_back({"refused-but-delivered", tag + " refused (" + e.reply + ") but arrived or bounced"});
        continue;
      }
      // Acked, or an unknown outcome (at most once): explain every copy beyond the first.
      if (total <= 1) continue;
      std::uint32_t excess = total - 1;
      const RelayMta* dest = mta_of_domain(r);
      std::uint32_t dropped = 0;
      for (const auto& drop : drops) {
        if (dest != nullptr && drop.sim_id == std::to_string(e.id) && drop.client == sender_mta->address &&
            drop.host == dest->host_name) {
          ++dropped;
        }
      }
      const std::uint32_t by_drop = std::min(excess, dropped);
      excess -= by_drop;
      totals.dup_dropped += by_drop;
      const std::uint32_t lost = qid.empty() ? 0 : log.lost_replies(sender_mta->host, qid, r);
      const std::uint32_t by_lost = std::min(excess, lost);
      excess -= by_lost;
      totals.dup_lost_reply += by_lost;
      std::uint32_t crashes = log.crashes_since(sender_mta->host, e.decided_at);
      if (dest != nullptr && dest != sender_mta) crashes += log.crashes_since(dest->host, e.decided_at);
      const std::uint32_t by_crash = std::min(excess, crashes);
      excess -= by_crash;
      totals.dup_crash += by_crash;
      if (excess > 0) {
        out.push_back({"duplicate", tag + " delivered " + std::to_string(d) + "x and bounced " + std::to_string(failed) +
                                        "x; unexplained copies: " + std::to_string(excess)});
      }
    }
  }
  for (const auto& v : log.violations()) out.push_back(v);
}

}  // namespace mail::sim
