// jmap::Api (see header). Must not: run a method whose capability the request did not
// declare (RFC 8620 §3.3), answer another user's account, or lose a call's response.
#include "jmap/api.h"

#include <boost/json.hpp>
#include <map>

#include "jmap/email_parse.h"
#include "jmap/ids.h"
#include "jmap/method_context.h"
#include "jmap/submission.h"
#include "jmap/threads.h"

namespace mail::jmap {
namespace {

struct MethodEntry {
  std::string_view name;
  std::string_view capability;
  Method run;
};

// RFC 8620 §4: "The Core/echo method returns exactly the same arguments as it is given."
rt::Task<void> core_echo(CallContext& ctx, json::object& args) {
  ctx.respond("Core/echo", std::move(args));
  co_return;
}

constexpr MethodEntry kMethods[] = {
    {"Core/echo", kCapCore, core_echo},
    {"Mailbox/get", kCapMail, mailbox_get},
    {"Mailbox/changes", kCapMail, mailbox_changes},
    {"Mailbox/query", kCapMail, mailbox_query},
    {"Mailbox/queryChanges", kCapMail, mailbox_query_changes},
    {"Mailbox/set", kCapMail, mailbox_set},
    {"Email/get", kCapMail, email_get},
    {"Email/changes", kCapMail, email_changes},
    {"Email/query", kCapMail, email_query},
    {"Email/queryChanges", kCapMail, email_query_changes},
    {"Email/set", kCapMail, email_set},
    {"Email/import", kCapMail, email_import},
    {"Email/parse", kCapMail, email_parse},
    {"Thread/get", kCapMail, thread_get},
    {"Thread/changes", kCapMail, thread_changes},
    {"SearchSnippet/get", kCapMail, search_snippet_get},
    {"Identity/get", kCapSubmission, identity_get},
    {"EmailSubmission/get", kCapSubmission, submission_get},
    {"EmailSubmission/set", kCapSubmission, submission_set},
};

HttpResult json_result(int status, const json::value& v) {
  HttpResult r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

HttpResult problem(int status, std::string_view type, std::string detail) {
  RequestError e{status, "urn:ietf:params:jmap:error:" + std::string(type), std::move(detail), {}};
  HttpResult r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = problem_json(e);
  return r;
}

}  // namespace

struct Api::SubmissionLog {
  std::map<std::string, std::vector<Submission>, std::less<>> by_user;
};

Api::Api(store::MailStore& store, Submitter* submitter, ApiConfig config)
    : store_(store), submitter_(submitter), config_(std::move(config)),
      submission_log_(std::make_unique<SubmissionLog>()), views_(std::make_unique<ViewCache>()) {
  if (!config_.now_unix) config_.now_unix = [] { return std::int64_t{0}; };
  if (!config_.address_of) config_.address_of = [](std::string_view user) { return std::string(user); };
}

Api::~Api() = default;

std::vector<Api::Submission>& Api::submissions(std::string_view user) {
  return submission_log_->by_user[std::string(user)];
}

std::string Api::account_id(std::string_view user) { return prefixed('A', base64url(user)); }

rt::Task<HttpResult> Api::session(std::string user, std::string base) {
  auto view = co_await this->view(user, false);
  const std::string account = account_id(user);
  const auto& l = config_.limits;
  json::object core{
      {"maxSizeUpload", l.max_size_upload},
      {"maxConcurrentUpload", l.max_concurrent_upload},
      {"maxSizeRequest", l.max_size_request},
      {"maxConcurrentRequests", l.max_concurrent_requests},
      {"maxCallsInRequest", l.max_calls_in_request},
      {"maxObjectsInGet", l.max_objects_in_get},
      {"maxObjectsInSet", l.max_objects_in_set},
      {"collationAlgorithms", json::array{"i;ascii-casemap", "i;unicode-casemap"}},
  };
  json::object mail_account{
      {"maxMailboxesPerEmail", nullptr},
      {"maxMailboxDepth", 10},
      {"maxSizeMailboxName", 255},
      {"maxSizeAttachmentsPerEmail", 50 * 1024 * 1024},
      {"emailQuerySortOptions", json::array{"receivedAt", "sentAt", "size", "from", "to", "subject", "hasKeyword"}},
      {"mayCreateTopLevelMailbox", true},
  };
  json::object submission_account{{"maxDelayedSend", 0}, {"submissionExtensions", json::object{}}};
  json::object accounts{{account, json::object{
                                       {"name", user},
                                       {"isPersonal", true},
                                       {"isReadOnly", false},
                                       {"accountCapabilities", json::object{{kCapMail, mail_account},
                                                                            {kCapSubmission, submission_account}}},
                                   }}};
  std::string state = view ? (*view)->mailbox_state() : "0";
  json::object session{
      {"capabilities", json::object{{kCapCore, core}, {kCapMail, json::object{}}, {kCapSubmission, json::object{}}}},
      {"accounts", accounts},
      {"primaryAccounts", json::object{{kCapMail, account}, {kCapSubmission, account}}},
      {"username", user},
      {"apiUrl", base + "/jmap/api"},
      {"downloadUrl", base + "/jmap/download/{accountId}/{blobId}/{name}?accept={type}"},
      {"uploadUrl", base + "/jmap/upload/{accountId}/"},
      {"eventSourceUrl", base + "/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}"},
      {"state", state},
  };
  co_return json_result(200, session);
}

rt::Task<HttpResult> Api::call(std::string user, std::string body) {
  ParsedRequest parsed = parse_request(body, config_.limits);
  if (parsed.error) {
    HttpResult r;
    r.status = parsed.error->status;
    r.content_type = "application/problem+json";
    r.body = problem_json(*parsed.error);
    co_return r;
  }
  Request& request = *parsed.request;
  CallContext ctx{*this, user, account_id(user), {}, {}, {}, {}};
  if (request.created_ids) ctx.created_ids = *request.created_ids;
  for (auto& call : request.calls) {
    ctx.call_id = call.call_id;
    const MethodEntry* method = nullptr;
    for (const auto& m : kMethods) {
      if (m.name == call.name) method = &m;
    }
    bool declared = false;
    for (const auto& c : request.using_) declared = declared || (method != nullptr && c == method->capability);
    if (method == nullptr || !declared) {
      ctx.error("unknownMethod", method == nullptr ? "No such method." : "Its capability is not in \"using\".");
      continue;
    }
    if (auto bad = resolve_references(call.args, ctx.responses)) {
      ctx.error(*bad);
      continue;
    }
    rt::Task<void> run = method->run(ctx, call.args);
    co_await std::move(run);
  }
  auto view = co_await this->view(user, false);
  json::object response{{"methodResponses", std::move(ctx.responses)},
                        {"sessionState", view ? (*view)->mailbox_state() : std::string("0")}};
  if (request.created_ids) response["createdIds"] = std::move(ctx.created_ids);
  co_return json_result(200, response);
}

rt::Task<HttpResult> Api::upload(std::string user, std::string account, std::string type, std::string bytes) {
  if (account != account_id(user)) co_return problem(404, "notFound", "No such account.");
  if (bytes.size() > config_.limits.max_size_upload) {
    co_return problem(413, "limit", "The blob is larger than maxSizeUpload.");
  }
  const std::uint64_t size = bytes.size();
  const std::uint64_t unique = (static_cast<std::uint64_t>(config_.now_unix()) << 24) ^ ++uploads_;
  if (type.empty()) type = "application/octet-stream";
  auto id = blobs_.put(account, type, std::move(bytes), config_.now_unix(), unique);
  if (!id) co_return problem(413, "overQuota", "Too many uploaded bytes are waiting to be used.");
  co_return json_result(201, json::object{{"accountId", account}, {"blobId", *id}, {"type", type}, {"size", size}});
}

rt::Task<HttpResult> Api::download(std::string user, std::string account, std::string blob_id, std::string name,
                                   std::string accept) {
  HttpResult r;
  r.file_name = std::move(name);
  if (account != account_id(user)) co_return problem(404, "notFound", "No such account.");
  const auto ref = parse_blob_id(blob_id);
  if (!ref) co_return problem(404, "notFound", "No such blob.");
  if (ref->kind == BlobRef::Kind::upload) {
    const UploadedBlob* blob = blobs_.get(account, blob_id, config_.now_unix());
    if (blob == nullptr) co_return problem(404, "notFound", "No such blob.");
    r.body = blob->bytes;
    r.content_type = accept.empty() ? blob->type : accept;
    co_return r;
  }
  auto view = co_await this->view(user, true);
  const EmailEntry* email = view ? (*view)->email(email_id(ref->content_id)) : nullptr;
  if (email == nullptr) co_return problem(404, "notFound", "No such blob.");
  CallContext ctx{*this, user, account, {}, {}, {}, {}};
  auto bytes = co_await read_email(ctx, *email);
  if (!bytes) co_return problem(404, "notFound", "No such blob.");
  if (ref->kind == BlobRef::Kind::message) {
    r.body = std::move(*bytes);
    r.content_type = accept.empty() ? "message/rfc822" : accept;
    co_return r;
  }
  auto part = part_contents(*bytes, ref->part_id);
  if (!part) co_return problem(404, "notFound", "No such blob.");
  r.body = std::move(part->first);
  r.content_type = accept.empty() ? part->second : accept;
  co_return r;
}

rt::Task<Result<States>> Api::states(std::string user) {
  auto view = co_await this->view(user, false);
  if (!view) co_return fail(view.error());
  States s;
  s.email = (*view)->email_state();
  s.thread = s.email;
  s.mailbox = (*view)->mailbox_state();
  s.submission = std::to_string(submissions(user).size());
  co_return s;
}

// ------------------------------------------------------------------ CallContext
rt::Task<const AccountView*> CallContext::load_view(bool with_messages) {
  if (view && (view->has_messages() || !with_messages)) co_return view.get();
  auto loaded = co_await api.view(user, with_messages);
  if (!loaded) {
    error("serverFail", loaded.error().detail);
    co_return nullptr;
  }
  view = std::move(*loaded);
  co_return view.get();
}

// ------------------------------------------------------------------ the view cache
struct Api::ViewCache {
  struct Entry {
    std::shared_ptr<const AccountView> view;  // null: stale
    std::uint64_t generation = 0;             // bumped by every change notification
    std::uint64_t last_use = 0;
    std::unique_ptr<store::ChangeSubscription> subscription;
    ThreadRoots roots;  // kept across reloads: a message's root never changes
  };
  std::map<std::string, Entry, std::less<>> by_user;
  std::uint64_t uses = 0;
};

std::optional<std::string> Api::known_thread(std::string_view user, std::string_view content_id) const {
  const auto entry = views_->by_user.find(user);
  if (entry == views_->by_user.end()) return std::nullopt;
  const auto root = entry->second.roots.find(std::string(content_id));
  if (root == entry->second.roots.end()) return std::nullopt;
  return thread_id_of(root->second, content_id);
}

rt::Task<Result<std::shared_ptr<const AccountView>>> Api::view(std::string user, bool with_messages) {
  constexpr std::size_t kCachedAccountsMax = 64;
  auto& cache = *views_;
  auto it = cache.by_user.find(user);
  if (it == cache.by_user.end()) {
    if (cache.by_user.size() >= kCachedAccountsMax) {  // forget the least recently used
      auto oldest = cache.by_user.begin();
      for (auto i = cache.by_user.begin(); i != cache.by_user.end(); ++i) {
        if (i->second.last_use < oldest->second.last_use) oldest = i;
      }
      cache.by_user.erase(oldest);
    }
    it = cache.by_user.emplace(user, ViewCache::Entry{}).first;
    ViewCache::Entry* entry = &it->second;
    entry->subscription = store_.subscribe(user, [entry](std::string_view, std::uint64_t) {
      ++entry->generation;
      entry->view.reset();
    });
  }
  it->second.last_use = ++cache.uses;
  if (it->second.view && (it->second.view->has_messages() || !with_messages)) co_return it->second.view;
  const std::uint64_t generation = it->second.generation;
  // A copy: another request may reload (and the entry may be evicted) meanwhile.
  ThreadRoots roots = it->second.roots;
  auto loaded = co_await AccountView::load(store_, user, with_messages, &roots);
  if (!loaded) co_return fail(loaded.error());
  auto shared = std::make_shared<const AccountView>(std::move(*loaded));
  // Store it only if nothing changed while it was read (and the entry still exists).
  auto again = cache.by_user.find(user);
  if (again != cache.by_user.end()) {
    if (again->second.generation == generation) again->second.view = shared;
    if (with_messages) again->second.roots = std::move(roots);
  }
  co_return shared;
}

void CallContext::respond(std::string_view name, json::object args) {
  responses.push_back(json::array{json::string(name), std::move(args), json::string(call_id)});
}

void CallContext::error(std::string_view type, std::string_view description) {
  json::object e{{"type", type}};
  if (!description.empty()) e["description"] = description;
  respond("error", std::move(e));
}

std::optional<std::string> CallContext::resolve_id(std::string_view id) const {
  if (!id.starts_with('#')) return std::string(id);
  const auto* created = created_ids.if_contains(id.substr(1));
  if (created == nullptr || !created->is_string()) return std::nullopt;
  return std::string(created->get_string());
}

bool CallContext::check_account(const json::object& args) {
  const auto* account = args.if_contains("accountId");
  if (account == nullptr || !account->is_string() || account->get_string() != account_id) {
    error("accountNotFound");
    return false;
  }
  return true;
}

std::optional<std::vector<std::string>> string_list(const json::object& args, std::string_view key, bool& bad) {
  const auto* v = args.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_array()) {
    bad = true;
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) {
      bad = true;
      return std::nullopt;
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

std::optional<std::string> string_arg(const json::object& args, std::string_view key, bool& bad) {
  const auto* v = args.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    bad = true;
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<std::int64_t> int_arg(const json::object& args, std::string_view key, bool& bad) {
  const auto* v = args.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= 9007199254740991ull) return static_cast<std::int64_t>(v->get_uint64());
  bad = true;
  return std::nullopt;
}

std::optional<bool> bool_arg(const json::object& args, std::string_view key, bool& bad) {
  const auto* v = args.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) {
    bad = true;
    return std::nullopt;
  }
  return v->get_bool();
}

BodyValueOptions body_value_options(const json::object& args, bool& bad) {
  BodyValueOptions options;
  options.text = bool_arg(args, "fetchTextBodyValues", bad).value_or(false);
  options.html = bool_arg(args, "fetchHTMLBodyValues", bad).value_or(false);
  options.all = bool_arg(args, "fetchAllBodyValues", bad).value_or(false);
  const std::int64_t max = int_arg(args, "maxBodyValueBytes", bad).value_or(0);
  if (max < 0) bad = true;
  options.max_bytes = static_cast<std::size_t>(std::max<std::int64_t>(0, max));
  return options;
}

void SetResults::put_into(json::object& out) {
  auto put = [&out](std::string_view key, auto& value) {
    out[key] = value.empty() ? json::value(nullptr) : json::value(std::move(value));
  };
  put("created", created);
  put("updated", updated);
  put("destroyed", destroyed);
  put("notCreated", not_created);
  put("notUpdated", not_updated);
  put("notDestroyed", not_destroyed);
}

json::object set_error(std::string_view type, std::string_view description, const std::vector<std::string>& properties) {
  json::object e{{"type", type}};
  if (!description.empty()) e["description"] = description;
  if (!properties.empty()) {
    json::array p;
    for (const auto& name : properties) p.push_back(json::string(name));
    e["properties"] = std::move(p);
  }
  return e;
}

}  // namespace mail::jmap
