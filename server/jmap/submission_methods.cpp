// Identity/get and EmailSubmission/get, /set (RFC 8621 §6, §7): an Email is sent through
// the Submitter (the node's authenticated-submission path: local delivery or the outbound
// queue), then onSuccessUpdateEmail / onSuccessDestroyEmail run as an implicit Email/set
// (§7.5). Must not: send from an address that is not the user's identity, or report a
// submission the outbound path did not accept.
#include <set>

#include "jmap/email_parse.h"
#include "core/ascii.h"
#include "jmap/ids.h"
#include "jmap/method_context.h"
#include "jmap/submission.h"
#include "proto/message/header.h"

namespace mail::jmap {
namespace {

std::string identity_id(std::string_view user) { return prefixed('I', base64url(user)); }

json::object identity_json(const CallContext& ctx) {
  const std::string address = ctx.api.config().address_of(ctx.user);
  return json::object{{"id", identity_id(ctx.user)}, {"name", ""},           {"email", address},
                      {"replyTo", nullptr},          {"bcc", nullptr},        {"textSignature", ""},
                      {"htmlSignature", ""},         {"mayDelete", false}};
}

json::object submission_json(const Api::Submission& s) {
  return json::object{{"id", s.id},
                      {"identityId", s.identity_id},
                      {"emailId", s.email_id},
                      {"threadId", s.thread_id},
                      {"envelope", s.envelope},
                      {"sendAt", s.send_at},
                      {"undoStatus", "final"},
                      {"deliveryStatus", nullptr},
                      {"dsnBlobIds", json::array{}},
                      {"mdnBlobIds", json::array{}}};
}

// The addresses of To, Cc and Bcc (RFC 8621 §7.5: the envelope when none is given).
std::vector<std::string> recipients_of(std::string_view message) {
  json::object o;
  EmailParseContext pc;
  add_email_properties(message, {"to", "cc", "bcc"}, nullptr, BodyValueOptions{}, pc, o);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto* key : {"to", "cc", "bcc"}) {
    const auto* list = o.if_contains(key);
    if (list == nullptr || !list->is_array()) continue;
    for (const auto& a : list->get_array()) {
      const auto* email = a.is_object() ? a.get_object().if_contains("email") : nullptr;
      if (email == nullptr || !email->is_string() || email->get_string().empty()) continue;
      std::string address(email->get_string());
      if (seen.insert(ascii_lower(address)).second) out.push_back(std::move(address));
    }
  }
  return out;
}

// The message as it is sent: without its Bcc field (RFC 5322 §3.6.3: blind copies stay blind).
std::string without_bcc(std::string_view message) {
  const std::size_t body = message::body_offset(message);
  const auto fields = message::parse_header_fields(message.substr(0, body));
  std::string out;
  std::size_t at = 0;
  for (const auto& f : fields.fields) {
    if (!iequals(f.name, "Bcc")) continue;
    out.append(message.substr(at, f.begin - at));
    at = f.end;
  }
  out.append(message.substr(at));
  return out;
}

}  // namespace

rt::Task<void> identity_get(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto ids = string_list(args, "ids", bad);
  if (bad) co_return ctx.error("invalidArguments");
  json::array list, not_found;
  const std::string mine = identity_id(ctx.user);
  if (!ids || std::find(ids->begin(), ids->end(), mine) != ids->end()) list.push_back(identity_json(ctx));
  for (const auto& id : ids.value_or(std::vector<std::string>{})) {
    if (id != mine) not_found.push_back(json::string(id));
  }
  ctx.respond("Identity/get", json::object{{"accountId", ctx.account_id},
                                           {"state", "1"},
                                           {"list", std::move(list)},
                                           {"notFound", std::move(not_found)}});
}

rt::Task<void> submission_get(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto ids = string_list(args, "ids", bad);
  if (bad) co_return ctx.error("invalidArguments");
  const auto& all = ctx.api.submissions(ctx.user);
  json::array list, not_found;
  if (!ids) {
    for (const auto& s : all) list.push_back(submission_json(s));
  } else {
    for (const auto& raw : *ids) {
      const auto id = ctx.resolve_id(raw);
      auto it = std::find_if(all.begin(), all.end(), [&](const Api::Submission& s) { return id && s.id == *id; });
      if (it == all.end()) {
        not_found.push_back(json::string(raw));
      } else {
        list.push_back(submission_json(*it));
      }
    }
  }
  ctx.respond("EmailSubmission/get", json::object{{"accountId", ctx.account_id},
                                                  {"state", std::to_string(all.size())},
                                                  {"list", std::move(list)},
                                                  {"notFound", std::move(not_found)}});
}

rt::Task<void> submission_set(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  if (ctx.api.submitter() == nullptr) co_return ctx.error("forbidden", "This server sends no mail.");
  const std::string old_state = std::to_string(ctx.api.submissions(ctx.user).size());
  SetResults results;
  auto& created = results.created;
  auto& not_created = results.not_created;
  std::vector<std::pair<std::string, std::string>> sent;  // creation id, submission id
  if (const auto* create = args.if_contains("create"); create != nullptr && create->is_object()) {
    for (const auto& [cid, value] : create->get_object()) {
      const auto* o = value.if_object();
      const auto* identity = o ? o->if_contains("identityId") : nullptr;
      const auto* email = o ? o->if_contains("emailId") : nullptr;
      if (identity == nullptr || !identity->is_string() || email == nullptr || !email->is_string()) {
        not_created[cid] = set_error("invalidProperties", {}, {"identityId", "emailId"});
        continue;
      }
      if (identity->get_string() != identity_id(ctx.user)) {
        not_created[cid] = set_error("invalidProperties", "No such identity.", {"identityId"});
        continue;
      }
      const auto email_id_resolved = ctx.resolve_id(email->get_string());
      const AccountView* view = co_await ctx.load_view(true);
      if (view == nullptr) co_return;
      const EmailEntry* e = email_id_resolved ? view->email(*email_id_resolved) : nullptr;
      if (e == nullptr) {
        not_created[cid] = set_error("invalidProperties", "No such Email.", {"emailId"});
        continue;
      }
      const EmailEntry entry = *e;
      auto bytes = co_await read_email(ctx, entry);
      if (!bytes) {
        not_created[cid] = set_error("invalidProperties", "The Email is gone.", {"emailId"});
        continue;
      }
      const std::string from = ctx.api.config().address_of(ctx.user);
      std::string mail_from = from;
      std::vector<std::string> rcpts;
      json::object envelope;
      if (const auto* env = o->if_contains("envelope"); env != nullptr && env->is_object()) {
        const auto* mf = env->get_object().if_contains("mailFrom");
        const auto* rt = env->get_object().if_contains("rcptTo");
        if (mf != nullptr && mf->is_object()) {
          if (const auto* a = mf->get_object().if_contains("email"); a != nullptr && a->is_string()) {
            mail_from = std::string(a->get_string());
          }
        }
        if (rt != nullptr && rt->is_array()) {
          for (const auto& r : rt->get_array()) {
            const auto* a = r.is_object() ? r.get_object().if_contains("email") : nullptr;
            if (a != nullptr && a->is_string()) rcpts.emplace_back(a->get_string());
          }
        }
      } else {
        rcpts = recipients_of(*bytes);
      }
      if (rcpts.empty()) {
        not_created[cid] = set_error("noRecipients");
        continue;
      }
      if (!iequals(mail_from, from)) {  // RFC 8621 §7.5 forbiddenMailFrom
        not_created[cid] = set_error("forbiddenMailFrom");
        continue;
      }
      json::array rcpt_json;
      for (const auto& r : rcpts) rcpt_json.push_back(json::object{{"email", r}, {"parameters", nullptr}});
      envelope = json::object{{"mailFrom", json::object{{"email", mail_from}, {"parameters", nullptr}}},
                              {"rcptTo", std::move(rcpt_json)}};
      std::string content = without_bcc(*bytes);
      rt::Task<SubmitOutcome> submitting = ctx.api.submitter()->submit(ctx.user, mail_from, rcpts, std::move(content));
      SubmitOutcome outcome = co_await std::move(submitting);
      if (!outcome.accepted) {
        not_created[cid] = set_error(outcome.refused.empty() ? "forbiddenToSend" : "invalidRecipients", outcome.reply);
        continue;
      }
      auto& log = ctx.api.submissions(ctx.user);
      Api::Submission s;
      s.id = prefixed('S', std::to_string(log.size() + 1));
      s.id += 'x';
      s.id += std::to_string(ctx.now());
      s.identity_id = identity_id(ctx.user);
      s.email_id = email_id(entry.content_id);
      s.thread_id = entry.thread_id;
      s.envelope = envelope;
      s.send_at = format_utc_date(ctx.now());
      s.reply = outcome.reply;
      created[cid] = json::object{{"id", s.id}, {"sendAt", s.send_at}, {"undoStatus", "final"}};
      ctx.created_ids[cid] = s.id;
      sent.emplace_back(cid, s.id);
      log.push_back(std::move(s));
    }
  }
  json::object out{{"accountId", ctx.account_id},
                   {"oldState", old_state},
                   {"newState", std::to_string(ctx.api.submissions(ctx.user).size())}};
  results.put_into(out);
  ctx.respond("EmailSubmission/set", std::move(out));

  // RFC 8621 §7.5: onSuccessUpdateEmail / onSuccessDestroyEmail, keyed by the submission's
  // id or "#creationId", as an implicit Email/set answered right after.
  const auto* on_update = args.if_contains("onSuccessUpdateEmail");
  const auto* on_destroy = args.if_contains("onSuccessDestroyEmail");
  if ((on_update == nullptr || !on_update->is_object()) && (on_destroy == nullptr || !on_destroy->is_array())) co_return;
  auto email_of = [&](std::string_view key) -> std::optional<std::string> {
    std::string sid(key);
    if (key.starts_with('#')) {
      bool ok = false;
      for (const auto& [cid, id] : sent) {
        if (cid == key.substr(1)) {
          sid = id;
          ok = true;
        }
      }
      if (!ok) return std::nullopt;
    }
    for (const auto& s : ctx.api.submissions(ctx.user)) {
      if (s.id == sid) return s.email_id;
    }
    return std::nullopt;
  };
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  const std::string email_old = view->email_state();
  SetResults implicit;
  auto& updated = implicit.updated;
  auto& not_updated = implicit.not_updated;
  auto& not_destroyed = implicit.not_destroyed;
  auto& destroyed = implicit.destroyed;
  if (on_update != nullptr && on_update->is_object()) {
    for (const auto& [key, patch] : on_update->get_object()) {
      auto id = email_of(key);
      if (!id || !patch.is_object()) continue;
      auto failed = co_await update_email(ctx, *id, patch.get_object());
      if (failed) {
        not_updated[*id] = std::move(*failed);
      } else {
        updated[*id] = nullptr;
      }
    }
  }
  if (on_destroy != nullptr && on_destroy->is_array()) {
    for (const auto& key : on_destroy->get_array()) {
      if (!key.is_string()) continue;
      auto id = email_of(key.get_string());
      if (!id) continue;
      auto failed = co_await destroy_email(ctx, *id);
      if (failed) {
        not_destroyed[*id] = std::move(*failed);
      } else {
        destroyed.push_back(json::string(*id));
      }
    }
  }
  view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  json::object set{{"accountId", ctx.account_id}, {"oldState", email_old}, {"newState", view->email_state()}};
  implicit.put_into(set);
  ctx.respond("Email/set", std::move(set));
}

}  // namespace mail::jmap
