// SEARCH (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162 MODSEQ),
// SORT and THREAD (RFC 5256) of the selected state (see commands.h). The message set is
// narrowed by the store's full-text index when the keys require body text, then every
// candidate is checked exactly (search_eval.h).
#include <algorithm>

#include "core/assert.h"
#include "core/ascii.h"
#include "node/imap/commands.h"
#include "node/imap/search_eval.h"
#include "node/imap/sort_thread.h"
#include "proto/imap/response_writer.h"

namespace mail::node::imapsrv {

namespace im = mail::imap;

namespace {

constexpr std::size_t kHeaderBatch = 512;

bool charset_ok(const std::optional<std::string>& charset) {
  return !charset || iequals(*charset, "UTF-8") || iequals(*charset, "US-ASCII");
}

struct Matches {
  std::vector<std::uint32_t> seqs;  // ascending
  std::uint64_t highest_modseq = 0;  // of the matches (RFC 7162 §3.1.5)
  std::vector<std::string> headers;  // per match when kept (SORT/THREAD)
};

// Evaluates `key` over the selected mailbox. keep_headers: the matches' header blocks are
// returned too (SORT and THREAD need them).
rt::Task<Result<Matches>> evaluate(SessionContext& ctx, const im::SearchKey& key, bool keep_headers) {
  MAIL_ASSERT(ctx.view.has_value());
  MailboxView& view = *ctx.view;
  std::vector<std::uint32_t> scope;
  scope.reserve(view.size());
  // Full-text narrowing: the terms every match must contain (body and header keys).
  auto terms = required_text_terms(key);
  if (!terms.empty()) {
    auto candidates = co_await ctx.store.search_text(ctx.user, view.folder(), store::TextField::text, terms);
    if (candidates.ok()) {
      auto& uids = candidates.value();
      std::sort(uids.begin(), uids.end());
      for (auto u : uids)
        if (auto s = view.seq_of_uid(u)) scope.push_back(*s);
      std::sort(scope.begin(), scope.end());
    } else {
      terms.clear();  // no index: check every message
    }
  }
  if (terms.empty()) {
    for (std::uint32_t s = 1; s <= view.size(); ++s) scope.push_back(s);
  }
  SearchNeed need = search_need(key);
  if (keep_headers && need == SearchNeed::metadata) need = SearchNeed::headers;
  Matches out;
  std::vector<std::string> headers;
  for (std::size_t i = 0; i < scope.size(); ++i) {
    const std::uint32_t seq = scope[i];
    const store::MessageInfo& info = view.message(seq);
    if (need == SearchNeed::headers && i % kHeaderBatch == 0) {
      std::vector<std::uint32_t> batch;
      for (std::size_t j = i; j < std::min(scope.size(), i + kHeaderBatch); ++j) batch.push_back(view.message(scope[j]).uid);
      auto h = co_await ctx.store.read_headers(ctx.user, view.folder(), std::move(batch));
      if (!h.ok()) co_return fail(h.error());
      headers = std::move(h).value();
    }
    SearchMessage m;
    m.seq = seq;
    m.max_seq = view.size();
    m.max_uid = view.max_uid();
    m.info = &info;
    m.recent = view.recent(seq);
    m.saved = &view.saved_search();
    std::string content;
    if (need == SearchNeed::headers) {
      m.headers = headers[i % kHeaderBatch];
    } else if (need == SearchNeed::content) {
      auto body = co_await ctx.store.read(ctx.user, view.folder(), info.uid);
      if (!body.ok()) continue;  // expunged meanwhile
      content = std::move(body).value();
      m.content = content;
    }
    SearchEvaluator eval(m);
    if (!eval.matches(key)) continue;
    out.seqs.push_back(seq);
    out.highest_modseq = std::max(out.highest_modseq, info.modseq);
    if (keep_headers) {
      out.headers.push_back(m.headers ? std::string(*m.headers)
                                      : content.substr(0, content.find("\r\n\r\n") == std::string::npos
                                                              ? content.size()
                                                              : content.find("\r\n\r\n") + 4));
    }
  }
  co_return out;
}

bool uses_modseq(const im::SearchKey& key) {
  if (key.kind == im::SearchKeyKind::modseq) return true;
  return std::any_of(key.children.begin(), key.children.end(), [](const auto& c) { return uses_modseq(c); });
}

}  // namespace

rt::Task<Response> cmd_search(SessionContext& ctx, const im::Search& c) {
  MAIL_ASSERT(ctx.view.has_value());
  if (!charset_ok(c.charset)) co_return no("[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
  const bool modseq = uses_modseq(c.key);
  if (modseq) ctx.session.enable_condstore();
  auto found = co_await evaluate(ctx, c.key, false);
  if (!found.ok()) co_return no_from(found.error(), "Cannot search");
  MailboxView& view = *ctx.view;
  std::vector<std::uint32_t> numbers;
  for (auto s : found->seqs) numbers.push_back(c.uid ? view.message(s).uid : s);
  std::string out;
  // IMAP4rev2 always answers with ESEARCH (RFC 9051 §6.4.4); rev1 with SEARCH unless
  // RETURN was given (RFC 4731).
  const bool esearch = c.ret.has_value() || !ctx.rev1();
  im::SearchReturn ret = c.ret.value_or(im::SearchReturn{});
  if (!ret.min && !ret.max && !ret.count && !ret.save) ret.all = true;  // RETURN () means ALL
  if (ret.save) {
    // RFC 5182 §2.1: the result is saved as uids; only SAVE given means no ESEARCH output
    // beyond what else was asked.
    auto& saved = view.saved_search();
    saved.clear();
    for (auto s : found->seqs) saved.push_back(view.message(s).uid);
  }
  if (esearch) {
    const bool only_save = ret.save && !ret.min && !ret.max && !ret.count && !ret.all;
    if (!only_save) {
      out += "* ESEARCH (TAG ";
      im::append_string(out, ctx.tag);
      out += ')';
      if (c.uid) out += " UID";
      if (!numbers.empty()) {
        if (ret.min) out += " MIN " + std::to_string(numbers.front());
        if (ret.max) out += " MAX " + std::to_string(numbers.back());
        if (ret.all) {
          out += " ALL ";
          im::append_sequence_set(out, numbers);
        }
      }
      if (ret.count) out += " COUNT " + std::to_string(numbers.size());
      if (modseq && !numbers.empty()) out += " MODSEQ " + std::to_string(found->highest_modseq);
      out += "\r\n";
    }
  } else {
    out += "* SEARCH";
    for (auto n : numbers) {
      out += ' ';  // two appends: GCC 12 -Wrestrict misfires on " " + std::to_string(n) here
      out += std::to_string(n);
    }
    if (modseq && !numbers.empty()) out += " (MODSEQ " + std::to_string(found->highest_modseq) + ")";
    out += "\r\n";
  }
  co_return ok(c.uid ? "UID SEARCH completed" : "SEARCH completed", std::move(out));
}

namespace {
std::vector<SortMessage> sort_input(const SessionContext& ctx, const Matches& m) {
  std::vector<SortMessage> msgs;
  msgs.reserve(m.seqs.size());
  for (std::size_t i = 0; i < m.seqs.size(); ++i) {
    const auto& info = ctx.view->message(m.seqs[i]);
    msgs.push_back(SortMessage{m.seqs[i], info.uid, info.internal_date, info.size, m.headers[i]});
  }
  return msgs;
}
}  // namespace

rt::Task<Response> cmd_sort(SessionContext& ctx, const im::Sort& c) {
  if (!charset_ok(std::optional<std::string>(c.charset))) co_return no("[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
  auto found = co_await evaluate(ctx, c.key, true);
  if (!found.ok()) co_return no_from(found.error(), "Cannot sort");
  auto msgs = sort_input(ctx, found.value());
  auto order = sort_messages(msgs, c.criteria);
  std::string out = "* SORT";
  for (auto i : order) {
    out += ' ';  // see cmd_search: not " " + std::to_string (GCC 12 -Wrestrict)
    out += std::to_string(c.uid ? msgs[i].uid : msgs[i].seq);
  }
  out += "\r\n";
  co_return ok(c.uid ? "UID SORT completed" : "SORT completed", std::move(out));
}

rt::Task<Response> cmd_thread(SessionContext& ctx, const im::Thread& c) {
  if (!charset_ok(std::optional<std::string>(c.charset))) co_return no("[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
  auto found = co_await evaluate(ctx, c.key, true);
  if (!found.ok()) co_return no_from(found.error(), "Cannot thread");
  auto msgs = sort_input(ctx, found.value());
  auto roots = c.algorithm == im::ThreadAlgorithm::orderedsubject ? thread_orderedsubject(msgs, c.uid)
                                                                  : thread_references(msgs, c.uid);
  std::string out = "* THREAD";
  if (!roots.empty()) {
    out += ' ';
    append_thread_response(out, roots);
  }
  out += "\r\n";
  co_return ok(c.uid ? "UID THREAD completed" : "THREAD completed", std::move(out));
}

}  // namespace mail::node::imapsrv
