// Queue reports (see header). Must not: emit a newline inside a document (the control
// protocol is one line per answer), or leave any string unescaped.
#include "node/queue_report.h"

#include "proto/control/control_session.h"
#include "proto/smtp/received.h"

namespace mail::node {
namespace {

using control::json_string;

std::string field(std::string_view name, const std::string& json_value) {
  std::string out = json_string(name);
  out += ':';
  out += json_value;
  return out;
}

std::string number(std::uint64_t v) { return std::to_string(v); }
std::string boolean(bool v) { return v ? "true" : "false"; }
std::string time_json(WallTime t) { return std::to_string(t.unix_seconds()); }

// `with_count`: the "recipients" count (the list); show has the recipients array instead.
std::string summary_json(const QueueSummary& s, bool with_count = true) {
  std::string o = "{";
  o += field("id", json_string(s.id)) + ",";
  o += field("arrival", time_json(s.arrival)) + ",";
  o += field("arrival_text", json_string(smtp::format_date_time(s.arrival))) + ",";
  o += field("size", number(s.size_bytes)) + ",";
  o += field("sender", json_string(s.sender)) + ",";
  if (with_count) o += field("recipients", number(s.recipients)) + ",";
  o += field("pending", number(s.pending)) + ",";
  o += field("deferred", number(s.deferred)) + ",";
  o += field("held", boolean(s.held)) + ",";
  o += field("active", boolean(s.active)) + ",";
  o += field("next_attempt", s.next_attempt ? time_json(*s.next_attempt) : std::string("null")) + ",";
  o += field("last_reply", json_string(s.last_reply));
  o += "}";
  return o;
}

std::string notify_text(const smtp::DsnNotify& n) {
  if (!n.any()) return "";
  if (n.never) return "NEVER";
  std::string out;
  auto add = [&](bool on, const char* word) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  add(n.success, "SUCCESS");
  add(n.failure, "FAILURE");
  add(n.delay, "DELAY");
  return out;
}

}  // namespace

QueueSummary summarize(const store::QueuedMessage& m) {
  QueueSummary s;
  s.id = m.id;
  s.arrival = m.arrival;
  s.size_bytes = m.size_bytes;
  s.sender = m.sender.to_string();
  s.recipients = m.recipients.size();
  s.held = m.held;
  for (const auto& r : m.recipients) {
    if (r.state == store::RecipientState::pending) ++s.pending;
    if (r.state == store::RecipientState::deferred) {
      ++s.deferred;
      if (!s.next_attempt || r.next_attempt < *s.next_attempt) s.next_attempt = r.next_attempt;
      if (!r.last_reply.empty()) s.last_reply = r.last_reply;
    }
  }
  return s;
}

std::string queue_list_json(const std::vector<QueueSummary>& messages) {
  std::string o = "{\"ok\":true,\"messages\":[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) o += ',';
    o += summary_json(messages[i]);
  }
  o += "]}";
  return o;
}

std::string queue_show_json(const store::QueuedMessage& m) {
  std::string o = "{\"ok\":true,\"message\":";
  std::string s = summary_json(summarize(m), /*with_count=*/false);
  s.pop_back();  // reopen the summary object
  o += s;
  // Appended piecewise, not `"," + field(...)`: GCC 12's bogus -Wrestrict at -O2 (bug 105329).
  o.append(",").append(field("auth", json_string(m.auth_identity)));
  o.append(",").append(field("client", json_string(m.client_address)));
  o.append(",").append(field("helo", json_string(m.helo)));
  o.append(",").append(field("envid", m.mail_params.envid ? json_string(*m.mail_params.envid) : std::string("null")));
  o.append(",").append(field("ret", json_string(m.mail_params.ret == smtp::DsnRet::full      ? "FULL"
                                                 : m.mail_params.ret == smtp::DsnRet::headers ? "HDRS"
                                                                                              : "")));
  o += ",\"recipients\":[";
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    if (i > 0) o += ',';
    o += "{";
    o += field("address", json_string(r.recipient.path.mailbox ? r.recipient.path.mailbox->to_string() : "")) + ",";
    o += field("state", json_string(store::to_string(r.state))) + ",";
    o += field("attempts", number(r.attempts)) + ",";
    o += field("next_attempt", r.state == store::RecipientState::deferred ? time_json(r.next_attempt) : std::string("null")) + ",";
    o += field("last_reply", json_string(r.last_reply)) + ",";
    o += field("remote_mta", json_string(r.remote_mta)) + ",";
    o += field("notify", json_string(notify_text(r.recipient.params.notify))) + ",";
    o += field("orcpt", r.recipient.params.orcpt ? json_string(*r.recipient.params.orcpt) : std::string("null"));
    o += "}";
  }
  o += "]}}";
  return o;
}

std::string ok_json(std::string_view note) {
  if (note.empty()) return "{\"ok\":true}";
  std::string out = "{\"ok\":true,\"note\":";
  out += json_string(note);
  out += '}';
  return out;
}

}  // namespace mail::node
