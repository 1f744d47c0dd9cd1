// Email/get, /changes, /query, /queryChanges, Thread/get, /changes and SearchSnippet/get
// (RFC 8621 §3, §4.2-§4.5, §5) over the AccountView. The message contents come from the
// store: the header block (kept beside the index) when only header properties are asked,
// the whole message otherwise. Must not: report an Email that is gone, or hide one that is
// there.
#include <algorithm>
#include <map>
#include <set>

#include "jmap/email_parse.h"
#include "core/ascii.h"
#include "jmap/ids.h"
#include "jmap/method_context.h"
#include "jmap/search_snippet.h"
#include "proto/message/encoded_word.h"
#include "proto/message/header.h"
#include "proto/message/search_text.h"

namespace mail::jmap {
namespace {

const std::vector<std::string> kDefaultEmailProperties = {
    "id",      "blobId",   "threadId", "mailboxIds", "keywords",      "size",    "receivedAt", "messageId",
    "inReplyTo", "references", "sender", "from",     "to",            "cc",      "bcc",        "replyTo",
    "subject", "sentAt",   "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments"};

bool is_metadata(std::string_view p) {
  return p == "id" || p == "blobId" || p == "threadId" || p == "mailboxIds" || p == "keywords" || p == "size" ||
         p == "receivedAt";
}

void add_metadata(const AccountView& view, const EmailEntry& e, const std::vector<std::string>& properties,
                  json::object& out) {
  for (const auto& p : properties) {
    if (p == "id") {
      out["id"] = email_id(e.content_id);
    } else if (p == "blobId") {
      out["blobId"] = message_blob_id(e.content_id);
    } else if (p == "threadId") {
      out["threadId"] = e.thread_id;
    } else if (p == "mailboxIds") {
      json::object ids;
      for (const auto& c : e.copies) ids[view.mailboxes[c.mailbox].id] = true;
      out["mailboxIds"] = std::move(ids);
    } else if (p == "keywords") {
      json::object kw;
      for (const auto& k : keywords_of(e.first().info.flags)) kw[k] = true;
      out["keywords"] = std::move(kw);
    } else if (p == "size") {
      out["size"] = e.first().info.size;
    } else if (p == "receivedAt") {
      out["receivedAt"] = format_utc_date(e.first().info.internal_date);
    }
  }
}

// Reads the header blocks (or whole messages) of `emails`, grouped by the folder of each one's
// first copy; the result is in the order of `emails` ("" for one that vanished).
rt::Task<std::vector<std::string>> read_contents(CallContext& ctx, const AccountView& view,
                                                  const std::vector<const EmailEntry*>& emails, bool whole) {
  std::vector<std::string> out(emails.size());
  std::map<std::size_t, std::vector<std::size_t>> by_mailbox;  // mailbox -> indexes into emails
  for (std::size_t i = 0; i < emails.size(); ++i) by_mailbox[emails[i]->first().mailbox].push_back(i);
  for (auto& [mailbox, indexes] : by_mailbox) {
    std::vector<std::uint32_t> uids;
    for (auto i : indexes) uids.push_back(emails[i]->first().info.uid);
    const std::string& folder = view.mailboxes[mailbox].info.name;
    if (whole) {
      auto read = co_await ctx.api.store().read_many(ctx.user, folder, uids);
      if (!read) continue;
      for (std::size_t k = 0; k < indexes.size() && k < read->size(); ++k) {
        if ((*read)[k]) out[indexes[k]] = std::move(*(*read)[k]);
      }
    } else {
      auto read = co_await ctx.api.store().read_headers(ctx.user, folder, uids);
      if (!read) continue;
      for (std::size_t k = 0; k < indexes.size() && k < read->size(); ++k) out[indexes[k]] = std::move((*read)[k]);
    }
  }
  co_return out;
}

// ------------------------------------------------------------------ Email/query filters
struct QueryCaches {
  std::vector<std::string> headers;  // per email of the view, when a header condition needs them
  bool have_headers = false;
  // FTS results per (condition, mailbox): uids that may match.
  std::map<const json::object*, std::set<std::pair<std::size_t, std::uint32_t>>> text_hits;
};

bool header_condition(std::string_view key) {
  return key == "from" || key == "to" || key == "cc" || key == "bcc" || key == "subject" || key == "header";
}

bool needs_headers(const json::object& f) {
  if (const auto* conds = f.if_contains("conditions"); conds != nullptr && conds->is_array()) {
    for (const auto& c : conds->get_array()) {
      if (c.is_object() && needs_headers(c.get_object())) return true;
    }
  }
  for (const auto& [key, unused] : f) {
    if (header_condition(key) || key == "text") return true;
  }
  return false;
}

std::optional<std::string> validate_filter(const json::object& f, int depth) {
  if (depth > 16) return "filter nesting too deep";
  if (const auto* op = f.if_contains("operator")) {
    const auto* conds = f.if_contains("conditions");
    if (!op->is_string() || conds == nullptr || !conds->is_array()) return "invalid FilterOperator";
    const auto o = op->get_string();
    if (o != "AND" && o != "OR" && o != "NOT") return "invalid FilterOperator";
    for (const auto& c : conds->get_array()) {
      if (!c.is_object()) return "invalid FilterOperator";
      if (auto e = validate_filter(c.get_object(), depth + 1)) return e;
    }
    return std::nullopt;
  }
  static const std::set<std::string, std::less<>> known = {
      "inMailbox", "inMailboxOtherThan", "before", "after", "minSize", "maxSize", "hasKeyword", "notKeyword",
      "allInThreadHaveKeyword", "someInThreadHaveKeyword", "noneInThreadHaveKeyword", "hasAttachment",
      "text", "from", "to", "cc", "bcc", "subject", "body", "header"};
  for (const auto& [key, value] : f) {
    if (!known.contains(key)) return "unsupported condition " + std::string(key);
    if (key == "inMailboxOtherThan") {
      if (!value.is_array()) return "inMailboxOtherThan";
    } else if (key == "minSize" || key == "maxSize") {
      if (!value.is_number()) return std::string(key);
    } else if (key == "hasAttachment") {
      if (!value.is_bool()) return std::string(key);
    } else if (key == "header") {
      if (!value.is_array() || value.get_array().empty() || value.get_array().size() > 2) return "header";
    } else if (!value.is_string()) {
      return std::string(key);
    }
  }
  return std::nullopt;
}

std::string header_text(std::string_view block, std::string_view name) {
  const auto fields = message::parse_header_fields(block);
  std::string out;
  for (const auto& f : fields.fields) {
    if (!iequals(f.name, name)) continue;
    out += message::decode_encoded_words(message::unfold(f.value));
    out += '\n';
  }
  return out;
}

bool has_keyword(const EmailEntry& e, std::string_view keyword) {
  const auto kws = keywords_of(e.first().info.flags);
  return std::find(kws.begin(), kws.end(), ascii_lower(keyword)) != kws.end();
}

bool eval(const json::object& f, const AccountView& view, std::size_t index, QueryCaches& caches) {
  const EmailEntry& e = view.emails[index];
  if (const auto* op = f.if_contains("operator")) {
    const auto o = op->get_string();
    const auto& conds = f.at("conditions").get_array();
    if (o == "AND") {
      for (const auto& c : conds) {
        if (!eval(c.get_object(), view, index, caches)) return false;
      }
      return true;
    }
    bool any = false;
    for (const auto& c : conds) any = any || eval(c.get_object(), view, index, caches);
    return o == "OR" ? any : !any;
  }
  for (const auto& [key, value] : f) {
    bool ok = true;
    if (key == "inMailbox") {
      const std::string_view wanted = value.get_string();
      ok = false;
      for (const auto& c : e.copies) ok = ok || view.mailboxes[c.mailbox].id == wanted;
    } else if (key == "inMailboxOtherThan") {
      ok = false;
      for (const auto& c : e.copies) {
        bool listed = false;
        for (const auto& id : value.get_array()) listed = listed || (id.is_string() && id.get_string() == view.mailboxes[c.mailbox].id);
        ok = ok || !listed;
      }
    } else if (key == "before" || key == "after") {
      const auto at = parse_utc_date(value.get_string());
      const std::int64_t received = e.first().info.internal_date;
      ok = at && (key == "before" ? received < *at : received >= *at);
    } else if (key == "minSize") {
      ok = static_cast<double>(e.first().info.size) >= value.to_number<double>();
    } else if (key == "maxSize") {
      ok = static_cast<double>(e.first().info.size) < value.to_number<double>();
    } else if (key == "hasKeyword") {
      ok = has_keyword(e, value.get_string());
    } else if (key == "notKeyword") {
      ok = !has_keyword(e, value.get_string());
    } else if (key == "allInThreadHaveKeyword" || key == "someInThreadHaveKeyword" ||
               key == "noneInThreadHaveKeyword") {  // RFC 8621 §4.4.1, over the thread's Emails
      std::size_t with = 0, members = 0;
      if (const auto* thread = view.thread(e.thread_id)) {
        for (auto m : *thread) {
          ++members;
          with += has_keyword(view.emails[m], value.get_string()) ? 1 : 0;
        }
      }
      ok = key == "allInThreadHaveKeyword" ? (members > 0 && with == members)
           : key == "someInThreadHaveKeyword" ? with > 0 : with == 0;
    } else if (key == "hasAttachment") {
      ok = true;  // decided after the fact would need the body; every Email passes (superset)
    } else if (key == "body" || key == "text") {
      const auto& hits = caches.text_hits[&f];
      ok = false;
      for (const auto& c : e.copies) ok = ok || hits.contains({c.mailbox, c.info.uid});
      if (key == "text" && !ok) {
        const std::string& block = caches.headers[index];
        for (std::string_view h : {"From", "To", "Cc", "Bcc", "Subject"}) {
          ok = ok || message::search_contains(header_text(block, h), value.get_string());
        }
      }
    } else if (header_condition(key)) {
      const std::string& block = caches.headers[index];
      if (key == "header") {
        const auto& arr = value.get_array();
        const std::string name = arr[0].is_string() ? std::string(arr[0].get_string()) : std::string();
        const std::string text = header_text(block, name);
        ok = arr.size() == 1 ? message::find_field(message::parse_header_fields(block).fields, name) != nullptr
                             : (arr[1].is_string() && message::search_contains(text, arr[1].get_string()));
      } else {
        std::string name(key);
        name[0] = static_cast<char>(name[0] - 'a' + 'A');
        ok = message::search_contains(header_text(block, name), value.get_string());
      }
    }
    if (!ok) return false;
  }
  return true;
}

// Runs the FTS lookups of every body/text condition before evaluation.
rt::Task<void> prefetch_text(CallContext& ctx, const AccountView& view, const json::object& f, QueryCaches& caches) {
  if (const auto* conds = f.if_contains("conditions"); conds != nullptr && conds->is_array()) {
    for (const auto& c : conds->get_array()) co_await prefetch_text(ctx, view, c.get_object(), caches);
  }
  for (const auto& [key, value] : f) {
    if (key != "body" && key != "text") continue;
    std::vector<std::string> terms;
    std::string term;
    for (char ch : std::string_view(value.get_string())) {
      if (ch == ' ' || ch == '\t') {
        if (!term.empty()) terms.push_back(std::move(term));
        term.clear();
      } else {
        term += ch;
      }
    }
    if (!term.empty()) terms.push_back(std::move(term));
    auto& hits = caches.text_hits[&f];
    const auto field = key == "body" ? store::TextField::body : store::TextField::text;
    for (std::size_t m = 0; m < view.mailboxes.size(); ++m) {
      auto found = co_await ctx.api.store().search_text(ctx.user, view.mailboxes[m].info.name, field, terms);
      if (!found) continue;
      for (auto uid : *found) hits.insert({m, uid});
    }
  }
}

struct SortKey {
  std::string property;
  bool ascending = false;
  std::string keyword;
};

}  // namespace

rt::Task<void> email_get(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto ids = string_list(args, "ids", bad);
  auto properties = string_list(args, "properties", bad);
  auto body_properties = string_list(args, "bodyProperties", bad);
  const BodyValueOptions options = body_value_options(args, bad);
  if (bad) co_return ctx.error("invalidArguments");
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  const std::size_t max = ctx.api.config().limits.max_objects_in_get;
  if ((ids && ids->size() > max) || (!ids && view->emails.size() > max)) co_return ctx.error("requestTooLarge");
  std::vector<std::string> props = properties ? *properties : kDefaultEmailProperties;
  if (std::find(props.begin(), props.end(), "id") == props.end()) props.insert(props.begin(), "id");
  std::vector<std::string> content_props;
  for (const auto& p : props) {
    if (!is_metadata(p)) content_props.push_back(p);
  }
  std::vector<const EmailEntry*> found;
  json::array not_found;
  if (ids) {
    for (const auto& raw : *ids) {
      const auto id = ctx.resolve_id(raw);
      const EmailEntry* e = id ? view->email(*id) : nullptr;
      if (e == nullptr) {
        not_found.push_back(json::string(raw));
      } else {
        found.push_back(e);
      }
    }
  } else {
    for (const auto& e : view->emails) found.push_back(&e);
  }
  std::vector<std::string> contents;
  if (!content_props.empty()) {
    const bool whole = needs_body(content_props, options);
    contents = co_await read_contents(ctx, *view, found, whole);
  }
  json::array list;
  for (std::size_t i = 0; i < found.size(); ++i) {
    json::object o;
    add_metadata(*view, *found[i], props, o);
    if (!content_props.empty()) {
      EmailParseContext pc;
      pc.content_id = found[i]->content_id;
      add_email_properties(contents[i], content_props, body_properties ? &*body_properties : nullptr, options, pc, o);
    }
    list.push_back(std::move(o));
  }
  ctx.respond("Email/get", json::object{{"accountId", ctx.account_id},
                                        {"state", view->email_state()},
                                        {"list", std::move(list)},
                                        {"notFound", std::move(not_found)}});
}

// Email/changes and Thread/changes (RFC 8620 §5.2) from the folders' change logs.
static rt::Task<void> changes(CallContext& ctx, json::object& args, bool threads) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto since = string_arg(args, "sinceState", bad);
  if (bad || !since) co_return ctx.error("invalidArguments");
  std::uint64_t since_modseq = 0;
  try {
    std::size_t used = 0;
    since_modseq = std::stoull(*since, &used);
    if (used != since->size()) throw std::invalid_argument("state");
  } catch (...) {
    co_return ctx.error("cannotCalculateChanges", "Unknown state.");
  }
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  if (since_modseq > view->highest_modseq()) co_return ctx.error("cannotCalculateChanges", "Unknown state.");
  std::set<std::string> created, updated, destroyed;
  for (std::size_t m = 0; m < view->mailboxes.size(); ++m) {
    auto log = co_await ctx.api.store().changes_since(ctx.user, view->mailboxes[m].info.name, since_modseq);
    if (!log) {
      if (log.error().code == Errc::expired) co_return ctx.error("cannotCalculateChanges", "The change log was pruned.");
      continue;
    }
    for (const auto& change : log->changes) {
      if (change.kind == store::FolderChange::Kind::expunged) {
        if (change.info.content_id.empty()) {
          co_return ctx.error("cannotCalculateChanges", "An expunged message's Email is not known.");
        }
        const std::string id = email_id(change.info.content_id);
        (view->email(id) != nullptr ? updated : destroyed).insert(id);
        continue;
      }
      const std::string id = email_id(change.info.content_id);
      const EmailEntry* e = view->email(id);
      if (e == nullptr) continue;  // gone again since: reported by its expunge
      bool older_copy = false;
      for (const auto& c : e->copies) older_copy = older_copy || c.info.modseq <= since_modseq;
      if (change.kind == store::FolderChange::Kind::added && !older_copy) {
        created.insert(id);
      } else {
        updated.insert(id);
      }
    }
  }
  for (const auto& id : created) updated.erase(id);
  for (const auto& id : destroyed) {
    created.erase(id);
  }
  auto to_array = [](const std::set<std::string>& ids) {
    json::array a;
    for (const auto& id : ids) a.push_back(json::string(id));
    return a;
  };
  if (threads) {
    // A Thread changes when one of its Emails does (RFC 8621 §3.2): created when all its
    // Emails are new, destroyed when none is left, updated otherwise.
    std::set<std::string> t_created, t_updated, t_destroyed;
    for (const auto& id : destroyed) {
      const auto content = parse_email_id(id);
      const auto tid = content ? ctx.api.known_thread(ctx.user, *content) : std::nullopt;
      if (!tid) co_return ctx.error("cannotCalculateChanges", "A destroyed Email's thread is not known.");
      (view->thread(*tid) != nullptr ? t_updated : t_destroyed).insert(*tid);
    }
    for (const auto& id : created) {
      const EmailEntry* e = view->email(id);
      bool all_new = true;
      for (auto m : *view->thread(e->thread_id)) {
        all_new = all_new && created.contains(email_id(view->emails[m].content_id));
      }
      (all_new ? t_created : t_updated).insert(e->thread_id);
    }
    for (const auto& id : updated) t_updated.insert(view->email(id)->thread_id);
    for (const auto& t : t_created) t_updated.erase(t);
    created = std::move(t_created);
    updated = std::move(t_updated);
    destroyed = std::move(t_destroyed);
  }
  ctx.respond(threads ? "Thread/changes" : "Email/changes",
              json::object{{"accountId", ctx.account_id},
                           {"oldState", *since},
                           {"newState", view->email_state()},
                           {"hasMoreChanges", false},
                           {"created", to_array(created)},
                           {"updated", to_array(updated)},
                           {"destroyed", to_array(destroyed)}});
}

rt::Task<void> email_changes(CallContext& ctx, json::object& args) { return changes(ctx, args, false); }
rt::Task<void> thread_changes(CallContext& ctx, json::object& args) { return changes(ctx, args, true); }

// The Emails of the view matching `filter` (null: all), in `sort` order.
static rt::Task<std::optional<std::vector<std::size_t>>> run_query(CallContext& ctx, const AccountView& view,
                                                                   const json::object* filter,
                                                                   const std::vector<SortKey>& sort) {
  QueryCaches caches;
  const bool need_headers_for_sort = std::any_of(sort.begin(), sort.end(), [](const SortKey& k) {
    return k.property == "from" || k.property == "to" || k.property == "subject" || k.property == "sentAt";
  });
  if ((filter != nullptr && needs_headers(*filter)) || need_headers_for_sort) {
    std::vector<const EmailEntry*> all;
    for (const auto& e : view.emails) all.push_back(&e);
    caches.headers = co_await read_contents(ctx, view, all, false);
    caches.have_headers = true;
  }
  if (filter != nullptr) co_await prefetch_text(ctx, view, *filter, caches);
  // The usual list order (newest first) is kept in the view: filter in that order, no sort.
  const bool newest_first = sort.size() == 1 && sort[0].property == "receivedAt" && !sort[0].ascending;
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < view.emails.size(); ++k) {
    const std::size_t i = newest_first ? view.newest_first()[k] : k;
    if (filter == nullptr || eval(*filter, view, i, caches)) out.push_back(i);
  }
  if (newest_first) co_return out;
  auto text_key = [&](std::size_t i, const std::string& p) {
    std::string name = p == "sentAt" ? "Date" : p;
    if (name != "Date") name[0] = static_cast<char>(name[0] - 'a' + 'A');
    return message::fold_case(header_text(caches.headers[i], name));
  };
  std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
    const auto& ea = view.emails[a];
    const auto& eb = view.emails[b];
    for (const auto& k : sort) {
      int c = 0;
      if (k.property == "receivedAt") {
        c = ea.first().info.internal_date < eb.first().info.internal_date ? -1
            : ea.first().info.internal_date > eb.first().info.internal_date ? 1 : 0;
      } else if (k.property == "size") {
        c = ea.first().info.size < eb.first().info.size ? -1 : ea.first().info.size > eb.first().info.size ? 1 : 0;
      } else if (k.property == "hasKeyword" || k.property == "someInThreadHaveKeyword" ||
                 k.property == "allInThreadHaveKeyword") {
        c = static_cast<int>(has_keyword(ea, k.keyword)) - static_cast<int>(has_keyword(eb, k.keyword));
      } else {
        const std::string ka = text_key(a, k.property), kb = text_key(b, k.property);
        c = ka < kb ? -1 : ka > kb ? 1 : 0;
      }
      if (c != 0) return k.ascending ? c < 0 : c > 0;
    }
    // Ties: the newer uid first (a stable, total order).
    return ea.first().info.uid > eb.first().info.uid;
  });
  co_return out;
}

static std::optional<std::vector<SortKey>> sort_keys(const json::object& args, std::string& bad_property) {
  std::vector<SortKey> keys;
  const auto* sort = args.if_contains("sort");
  if (sort == nullptr || sort->is_null()) {
    keys.push_back(SortKey{"receivedAt", false, {}});
    return keys;
  }
  if (!sort->is_array()) return std::nullopt;
  static const std::set<std::string, std::less<>> known = {"receivedAt", "size", "from", "to", "subject", "sentAt",
                                                           "hasKeyword", "someInThreadHaveKeyword",
                                                           "allInThreadHaveKeyword"};
  for (const auto& c : sort->get_array()) {
    const auto* o = c.if_object();
    const auto* p = o ? o->if_contains("property") : nullptr;
    if (p == nullptr || !p->is_string()) return std::nullopt;
    SortKey k;
    k.property = std::string(p->get_string());
    if (!known.contains(k.property)) {
      bad_property = k.property;
      return std::nullopt;
    }
    if (const auto* asc = o->if_contains("isAscending"); asc != nullptr && asc->is_bool()) k.ascending = asc->get_bool();
    else k.ascending = true;  // RFC 8620 §5.5: isAscending defaults to true
    if (const auto* kw = o->if_contains("keyword"); kw != nullptr && kw->is_string()) k.keyword = std::string(kw->get_string());
    keys.push_back(std::move(k));
  }
  return keys;
}

rt::Task<void> email_query(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  std::int64_t position = int_arg(args, "position", bad).value_or(0);
  auto anchor = string_arg(args, "anchor", bad);
  const std::int64_t anchor_offset = int_arg(args, "anchorOffset", bad).value_or(0);
  auto limit = int_arg(args, "limit", bad);
  const bool calculate_total = bool_arg(args, "calculateTotal", bad).value_or(false);
  const bool collapse = bool_arg(args, "collapseThreads", bad).value_or(false);
  if (bad || (limit && *limit < 0)) co_return ctx.error("invalidArguments");
  const json::object* filter = nullptr;
  if (const auto* f = args.if_contains("filter"); f != nullptr && !f->is_null()) {
    if (!f->is_object()) co_return ctx.error("invalidArguments", "filter");
    if (auto why = validate_filter(f->get_object(), 0)) co_return ctx.error("unsupportedFilter", *why);
    filter = &f->get_object();
  }
  std::string bad_sort;
  auto keys = sort_keys(args, bad_sort);
  if (!keys) {
    if (!bad_sort.empty()) co_return ctx.error("unsupportedSort", bad_sort);
    co_return ctx.error("invalidArguments", "sort");
  }
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  auto matched = co_await run_query(ctx, *view, filter, *keys);
  if (!matched) co_return;
  if (collapse) {  // RFC 8621 §4.4.3: only the first Email of each thread, in the sort order
    std::set<std::string_view> seen;
    std::erase_if(*matched, [&](std::size_t i) { return !seen.insert(view->emails[i].thread_id).second; });
  }
  const auto total = static_cast<std::int64_t>(matched->size());
  if (anchor) {
    const EmailEntry* a = view->email(*anchor);
    std::int64_t at = -1;
    for (std::int64_t i = 0; a != nullptr && i < total; ++i) {
      if (&view->emails[(*matched)[static_cast<std::size_t>(i)]] == a) at = i;
    }
    if (at < 0) co_return ctx.error("anchorNotFound");
    position = std::max<std::int64_t>(0, at + anchor_offset);
  } else if (position < 0) {
    position = std::max<std::int64_t>(0, total + position);
  }
  const std::int64_t cap = 1000;
  std::int64_t count = std::min(limit.value_or(cap), cap);
  json::array ids;
  for (std::int64_t i = position; i < total && count > 0; ++i, --count) {
    ids.push_back(json::string(email_id(view->emails[(*matched)[static_cast<std::size_t>(i)]].content_id)));
  }
  json::object out{{"accountId", ctx.account_id},
                   {"queryState", view->email_state()},
                   {"canCalculateChanges", false},
                   {"position", std::min(position, total)},
                   {"ids", std::move(ids)}};
  if (calculate_total) out["total"] = total;
  if (limit && *limit > cap) out["limit"] = cap;
  ctx.respond("Email/query", std::move(out));
}

rt::Task<void> email_query_changes(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  ctx.error("cannotCalculateChanges", "Query changes are not kept; run Email/query again.");
}

rt::Task<void> thread_get(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto ids = string_list(args, "ids", bad);
  if (bad) co_return ctx.error("invalidArguments");
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  json::array list, not_found;
  for (const auto& raw : ids.value_or(std::vector<std::string>{})) {
    const std::vector<std::size_t>* members = view->thread(raw);
    if (members == nullptr) {
      not_found.push_back(json::string(raw));
      continue;
    }
    json::array email_ids;
    for (auto m : *members) email_ids.push_back(json::string(email_id(view->emails[m].content_id)));
    list.push_back(json::object{{"id", raw}, {"emailIds", std::move(email_ids)}});
  }
  ctx.respond("Thread/get", json::object{{"accountId", ctx.account_id},
                                         {"state", view->email_state()},
                                         {"list", std::move(list)},
                                         {"notFound", std::move(not_found)}});
}

rt::Task<void> search_snippet_get(CallContext& ctx, json::object& args) {
  if (!ctx.check_account(args)) co_return;
  bool bad = false;
  auto ids = string_list(args, "emailIds", bad);
  if (bad || !ids) co_return ctx.error("invalidArguments");
  if (ids->size() > ctx.api.config().limits.max_objects_in_get) co_return ctx.error("requestTooLarge");
  // The terms: every text, subject and body condition of the filter (RFC 8621 §5.1).
  std::vector<std::string> terms;
  auto collect = [&terms](auto& self, const json::object& f) -> void {
    if (const auto* conds = f.if_contains("conditions"); conds != nullptr && conds->is_array()) {
      for (const auto& c : conds->get_array()) {
        if (c.is_object()) self(self, c.get_object());
      }
    }
    for (const auto* key : {"text", "subject", "body"}) {
      if (const auto* v = f.if_contains(key); v != nullptr && v->is_string()) terms.emplace_back(v->get_string());
    }
  };
  if (const auto* f = args.if_contains("filter"); f != nullptr && f->is_object()) collect(collect, f->get_object());
  const AccountView* view = co_await ctx.load_view(true);
  if (view == nullptr) co_return;
  std::vector<const EmailEntry*> found;
  json::array not_found;
  for (const auto& id : *ids) {
    const EmailEntry* e = view->email(id);
    if (e == nullptr) {
      not_found.push_back(json::string(id));
    } else {
      found.push_back(e);
    }
  }
  auto contents = co_await read_contents(ctx, *view, found, true);
  json::array list;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const SearchSnippet s = search_snippet(contents[i], terms);
    json::object o{{"emailId", email_id(found[i]->content_id)}};
    o["subject"] = s.subject ? json::value(*s.subject) : json::value(nullptr);
    o["preview"] = s.preview ? json::value(*s.preview) : json::value(nullptr);
    list.push_back(std::move(o));
  }
  ctx.respond("SearchSnippet/get", json::object{{"accountId", ctx.account_id},
                                                {"list", std::move(list)},
                                                {"notFound", std::move(not_found)}});
}

}  // namespace mail::jmap
