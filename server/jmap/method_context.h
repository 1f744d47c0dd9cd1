// The context of one method call of a JMAP Request (RFC 8620 §3.3-§3.5) and the helpers
// every method shares: the account check, the standard errors (§3.6.2), creation ids
// (§5.3 "#" references), the AccountView (read once, dropped after a change). Internal to
// jmap/; each *_methods.cpp implements a family.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jmap/account_view.h"
#include "jmap/api.h"
#include "jmap/email_parse.h"

namespace mail::jmap {

struct CallContext {
  Api& api;
  std::string user;
  std::string account_id;
  json::object created_ids;  // creation id -> server id, the whole request (§3.3)
  json::array responses;     // [name, args, call id] so far
  std::string call_id;
  std::shared_ptr<const AccountView> view;  // Api::view(): shared, read-only

  // The account as it is now (cached until invalidate()); null with an error answered.
  rt::Task<const AccountView*> load_view(bool with_messages);
  void invalidate() { view.reset(); }
  void respond(std::string_view name, json::object args);
  void error(std::string_view type, std::string_view description = {});
  // "#creationId" -> the id created earlier in the request; other ids as they are.
  [[nodiscard]] std::optional<std::string> resolve_id(std::string_view id) const;
  // The accountId argument is ours; answers accountNotFound otherwise (false).
  bool check_account(const json::object& args);
  std::int64_t now() const { return api.config().now_unix(); }
};

// Argument readers: nullopt when absent or null; `bad` set when present with a wrong type.
std::optional<std::vector<std::string>> string_list(const json::object& args, std::string_view key, bool& bad);
std::optional<std::string> string_arg(const json::object& args, std::string_view key, bool& bad);
std::optional<std::int64_t> int_arg(const json::object& args, std::string_view key, bool& bad);
std::optional<bool> bool_arg(const json::object& args, std::string_view key, bool& bad);
// fetchTextBodyValues, fetchHTMLBodyValues, fetchAllBodyValues, maxBodyValueBytes
// (RFC 8621 §4.2, Email/get and Email/parse).
BodyValueOptions body_value_options(const json::object& args, bool& bad);

// The created/updated/destroyed maps of a /set answer (RFC 8620 §5.3): empty ones are null.
struct SetResults {
  json::object created, updated, not_created, not_updated, not_destroyed;
  json::array destroyed;
  void put_into(json::object& out);
};

// A SetError object (RFC 8620 §5.3).
json::object set_error(std::string_view type, std::string_view description = {},
                       const std::vector<std::string>& properties = {});

using Method = rt::Task<void> (*)(CallContext&, json::object&);

rt::Task<void> mailbox_get(CallContext&, json::object&);
rt::Task<void> mailbox_changes(CallContext&, json::object&);
rt::Task<void> mailbox_query(CallContext&, json::object&);
rt::Task<void> mailbox_query_changes(CallContext&, json::object&);
rt::Task<void> mailbox_set(CallContext&, json::object&);
rt::Task<void> email_get(CallContext&, json::object&);
rt::Task<void> email_changes(CallContext&, json::object&);
rt::Task<void> email_query(CallContext&, json::object&);
rt::Task<void> email_query_changes(CallContext&, json::object&);
rt::Task<void> email_set(CallContext&, json::object&);
rt::Task<void> email_import(CallContext&, json::object&);
rt::Task<void> email_parse(CallContext&, json::object&);
rt::Task<void> thread_get(CallContext&, json::object&);
rt::Task<void> thread_changes(CallContext&, json::object&);
rt::Task<void> search_snippet_get(CallContext&, json::object&);
rt::Task<void> identity_get(CallContext&, json::object&);
rt::Task<void> submission_set(CallContext&, json::object&);
rt::Task<void> submission_get(CallContext&, json::object&);

// Email/set's update of one Email (also EmailSubmission's onSuccessUpdateEmail): the
// patch applied, or the SetError.
rt::Task<std::optional<json::object>> update_email(CallContext& ctx, const std::string& id, const json::object& patch);
rt::Task<std::optional<json::object>> destroy_email(CallContext& ctx, const std::string& id);
// The message bytes of an Email (its first copy), or nullopt.
rt::Task<std::optional<std::string>> read_email(CallContext& ctx, const EmailEntry& email);

}  // namespace mail::jmap
