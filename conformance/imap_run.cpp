// IMAP case execution (RFC 9051 §2.2.2, §4.3, §7; RFC 3501 likewise): responses are framed
// line by line with server literals `{N}` folded in, classified as tagged, untagged or
// continuation. `s: TAG STATUS` skips untagged data on the way; `s: *` finds the next
// matching untagged response; a run of `u:` lines is matched in any order; capture: and
// s-contains: see every response since the last client line.
#include <algorithm>
#include <cctype>
#include <deque>
#include <sstream>

#include "case_run.h"
#include "imap_run.h"

namespace mail::conformance {
namespace {

std::string describe(const ImapExpect& e) {
  std::string r;
  switch (e.kind) {
    case ImapExpect::Kind::close: return "the server closes the connection";
    case ImapExpect::Kind::none: return "no response within " + std::to_string(e.none_ms) + " ms";
    case ImapExpect::Kind::tagged: r = "tagged " + e.tag + " " + e.status; break;
    case ImapExpect::Kind::untagged: r = "untagged *"; break;
    case ImapExpect::Kind::continuation: r = "continuation +"; break;
  }
  if (!e.prefix.empty()) r += " " + e.prefix;
  if (!e.regex.empty()) r += " /" + e.regex + "/" + (e.icase ? "i" : "");
  return r;
}

// Words of a response for s-contains: split at SP and the brackets/parentheses of response
// codes and lists, so "[CAPABILITY IMAP4rev1 IDLE]" yields IMAP4rev1 and IDLE.
bool has_atom(std::string_view text, std::string_view atom) {
  const std::string want = ascii_upper(atom);
  std::string word;
  auto check = [&] { return !word.empty() && ascii_upper(word) == want; };
  for (char c : text) {
    if (c == ' ' || c == '[' || c == ']' || c == '(' || c == ')' || c == '\r' || c == '\n') {
      if (check()) return true;
      word.clear();
    } else {
      word += c;
    }
  }
  return check();
}

class ImapCaseRun final : public CaseRun {
 public:
  using CaseRun::CaseRun;

 private:
  void on_send() override { since_send_.clear(); }

  // 1 = a response, 0 = eof/timeout (`got` says which), -1 = malformed.
  int next(ImapResponse& out, std::string& got, Clock::time_point deadline) {
    if (!pending_.empty()) {
      out = std::move(pending_.front());
      pending_.pop_front();
      return 1;
    }
    for (;;) {
      std::string error;
      const int t = take_imap_response(buf_, out, error);
      if (t == 1) {
        note_server(out.text);
        since_send_.push_back(out.text);
        return 1;
      }
      if (t < 0) {
        got = "malformed response: " + error + ": " + printable(buf_);
        note_server(buf_ + "   <- malformed");
        return -1;
      }
      const auto rc = fill(deadline);
      if (rc == Connection::Recv::data) continue;
      if (eof_) {
        got = buf_.empty() ? "connection closed" : "connection closed after partial response " + printable(buf_);
        r_.transcript.push_back("S: <close>");
      } else {
        got = buf_.empty() ? "no response in time" : "incomplete response " + printable(buf_);
      }
      return 0;
    }
  }

  // Whether `resp` satisfies `e` (kind already checked); `why` says what differs.
  bool matches(const Step& s, const ImapExpect& e, const ImapResponse& resp, std::string& why, bool& error) {
    std::string_view rest = resp.text;
    if (e.kind == ImapExpect::Kind::tagged) {
      rest.remove_prefix(std::min(rest.size(), resp.tag.size() + 1));
      const std::string_view status = rest.substr(0, rest.find(' '));
      bool ok = false;
      std::size_t start = 0;
      for (std::size_t bar; start <= e.status.size(); start = bar + 1) {
        bar = e.status.find('|', start);
        if (bar == std::string::npos) bar = e.status.size();
        ok = ok || ascii_upper(status) == std::string_view(e.status).substr(start, bar - start);
      }
      if (!ok) {
        why = "status " + std::string(status);
        return false;
      }
      rest.remove_prefix(std::min(rest.size(), status.size() + 1));
    } else {
      rest.remove_prefix(std::min<std::size_t>(rest.size(), 2));  // "* " or "+ "
    }
    if (!e.prefix.empty()) {
      // The prefix is literal text, but may name captures: "OK [UIDVALIDITY {{UIDVALIDITY}}]".
      std::string prefix;
      for (std::size_t i = 0; i < e.prefix.size(); ++i) {
        const std::size_t end = e.prefix.compare(i, 2, "{{") == 0 ? e.prefix.find("}}", i + 2) : std::string::npos;
        const auto it = end == std::string::npos ? captures_.end() : captures_.find(e.prefix.substr(i + 2, end - i - 2));
        if (it == captures_.end()) {
          prefix += e.prefix[i];
          continue;
        }
        prefix += it->second;
        i = end + 1;
      }
      if (!istarts_with(rest, prefix)) {
        why = "text does not start with " + prefix;
        return false;
      }
    }
    if (!e.regex.empty()) {
      const auto re = regex_for(s, e.regex, e.icase);
      if (!re) {
        error = true;
        return false;
      }
      if (!std::regex_search(resp.text, *re)) {
        why = "text does not match";
        return false;
      }
    }
    return true;
  }

  bool expect(const Step& s) override {
    const ImapExpect& e = *s.imap;
    if (e.kind == ImapExpect::Kind::close || e.kind == ImapExpect::Kind::none) {
      if (!pending_.empty()) return fail(s, describe(e), "got " + printable(pending_.front().text));
      return e.kind == ImapExpect::Kind::close ? expect_close(s) : expect_none(s, e.none_ms);
    }
    const auto deadline = Clock::now() + opt_.reply_timeout;
    for (;;) {
      ImapResponse resp;
      std::string got, why;
      if (next(resp, got, deadline) != 1) {
        if (eof_ && e.kind == ImapExpect::Kind::tagged && ("|" + e.status + "|").find("|CLOSE|") != std::string::npos) {
          // `s: a2 OK|CLOSE`: the server closed instead of answering, which the clause allows.
          r_.transcript.push_back("   <connection closed; allowed by " + e.status + ">");
          finished_ = true;
          return true;
        }
        return fail(s, describe(e), got);
      }
      bool error = false;
      switch (resp.kind) {
        case ImapResponse::Kind::untagged:
          // Untagged data on the way to a tagged completion or continuation is allowed.
          if (e.kind != ImapExpect::Kind::untagged) continue;
          if (matches(s, e, resp, why, error)) return true;
          if (error) return false;
          continue;
        case ImapResponse::Kind::continuation:
          if (e.kind != ImapExpect::Kind::continuation)
            return fail(s, describe(e), "a continuation request: " + printable(resp.text));
          if (matches(s, e, resp, why, error)) return true;
          return error ? false : fail(s, describe(e), printable(resp.text, 300) + " (" + why + ")");
        case ImapResponse::Kind::tagged:
          if (e.kind != ImapExpect::Kind::tagged)
            return fail(s, describe(e), "the tagged completion came first: " + printable(resp.text, 300));
          if (resp.tag != e.tag) return fail(s, describe(e), "a completion for tag " + resp.tag + ": " + printable(resp.text, 300));
          if (matches(s, e, resp, why, error)) return true;
          return error ? false : fail(s, describe(e), printable(resp.text, 300) + " (" + why + ")");
      }
    }
  }

  bool unordered(const std::vector<const Step*>& group) override {
    std::vector<bool> done(group.size(), false);
    std::size_t left = group.size();
    const auto deadline = Clock::now() + opt_.reply_timeout;
    while (left > 0) {
      const Step* first_open = nullptr;
      for (std::size_t k = 0; k < group.size() && !first_open; ++k)
        if (!done[k]) first_open = group[k];
      ImapResponse resp;
      std::string got, why;
      if (next(resp, got, deadline) != 1) return fail(*first_open, describe(*first_open->imap) + " (unordered)", got);
      if (resp.kind != ImapResponse::Kind::untagged) {
        const std::string text = resp.text;
        pending_.push_front(std::move(resp));  // the next s: step may want it
        return fail(*first_open, describe(*first_open->imap) + " (unordered)",
                    "no such untagged response before " + printable(text, 200));
      }
      for (std::size_t k = 0; k < group.size(); ++k) {
        if (done[k]) continue;
        bool error = false;
        if (matches(*group[k], *group[k]->imap, resp, why, error)) {
          done[k] = true;
          --left;
          break;
        }
        if (error) return false;
      }
    }
    return true;
  }

  bool contains(const Step& s) override {
    bool found = false;
    if (s.arg.size() >= 2 && s.arg.front() == '/' && s.arg.back() == '/') {
      // `s-lacks: /re/`: no response since the last client line matches (captures allowed).
      const auto re = regex_for(s, s.arg.substr(1, s.arg.size() - 2), false);
      if (!re) return false;
      for (const auto& t : since_send_) found = found || std::regex_search(t, *re);
    } else {
      for (const auto& t : since_send_) found = found || has_atom(t, s.arg);
    }
    std::string seen;
    for (const auto& t : since_send_) seen += printable(t, 200) + " ";
    if (s.kind == Step::Kind::contains && !found) return fail(s, "a response with the atom " + s.arg, seen);
    if (s.kind == Step::Kind::lacks && found) return fail(s, "no response with the atom " + s.arg, seen);
    return true;
  }

  std::optional<std::string> capture_text() const override {
    if (since_send_.empty()) return std::nullopt;
    std::string all;
    for (const auto& t : since_send_) all += t + "\n";
    return all;
  }

  std::deque<ImapResponse> pending_;     // read but not yet consumed by a step
  std::vector<std::string> since_send_;  // every response since the last client line
};

}  // namespace

std::unique_ptr<CaseRun> make_imap_case_run(std::unique_ptr<Connection> conn, const RunOptions& o, CaseResult& r) {
  return std::make_unique<ImapCaseRun>(std::move(conn), o, r);
}

int take_imap_response(std::string& buf, ImapResponse& out, std::string& error) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t lf = buf.find('\n', pos);
    if (lf == std::string::npos) {
      if (buf.size() - pos > 65536) {
        error = "response line longer than 64 KiB without LF";
        return -1;
      }
      return 0;
    }
    if (lf == pos || buf[lf - 1] != '\r') {
      error = "response line ends in a bare LF (RFC 9051 §2.2)";
      return -1;
    }
    // A line ending in {N} (or {N+}) announces N octets of literal, then the line goes on.
    const std::string_view line(buf.data() + pos, lf - 1 - pos);
    std::size_t literal = 0;
    bool has_literal = false;
    if (!line.empty() && line.back() == '}') {
      const std::size_t open = line.rfind('{');
      std::string_view digits =
          open == std::string_view::npos ? std::string_view() : line.substr(open + 1, line.size() - open - 2);
      if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
      if (!digits.empty() && digits.size() <= 9 &&
          std::all_of(digits.begin(), digits.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
        literal = std::stoul(std::string(digits));
        has_literal = true;
      }
    }
    pos = lf + 1;
    if (!has_literal) break;
    if (buf.size() - pos < literal) return 0;
    pos += literal;
  }
  ImapResponse r;
  r.text = buf.substr(0, pos - 2);
  buf.erase(0, pos);
  if (r.text.rfind("* ", 0) == 0 || r.text == "*") {
    r.kind = ImapResponse::Kind::untagged;
  } else if (r.text.rfind('+', 0) == 0) {
    r.kind = ImapResponse::Kind::continuation;
  } else {
    r.kind = ImapResponse::Kind::tagged;
    r.tag = r.text.substr(0, r.text.find(' '));
    if (r.tag.empty() || r.tag.size() == r.text.size()) {
      error = "neither tagged, untagged nor a continuation: " + printable(r.text, 80);
      return -1;
    }
  }
  out = std::move(r);
  return 1;
}

}  // namespace mail::conformance

namespace mail::conformance {

bool probe_imap_capabilities(Target& target, const RunOptions& o, std::set<std::string>& caps, std::string& error) {
  auto conn = target.connect(error);
  if (!conn) return false;
  std::string buf;
  // Reads responses until the one with `tag` (or, with an empty tag, one response), and
  // collects every CAPABILITY atom seen, in data or in a [CAPABILITY ...] response code.
  auto read = [&](const std::string& tag, std::string& status) {
    const auto deadline = std::chrono::steady_clock::now() + o.reply_timeout;
    for (;;) {
      ImapResponse r;
      const int t = take_imap_response(buf, r, error);
      if (t < 0) return false;
      if (t == 1) {
        std::string text = ascii_upper(r.text);
        // "* CAPABILITY ..." data or a "[CAPABILITY ...]" response code; not prose.
        std::size_t at = text.rfind("* CAPABILITY ", 0) == 0 ? 13 : text.find("[CAPABILITY ");
        if (at != std::string::npos) {
          if (text[at] == '[') at += 12;
          std::string list = text.substr(at);
          list = list.substr(0, list.find(']'));
          std::istringstream words(list);
          for (std::string w; words >> w;) caps.insert(w);
        }
        if (tag.empty() || (r.kind == ImapResponse::Kind::tagged && r.tag == tag)) {
          status = text;
          return true;
        }
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (conn->recv(buf, std::max(left, std::chrono::milliseconds(0))) != Connection::Recv::data) {
        error = "no complete response (" + printable(buf) + ")";
        return false;
      }
    }
  };
  std::string status;
  if (!read("", status)) return false;
  if (status.rfind("* OK", 0) != 0 && status.rfind("* PREAUTH", 0) != 0) {
    error = "greeting " + printable(status, 80);
    return false;
  }
  if (!conn->send("P1 CAPABILITY\r\n", error) || !read("P1", status)) return false;
  if (!o.user.empty()) {
    // After LOGIN a server may announce more (RFC 9051 §6.2.3): the union is what cases see.
    const std::string login = "P2 LOGIN \"" + o.user + "\" \"" + o.password + "\"\r\n";
    if (!conn->send(login, error) || !read("P2", status)) return false;
    if (status.rfind("P2 OK", 0) == 0 && (!conn->send("P3 CAPABILITY\r\n", error) || !read("P3", status))) return false;
  }
  std::string ignored;
  (void)conn->send("P9 LOGOUT\r\n", ignored);
  return true;
}

}  // namespace mail::conformance
