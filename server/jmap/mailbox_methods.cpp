// Mailbox/get, /changes, /query, /queryChanges, /set (RFC 8621 §2) over the store's folders.
// Must not: name a folder by anything but its UIDVALIDITY id, or delete a mailbox with
// Emails unless onDestroyRemoveEmails (RFC 8621 §2.5).
#include <algorithm>

#include "core/ascii.h"
#include "jmap/ids.h"
#include "jmap/method_context.h"

namespace mail::jmap {
namespace {

json::object mailbox_json(const MailboxEntry& m, const std::vector<std::string>* properties) {
  json::object all{
      {"id", m.id},
      {"name", m.name},
      {"parentId", m.parent_id.empty() ? json::value(nullptr) : json::value(m.parent_id)},
      {"role", m.role.empty() ? json::value(nullptr) : json::value(m.role)},
      {"sortOrder", m.role == "inbox" ? 0 : (m.role.empty() ? 10 : 5)},
      {"totalEmails", m.status.messages},
      {"unreadEmails", m.status.unseen},
      {"totalThreads", m.threads},
      {"unreadThreads", m.unread_threads},
      {"myRights", json::object{{"mayReadItems", true},
                                {"mayAddItems", true},
                                {"mayRemoveItems", true},
                                {"maySetSeen", true},
                                {"maySetKeywords", true},
                                {"mayCreateChild", true},
                                {"mayRename", m.role != "inbox"},
                                {"mayDelete", m.role != "inbox"},
                                {"maySubmit", true}}},
      {"isSubscribed", m.info.subscribed},
  };
  if (properties == nullptr) return all;
  json::object out{{"id", m.id}};
  for (const auto& p : *properties) {
    if (const auto* v = all.if_contains(p)) out[p] = *v;
  }
  return out;
}

// The full folder name of a mailbox called `name` under `parent` ("" = top level).
std::string full_name(const AccountView& view, const std::string& parent_id, const std::string& name) {
  if (parent_id.empty()) return name;
  const MailboxEntry* parent = view.mailbox(parent_id);
  return parent == nullptr ? std::string() : parent->info.name + store::kFolderDelimiter + name;
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name.find(store::kFolderDelimiter) == std::string_view::npos;
}

}  // namespace

rt::Task<void> mailbox_get(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto ids = string_list(args, "ids", bad);
  auto properties = string_list(args, "properties", bad);
  if (bad) co_return ctx.error("invalidArguments");
  if (ids && ids->size() > ctx.api.config().limits.max_objects_in_get) co_return ctx.error("requestTooLarge");
  const AccountView* view = co_await ctx.load_view(true);  // thread counts (shared, usually cached)
  if (view == nullptr) co_return;
  json::array list, not_found;
  if (ids) {
    for (const auto& raw : *ids) {
      const auto id = ctx.resolve_id(raw);
      const MailboxEntry* m = id ? view->mailbox(*id) : nullptr;
      if (m == nullptr) {
        not_found.push_back(json::string(raw));
      } else {
        list.push_back(mailbox_json(*m, properties ? &*properties : nullptr));
      }
    }
  } else {
    for (const auto& m : view->mailboxes) list.push_back(mailbox_json(m, properties ? &*properties : nullptr));
  }
  ctx.respond("Mailbox/get", json::object{{"accountId", ctx.account_id},
                                          {"state", view->mailbox_state()},
                                          {"list", std::move(list)},
                                          {"notFound", std::move(not_found)}});
}

rt::Task<void> mailbox_changes(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto since = string_arg(args, "sinceState", bad);
  if (bad || !since) co_return ctx.error("invalidArguments");
  const AccountView* view = co_await ctx.load_view(false);
  if (view == nullptr) co_return;
  const std::string now = view->mailbox_state();
  const auto dash = since->find('-');
  const std::string hash = dash == std::string::npos ? "" : since->substr(dash);
  if (dash == std::string::npos || now.substr(now.find('-')) != hash) {
    co_return ctx.error("cannotCalculateChanges", "Mailboxes were created, renamed or deleted since.");
  }
  std::uint64_t since_modseq = 0;
  try {
    since_modseq = std::stoull(since->substr(0, dash));
  } catch (...) {
    co_return ctx.error("cannotCalculateChanges");
  }
  json::array updated;
  for (const auto& m : view->mailboxes) {
    if (m.status.highestmodseq > since_modseq) updated.push_back(json::string(m.id));
  }
  ctx.respond("Mailbox/changes",
              json::object{{"accountId", ctx.account_id},
                           {"oldState", *since},
                           {"newState", now},
                           {"hasMoreChanges", false},
                           {"created", json::array{}},
                           {"updated", std::move(updated)},
                           {"destroyed", json::array{}},
                           // only the counts change without a folder-set change (RFC 8621 §2.2)
                           {"updatedProperties", json::array{"totalEmails", "unreadEmails", "totalThreads",
                                                             "unreadThreads"}}});
}

rt::Task<void> mailbox_query(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  const AccountView* view = co_await ctx.load_view(false);
  if (view == nullptr) co_return;
  std::vector<const MailboxEntry*> matches;
  const json::object* filter = nullptr;
  if (const auto* f = args.if_contains("filter"); f != nullptr && !f->is_null()) {
    if (!f->is_object()) co_return ctx.error("invalidArguments", "filter");
    filter = &f->get_object();
  }
  for (const auto& m : view->mailboxes) {
    bool ok = true;
    if (filter != nullptr) {
      for (const auto& [key, value] : *filter) {
        if (key == "parentId") {
          ok = ok && (value.is_null() ? m.parent_id.empty() : (value.is_string() && m.parent_id == value.get_string()));
        } else if (key == "name") {
          ok = ok && value.is_string() && m.name.find(std::string_view(value.get_string())) != std::string::npos;
        } else if (key == "role") {
          ok = ok && (value.is_null() ? m.role.empty() : (value.is_string() && m.role == value.get_string()));
        } else if (key == "hasAnyRole") {
          ok = ok && value.is_bool() && value.get_bool() == !m.role.empty();
        } else if (key == "isSubscribed") {
          ok = ok && value.is_bool() && value.get_bool() == m.info.subscribed;
        } else {
          co_return ctx.error("unsupportedFilter", key);
        }
      }
    }
    if (ok) matches.push_back(&m);
  }
  bool by_name = false;
  if (const auto* sort = args.if_contains("sort"); sort != nullptr && sort->is_array()) {
    for (const auto& c : sort->get_array()) {
      const auto* prop = c.is_object() ? c.get_object().if_contains("property") : nullptr;
      if (prop == nullptr || !prop->is_string()) co_return ctx.error("invalidArguments", "sort");
      if (prop->get_string() == "name") {
        by_name = true;
      } else if (prop->get_string() != "sortOrder") {
        co_return ctx.error("unsupportedSort", std::string(prop->get_string()));
      }
    }
  }
  std::stable_sort(matches.begin(), matches.end(), [&](const MailboxEntry* a, const MailboxEntry* b) {
    if (by_name) return a->info.name < b->info.name;
    const int oa = a->role == "inbox" ? 0 : (a->role.empty() ? 10 : 5);
    const int ob = b->role == "inbox" ? 0 : (b->role.empty() ? 10 : 5);
    return oa != ob ? oa < ob : a->info.name < b->info.name;
  });
  json::array ids;
  for (const auto* m : matches) ids.push_back(json::string(m->id));
  const std::size_t total = ids.size();
  ctx.respond("Mailbox/query", json::object{{"accountId", ctx.account_id},
                                            {"queryState", view->mailbox_state()},
                                            {"canCalculateChanges", false},
                                            {"position", 0},
                                            {"ids", std::move(ids)},
                                            {"total", total}});
}

rt::Task<void> mailbox_query_changes(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  ctx.error("cannotCalculateChanges", "Query changes are not kept; run Mailbox/query again.");
}

rt::Task<void> mailbox_set(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  const AccountView* view = co_await ctx.load_view(false);
  if (view == nullptr) co_return;
  const std::string old_state = view->mailbox_state();
  bool bad = false;
  if (auto if_in = string_arg(args, "ifInState", bad); if_in && *if_in != old_state) {
    co_return ctx.error("stateMismatch");
  }
  const bool remove_emails = bool_arg(args, "onDestroyRemoveEmails", bad).value_or(false);
  if (bad) co_return ctx.error("invalidArguments");
  store::MailStore& store = ctx.api.store();
  SetResults results;
  auto& [created, updated, not_created, not_updated, not_destroyed, destroyed] = results;
  if (const auto* create = args.if_contains("create"); create != nullptr && create->is_object()) {
    for (const auto& [cid, value] : create->get_object()) {
      const auto* o = value.if_object();
      const auto* name = o ? o->if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string() || !valid_name(name->get_string())) {
        not_created[cid] = set_error("invalidProperties", "name", {"name"});
        continue;
      }
      std::string parent;
      if (const auto* p = o->if_contains("parentId"); p != nullptr && p->is_string()) {
        parent = ctx.resolve_id(p->get_string()).value_or("");
        if (view->mailbox(parent) == nullptr) {
          not_created[cid] = set_error("invalidProperties", "parentId", {"parentId"});
          continue;
        }
      }
      store::SpecialUse use = store::SpecialUse::none;
      if (const auto* r = o->if_contains("role"); r != nullptr && r->is_string()) {
        auto u = special_use_of_role(r->get_string());
        if (!u) {
          not_created[cid] = set_error("invalidProperties", "role", {"role"});
          continue;
        }
        use = *u;
      }
      const std::string full = full_name(*view, parent, std::string(name->get_string()));
      Status made = co_await store.create_folder(ctx.user, full, use);
      if (!made.ok()) {
        not_created[cid] = made.error().code == Errc::exists ? set_error("invalidProperties", "exists", {"name"})
                                                             : set_error("invalidProperties", made.error().detail);
        continue;
      }
      if (const auto* s = o->if_contains("isSubscribed"); s != nullptr && s->is_bool() && !s->get_bool()) {
        (void)co_await store.set_subscribed(ctx.user, full, false);
      }
      auto status = co_await store.folder_status(ctx.user, full);
      if (!status) continue;
      const std::string id = mailbox_id(status->uidvalidity);
      created[cid] = json::object{{"id", id}, {"totalEmails", 0}, {"unreadEmails", 0}, {"totalThreads", 0},
                                  {"unreadThreads", 0}, {"sortOrder", 10}};
      ctx.created_ids[cid] = id;
      ctx.invalidate();
      view = co_await ctx.load_view(false);
      if (view == nullptr) co_return;
    }
  }
  if (const auto* update = args.if_contains("update"); update != nullptr && update->is_object()) {
    for (const auto& [raw_id, value] : update->get_object()) {
      const std::string id = ctx.resolve_id(raw_id).value_or(std::string(raw_id));
      const MailboxEntry* m = view->mailbox(id);
      const auto* o = value.if_object();
      if (m == nullptr || o == nullptr) {
        not_updated[raw_id] = set_error("notFound");
        continue;
      }
      std::string name = m->name;
      std::string parent = m->parent_id;
      bool rename = false;
      std::vector<std::string> wrong;
      for (const auto& [key, v] : *o) {
        if (key == "name" && v.is_string() && valid_name(v.get_string())) {
          rename = rename || v.get_string() != name;
          name = std::string(v.get_string());
        } else if (key == "parentId" && (v.is_null() || v.is_string())) {
          std::string p = v.is_null() ? std::string() : ctx.resolve_id(v.get_string()).value_or("");
          if (!p.empty() && view->mailbox(p) == nullptr) wrong.emplace_back(key);
          rename = rename || p != parent;
          parent = p;
        } else if (key == "isSubscribed" && v.is_bool()) {
          (void)co_await store.set_subscribed(ctx.user, m->info.name, v.get_bool());
        } else if (key == "sortOrder" || key == "role") {
          // accepted as they are (the order and roles follow the folders' special use)
        } else {
          wrong.emplace_back(key);
        }
      }
      if (!wrong.empty()) {
        not_updated[raw_id] = set_error("invalidProperties", {}, wrong);
        continue;
      }
      if (rename) {
        if (m->role == "inbox") {
          not_updated[raw_id] = set_error("forbidden", "The inbox cannot be renamed.");
          continue;
        }
        const std::string to = full_name(*view, parent, name);
        Status moved = co_await store.rename_folder(ctx.user, m->info.name, to);
        if (!moved.ok()) {
          not_updated[raw_id] = set_error("invalidProperties", moved.error().detail, {"name"});
          continue;
        }
      }
      updated[raw_id] = nullptr;
      ctx.invalidate();
      view = co_await ctx.load_view(false);
      if (view == nullptr) co_return;
    }
  }
  if (const auto* destroy = args.if_contains("destroy"); destroy != nullptr && destroy->is_array()) {
    for (const auto& raw : destroy->get_array()) {
      if (!raw.is_string()) continue;
      const std::string id = ctx.resolve_id(raw.get_string()).value_or(std::string(raw.get_string()));
      const MailboxEntry* m = view->mailbox(id);
      if (m == nullptr) {
        not_destroyed[raw.get_string()] = set_error("notFound");
        continue;
      }
      if (m->role == "inbox") {
        not_destroyed[raw.get_string()] = set_error("forbidden", "The inbox cannot be deleted.");
        continue;
      }
      bool has_child = false;
      for (const auto& other : view->mailboxes) has_child = has_child || other.parent_id == m->id;
      if (has_child) {
        not_destroyed[raw.get_string()] = set_error("mailboxHasChild");
        continue;
      }
      if (m->status.messages > 0 && !remove_emails) {
        not_destroyed[raw.get_string()] = set_error("mailboxHasEmail");
        continue;
      }
      Status gone = co_await store.delete_folder(ctx.user, m->info.name);
      if (!gone.ok()) {
        not_destroyed[raw.get_string()] = set_error("serverFail", gone.error().detail);
        continue;
      }
      destroyed.push_back(json::string(id));
      ctx.invalidate();
      view = co_await ctx.load_view(false);
      if (view == nullptr) co_return;
    }
  }
  json::object out{{"accountId", ctx.account_id}, {"oldState", old_state}, {"newState", view->mailbox_state()}};
  results.put_into(out);
  ctx.respond("Mailbox/set", std::move(out));
}

}  // namespace mail::jmap
