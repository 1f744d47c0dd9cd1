// Email/set, Email/import and Email/parse (RFC 8621 §4.6-§4.9): keywords and mailboxIds
// changes become store flag changes, COPY, MOVE and EXPUNGE of the Email's copies; a
// created or imported Email is an APPEND. Must not: leave an Email in no mailbox, or
// acknowledge a change the store did not make durable.
#include <algorithm>
#include <map>
#include <set>

#include "jmap/email_build.h"
#include "jmap/email_parse.h"
#include "core/ascii.h"
#include "jmap/ids.h"
#include "jmap/method_context.h"
#include "jmap/threads.h"
#include "proto/message/header.h"

namespace mail::jmap {
namespace {

// The keywords and mailboxes an update asks for (RFC 8620 §5.3 PatchObject paths included).
struct EmailTarget {
  std::set<std::string> keywords;
  std::set<std::string> mailboxes;
  bool keywords_changed = false;
  bool mailboxes_changed = false;
  std::vector<std::string> invalid;
};

bool valid_keyword(std::string_view k) {
  if (k.empty() || k.size() > 255) return false;
  for (char c : k) {  // RFC 8621 §4.1.1: IMAP atom characters, no "(){]%*"\\" or space
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::string_view("(){]%*\"\\").find(c) != std::string_view::npos) return false;
  }
  return true;
}

EmailTarget target_of(const CallContext& ctx, const AccountView& view, const EmailEntry& e, const json::object& patch) {
  EmailTarget t;
  for (const auto& k : keywords_of(e.first().info.flags)) t.keywords.insert(k);
  for (const auto& c : e.copies) t.mailboxes.insert(view.mailboxes[c.mailbox].id);
  for (const auto& [key, value] : patch) {
    if (key == "keywords") {
      if (!value.is_object()) {
        t.invalid.emplace_back(key);
        continue;
      }
      t.keywords.clear();
      t.keywords_changed = true;
      for (const auto& [k, v] : value.get_object()) {
        if (!valid_keyword(k) || !v.is_bool() || !v.get_bool()) {
          t.invalid.emplace_back(key);
          break;
        }
        t.keywords.insert(ascii_lower(k));
      }
    } else if (key.starts_with("keywords/")) {
      const std::string k = ascii_lower(key.substr(9));
      t.keywords_changed = true;
      if (!valid_keyword(k)) {
        t.invalid.emplace_back(key);
      } else if (value.is_bool() && value.get_bool()) {
        t.keywords.insert(k);
      } else if (value.is_null()) {
        t.keywords.erase(k);
      } else {
        t.invalid.emplace_back(key);
      }
    } else if (key == "mailboxIds") {
      if (!value.is_object()) {
        t.invalid.emplace_back(key);
        continue;
      }
      t.mailboxes.clear();
      t.mailboxes_changed = true;
      for (const auto& [id, v] : value.get_object()) {
        const auto resolved = ctx.resolve_id(id);
        if (!resolved || view.mailbox(*resolved) == nullptr || !v.is_bool() || !v.get_bool()) {
          t.invalid.emplace_back(key);
          break;
        }
        t.mailboxes.insert(*resolved);
      }
    } else if (key.starts_with("mailboxIds/")) {
      const auto resolved = ctx.resolve_id(key.substr(11));
      t.mailboxes_changed = true;
      if (!resolved || view.mailbox(*resolved) == nullptr) {
        t.invalid.emplace_back(key);
      } else if (value.is_bool() && value.get_bool()) {
        t.mailboxes.insert(*resolved);
      } else if (value.is_null()) {
        t.mailboxes.erase(*resolved);
      } else {
        t.invalid.emplace_back(key);
      }
    } else {
      t.invalid.emplace_back(key);  // every other property is immutable (RFC 8621 §4.6)
    }
  }
  if (t.mailboxes.empty()) t.invalid.emplace_back("mailboxIds");  // an Email is in at least one
  return t;
}

// The keywords of a created or imported Email ("keywords": {"$seen": true}), lower case.
std::vector<std::string> keywords_arg(const json::object& o) {
  std::vector<std::string> out;
  if (const auto* kw = o.if_contains("keywords"); kw != nullptr && kw->is_object()) {
    for (const auto& [k, v] : kw->get_object()) {
      if (valid_keyword(k) && v.is_bool() && v.get_bool()) out.push_back(ascii_lower(k));
    }
  }
  return out;
}

// Its receivedAt (RFC 8620 §1.4 UTCDate), 0 = now.
std::int64_t received_arg(const json::object& o) {
  if (const auto* r = o.if_contains("receivedAt"); r != nullptr && r->is_string()) {
    return parse_utc_date(r->get_string()).value_or(0);
  }
  return 0;
}

store::Flags flags_from(const std::set<std::string>& keywords, std::uint8_t keep_deleted) {
  return flags_of(std::vector<std::string>(keywords.begin(), keywords.end()), keep_deleted);
}

// The created Email's server-set properties (RFC 8621 §4.6); its thread from its own header.
json::object created_json(std::string_view content_id, std::string_view message, std::uint64_t size) {
  const std::string root = thread_root(message);  // the header block is enough
  return json::object{{"id", email_id(content_id)},
                      {"blobId", message_blob_id(content_id)},
                      {"threadId", thread_id_of(root, content_id)},
                      {"size", size}};
}

// Appends `content` to every mailbox of `mailbox_ids` (the first gets the original, the
// others copies of it, so they share the content id) and returns the Email's content id.
rt::Task<std::variant<std::string, json::object>> append_email(CallContext& ctx, const AccountView& view,
                                                               std::string content,
                                                               const std::vector<std::string>& mailbox_ids,
                                                               store::Flags flags, std::int64_t received) {
  store::MailStore& store = ctx.api.store();
  const MailboxEntry* first = view.mailbox(mailbox_ids.front());
  auto appended = co_await store.append(ctx.user, first->info.name, std::move(content), flags, received);
  if (!appended) {
    if (appended.error().code == Errc::no_space) co_return set_error("overQuota");
    co_return set_error("serverFail", appended.error().detail);
  }
  const std::string content_id = appended->content_id;
  if (content_id.empty()) co_return set_error("serverFail", "The new message is not in its mailbox.");
  for (std::size_t i = 1; i < mailbox_ids.size(); ++i) {
    const MailboxEntry* other = view.mailbox(mailbox_ids[i]);
    std::vector<std::uint32_t> uids{appended->uid};
    (void)co_await store.copy(ctx.user, first->info.name, std::move(uids), other->info.name);
  }
  ctx.invalidate();
  co_return content_id;
}

// Every "blobId" string in `v` (a create object: attachments, bodyStructure subParts).
void collect_blob_ids(const json::value& v, std::set<std::string>& out) {
  if (const auto* o = v.if_object()) {
    for (const auto& [key, child] : *o) {
      if (key == "blobId" && child.is_string()) out.emplace(child.get_string());
      collect_blob_ids(child, out);
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& child : *a) collect_blob_ids(child, out);
  }
}

// The contents of the blobs of `create` that are stored messages or their parts (RFC 8620
// §6: any blob of the account may be used, not only uploads).
rt::Task<std::map<std::string, std::string, std::less<>>> stored_blobs(CallContext& ctx, const AccountView& view,
                                                                        const json::object& create) {
  std::map<std::string, std::string, std::less<>> out;
  std::set<std::string> ids;
  collect_blob_ids(json::value(create), ids);
  for (const auto& id : ids) {
    const auto ref = parse_blob_id(id);
    if (!ref || ref->kind == BlobRef::Kind::upload) continue;
    const EmailEntry* e = view.email(email_id(ref->content_id));
    if (e == nullptr) continue;
    auto bytes = co_await read_email(ctx, *e);
    if (!bytes) continue;
    if (ref->kind == BlobRef::Kind::message) {
      out[id] = std::move(*bytes);
    } else if (auto part = part_contents(*bytes, ref->part_id)) {
      out[id] = std::move(part->first);
    }
  }
  co_return out;
}

// Appends `message` as a new Email (keywords and receivedAt from `o`) and records it under
// `cid`: created (with its server-set properties and creation id), or its SetError.
rt::Task<void> store_new_email(CallContext& ctx, const AccountView& view, std::string cid, std::string message,
                               const std::vector<std::string>& mailboxes, const json::object& o,
                               json::object& created, json::object& not_created) {
  const std::uint64_t size = message.size();
  const std::string head = message.substr(0, message::body_offset(message));
  auto result = co_await append_email(ctx, view, std::move(message), mailboxes, flags_of(keywords_arg(o), 0),
                                      received_arg(o));
  if (auto* err = std::get_if<json::object>(&result)) {
    not_created[cid] = std::move(*err);
    co_return;
  }
  const std::string& content_id = std::get<std::string>(result);
  created[cid] = created_json(content_id, head, size);
  ctx.created_ids[cid] = email_id(content_id);
}

}  // namespace

rt::Task<std::optional<std::string>> read_email(CallContext& ctx, const EmailEntry& email) {
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return std::nullopt;
  for (const auto& c : email.copies) {
    auto bytes = co_await ctx.api.store().read(ctx.user, view->mailboxes[c.mailbox].info.name, c.info.uid);
    if (bytes) co_return std::move(*bytes);
  }
  co_return std::nullopt;
}

rt::Task<std::optional<json::object>> update_email(CallContext& ctx, const std::string& id, const json::object& patch) {
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return set_error("serverFail");
  const EmailEntry* e = view->email(id);
  if (e == nullptr) co_return set_error("notFound");
  const EmailEntry email = *e;  // the view is reloaded below
  EmailTarget t = target_of(ctx, *view, email, patch);
  if (!t.invalid.empty()) co_return set_error("invalidProperties", {}, t.invalid);
  store::MailStore& store = ctx.api.store();
  if (t.keywords_changed) {
    for (const auto& c : email.copies) {
      const auto flags = flags_from(t.keywords, c.info.flags.system);
      if (flags == c.info.flags) continue;
      std::vector<std::uint32_t> uids{c.info.uid};
      auto r = co_await store.store_flags(ctx.user, view->mailboxes[c.mailbox].info.name, std::move(uids),
                                          store::FlagOp::set, flags, std::nullopt);
      if (!r) co_return set_error("serverFail", r.error().detail);
    }
  }
  if (t.mailboxes_changed) {
    std::vector<std::string> add;
    std::vector<const Copy*> remove;
    std::set<std::string> have;
    for (const auto& c : email.copies) {
      const std::string& mid = view->mailboxes[c.mailbox].id;
      have.insert(mid);
      if (!t.mailboxes.contains(mid)) remove.push_back(&c);
    }
    for (const auto& mid : t.mailboxes) {
      if (!have.contains(mid)) add.push_back(mid);
    }
    // A move where a copy leaves one mailbox for another (RFC 6851 MOVE keeps the
    // content id); further additions are copies, further removals expunges.
    while (!add.empty() && !remove.empty()) {
      const Copy* from = remove.back();
      remove.pop_back();
      const MailboxEntry* to = view->mailbox(add.back());
      add.pop_back();
      std::vector<std::uint32_t> uids{from->info.uid};
      auto moved = co_await store.move(ctx.user, view->mailboxes[from->mailbox].info.name, std::move(uids),
                                       to->info.name);
      if (!moved) co_return set_error("serverFail", moved.error().detail);
    }
    for (const auto& mid : add) {
      const Copy& src = email.first();
      std::vector<std::uint32_t> uids{src.info.uid};
      auto copied = co_await store.copy(ctx.user, view->mailboxes[src.mailbox].info.name, std::move(uids),
                                        view->mailbox(mid)->info.name);
      if (!copied) co_return set_error("serverFail", copied.error().detail);
    }
    for (const Copy* c : remove) {
      std::vector<std::uint32_t> uids{c->info.uid};
      auto gone = co_await store.expunge(ctx.user, view->mailboxes[c->mailbox].info.name, std::move(uids));
      if (!gone) co_return set_error("serverFail", gone.error().detail);
    }
  }
  ctx.invalidate();
  co_return std::nullopt;
}

rt::Task<std::optional<json::object>> destroy_email(CallContext& ctx, const std::string& id) {
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return set_error("serverFail");
  const EmailEntry* e = view->email(id);
  if (e == nullptr) co_return set_error("notFound");
  const EmailEntry email = *e;
  for (const auto& c : email.copies) {
    std::vector<std::uint32_t> uids{c.info.uid};
    auto gone = co_await ctx.api.store().expunge(ctx.user, view->mailboxes[c.mailbox].info.name, std::move(uids));
    if (!gone) co_return set_error("serverFail", gone.error().detail);
  }
  ctx.invalidate();
  co_return std::nullopt;
}

rt::Task<void> email_set(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  const std::string old_state = view->email_state();
  bool bad = false;
  if (auto if_in = string_arg(args, "ifInState", bad); if_in && *if_in != old_state) co_return ctx.error("stateMismatch");
  std::size_t objects = 0;
  for (const auto* key : {"create", "update"}) {
    if (const auto* v = args.if_contains(key); v != nullptr && v->is_object()) objects += v->get_object().size();
  }
  if (const auto* v = args.if_contains("destroy"); v != nullptr && v->is_array()) objects += v->get_array().size();
  if (objects > ctx.api.config().limits.max_objects_in_set) co_return ctx.error("requestTooLarge");
  SetResults results;
  auto& [created, updated, not_created, not_updated, not_destroyed, destroyed] = results;
  if (const auto* create = args.if_contains("create"); create != nullptr && create->is_object()) {
    for (const auto& [cid, value] : create->get_object()) {
      view = co_await ctx.load_view(true);
      if (view == nullptr) co_return;
      const auto* o = value.if_object();
      if (o == nullptr) {
        not_created[cid] = set_error("invalidProperties");
        continue;
      }
      std::vector<std::string> mailboxes;
      const auto* mids = o->if_contains("mailboxIds");
      if (mids != nullptr && mids->is_object()) {
        for (const auto& [mid, v] : mids->get_object()) {
          const auto resolved = ctx.resolve_id(mid);
          if (resolved && view->mailbox(*resolved) != nullptr && v.is_bool() && v.get_bool()) {
            mailboxes.push_back(*resolved);
          } else {
            mailboxes.clear();
            break;
          }
        }
      }
      if (mailboxes.empty()) {
        not_created[cid] = set_error("invalidProperties", "mailboxIds", {"mailboxIds"});
        continue;
      }
      // Attachments may name uploads or parts of stored Emails (forward, a draft edited):
      // the stored ones are read first, build_email's lookup is synchronous.
      std::map<std::string, std::string, std::less<>> stored = co_await stored_blobs(ctx, *view, *o);
      BlobLookup lookup = [&ctx, &stored](std::string_view blob_id) -> std::optional<std::string> {
        if (auto it = stored.find(blob_id); it != stored.end()) return it->second;
        const UploadedBlob* b = ctx.api.blobs().get(ctx.account_id, blob_id, ctx.now());
        if (b == nullptr) return std::nullopt;
        return b->bytes;
      };
      const std::string unique = std::to_string(ctx.now()) + "." + std::to_string(view->highest_modseq()) + "." + std::string(cid);
      auto built = build_email(*o, lookup, ctx.now(), ctx.api.config().hostname, unique);
      if (auto* wrong = std::get_if<std::vector<std::string>>(&built)) {
        not_created[cid] = set_error("invalidProperties", {}, *wrong);
        continue;
      }
      std::string message = std::move(std::get<BuiltEmail>(built).message);
      co_await store_new_email(ctx, *view, std::string(cid), std::move(message), mailboxes, *o, created, not_created);
    }
  }
  if (const auto* update = args.if_contains("update"); update != nullptr && update->is_object()) {
    for (const auto& [raw, patch] : update->get_object()) {
      const auto id = ctx.resolve_id(raw);
      if (!id || !patch.is_object()) {
        not_updated[raw] = set_error(id ? "invalidPatch" : "notFound");
        continue;
      }
      auto failed = co_await update_email(ctx, *id, patch.get_object());
      if (failed) {
        not_updated[raw] = std::move(*failed);
      } else {
        updated[raw] = nullptr;
      }
    }
  }
  if (const auto* destroy = args.if_contains("destroy"); destroy != nullptr && destroy->is_array()) {
    for (const auto& raw : destroy->get_array()) {
      if (!raw.is_string()) continue;
      const auto id = ctx.resolve_id(raw.get_string());
      std::optional<json::object> failed = set_error("notFound");
      if (id) failed = co_await destroy_email(ctx, *id);
      if (failed) {
        not_destroyed[raw.get_string()] = std::move(*failed);
      } else {
        destroyed.push_back(raw);
      }
    }
  }
  view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  json::object out{{"accountId", ctx.account_id}, {"oldState", old_state}, {"newState", view->email_state()}};
  results.put_into(out);
  ctx.respond("Email/set", std::move(out));
}

rt::Task<void> email_import(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  const auto* emails = args.if_contains("emails");
  if (emails == nullptr || !emails->is_object()) co_return ctx.error("invalidArguments", "emails");
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  const std::string old_state = view->email_state();
  json::object created, not_created;
  for (const auto& [cid, value] : emails->get_object()) {
    view = co_await ctx.load_view(true);
    if (view == nullptr) co_return;
    const auto* o = value.if_object();
    const auto* blob_id = o ? o->if_contains("blobId") : nullptr;
    const auto* mids = o ? o->if_contains("mailboxIds") : nullptr;
    if (blob_id == nullptr || !blob_id->is_string() || mids == nullptr || !mids->is_object()) {
      not_created[cid] = set_error("invalidProperties", {}, {"blobId", "mailboxIds"});
      continue;
    }
    std::vector<std::string> mailboxes;
    for (const auto& [mid, v] : mids->get_object()) {
      const auto resolved = ctx.resolve_id(mid);
      if (resolved && view->mailbox(*resolved) != nullptr && v.is_bool() && v.get_bool()) mailboxes.push_back(*resolved);
    }
    if (mailboxes.empty() || mailboxes.size() != mids->get_object().size()) {
      not_created[cid] = set_error("invalidProperties", {}, {"mailboxIds"});
      continue;
    }
    const UploadedBlob* blob = ctx.api.blobs().get(ctx.account_id, blob_id->get_string(), ctx.now());
    if (blob == nullptr) {
      not_created[cid] = set_error("blobNotFound");
      continue;
    }
    co_await store_new_email(ctx, *view, std::string(cid), blob->bytes, mailboxes, *o, created, not_created);
  }
  view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  json::object out{{"accountId", ctx.account_id}, {"oldState", old_state}, {"newState", view->email_state()}};
  out["created"] = created.empty() ? json::value(nullptr) : json::value(std::move(created));
  out["notCreated"] = not_created.empty() ? json::value(nullptr) : json::value(std::move(not_created));
  ctx.respond("Email/import", std::move(out));
}

rt::Task<void> email_parse(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto blob_ids = string_list(args, "blobIds", bad);
  auto properties = string_list(args, "properties", bad);
  auto body_properties = string_list(args, "bodyProperties", bad);
  const BodyValueOptions options = body_value_options(args, bad);
  if (bad || !blob_ids) co_return ctx.error("invalidArguments");
  std::vector<std::string> props = properties ? *properties
                                              : std::vector<std::string>{"messageId", "inReplyTo", "references", "sender",
                                                                         "from", "to", "cc", "bcc", "replyTo", "subject",
                                                                         "sentAt", "hasAttachment", "preview",
                                                                         "bodyValues", "textBody", "htmlBody",
                                                                         "attachments"};
  json::object parsed;
  json::array not_parsable, not_found;
  for (const auto& id : *blob_ids) {
    std::optional<std::string> bytes;
    std::string content_id = id;
    if (const UploadedBlob* b = ctx.api.blobs().get(ctx.account_id, id, ctx.now())) {
      bytes = b->bytes;
    } else if (auto ref = parse_blob_id(id); ref && ref->kind == BlobRef::Kind::message) {
      const AccountView* view = co_await ctx.load_view(true);
      if (view == nullptr) co_return;
      if (const EmailEntry* e = view->email(email_id(ref->content_id))) bytes = co_await read_email(ctx, *e);
      content_id = ref->content_id;
    }
    if (!bytes) {
      not_found.push_back(json::string(id));
      continue;
    }
    json::object o;
    EmailParseContext pc;
    pc.content_id = content_id;
    add_email_properties(*bytes, props, body_properties ? &*body_properties : nullptr, options, pc, o);
    for (const auto& p : props) {  // an Email parsed from a blob has no metadata (RFC 8621 §4.9)
      if (p == "id" || p == "mailboxIds" || p == "keywords" || p == "receivedAt") o[p] = nullptr;
      if (p == "blobId") o[p] = id;
      if (p == "size") o[p] = bytes->size();
    }
    parsed[id] = std::move(o);
  }
  ctx.respond("Email/parse", json::object{{"accountId", ctx.account_id},
                                          {"parsed", parsed.empty() ? json::value(nullptr) : json::value(std::move(parsed))},
                                          {"notParsable", std::move(not_parsable)},
                                          {"notFound", std::move(not_found)}});
}

}  // namespace mail::jmap
