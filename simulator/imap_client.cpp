// The simulator's sans-IO IMAP client (see imap_client.h).
#include "imap_client.h"

#include <charconv>

namespace mail::sim {

namespace {

std::optional<std::uint64_t> number_at(std::string_view s, std::size_t& i) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data() + i) return std::nullopt;
  i = static_cast<std::size_t>(p - s.data());
  return v;
}

// "{n}" at the end of `line`: n.
std::optional<std::size_t> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  const std::size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::size_t i = open + 1;
  auto n = number_at(line, i);
  if (!n || i != line.size() - 1) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

// "1:3,7" -> 1 2 3 7 (bounded: a uid-set in a COPYUID of the workload is small).
std::optional<std::vector<std::uint32_t>> uid_set(std::string_view s) {
  std::vector<std::uint32_t> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto a = number_at(s, i);
    if (!a) return std::nullopt;
    std::uint64_t b = *a;
    if (i < s.size() && s[i] == ':') {
      ++i;
      auto e = number_at(s, i);
      if (!e) return std::nullopt;
      b = *e;
    }
    const std::uint64_t lo = std::min(*a, b), hi = std::max(*a, b);
    if (hi - lo > 100'000) return std::nullopt;
    for (std::uint64_t u = lo; u <= hi; ++u) out.push_back(static_cast<std::uint32_t>(u));
    if (i < s.size()) {
      if (s[i] != ',') return std::nullopt;
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string ImapClient::command(std::string_view args) {
  tag_ = std::to_string(next_tag_++);
  tag_.insert(tag_.begin(), 'A');  // not "A" + ...: GCC 12 -Wrestrict misfires (make werror)
  std::string out = tag_;
  out += ' ';
  out += args;
  out += "\r\n";
  return out;
}

std::string ImapClient::append(std::string_view folder, std::string_view flags, std::string_view message) {
  std::string args = "APPEND ";
  args += folder;
  args += " (";
  args += flags;
  args += ") {" + std::to_string(message.size()) + "+}\r\n";
  args += message;
  return command(args);
}

std::optional<ImapResponse> ImapClient::poll() {
  if (!error_.empty()) return std::nullopt;
  ImapResponse r;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t crlf = in_.find("\r\n", pos);
    if (crlf == std::string::npos) {
      if (in_.size() > kResponseBytesMax) error_ = "response longer than " + std::to_string(kResponseBytesMax) + " bytes";
      return std::nullopt;
    }
    const std::string_view line(in_.data() + pos, crlf - pos);
    r.text += line;
    const auto n = trailing_literal(line);
    if (!n) {
      in_.erase(0, crlf + 2);
      break;
    }
    if (*n > kResponseBytesMax) {
      error_ = "literal of " + std::to_string(*n) + " bytes";
      return std::nullopt;
    }
    if (in_.size() < crlf + 2 + *n) return std::nullopt;
    r.literals.emplace_back(in_, crlf + 2, *n);
    pos = crlf + 2 + *n;
  }
  const std::string_view t = r.text;
  const std::size_t sp = t.find(' ');
  const std::string_view first = t.substr(0, sp);
  const std::string_view rest = sp == std::string_view::npos ? std::string_view() : t.substr(sp + 1);
  if (first == "+") {
    r.kind = ImapResponse::Kind::continuation;
  } else if (first == "*") {
    r.kind = ImapResponse::Kind::untagged;
    // "* OK ...", "* 3 EXISTS", "* 3 FETCH (...)": the word that names it.
    std::string_view w = rest.substr(0, rest.find(' '));
    if (!w.empty() && w[0] >= '0' && w[0] <= '9') {
      const std::size_t s2 = rest.find(' ');
      w = s2 == std::string_view::npos ? std::string_view() : rest.substr(s2 + 1);
      w = w.substr(0, w.find(' '));
    }
    r.status = std::string(w);
  } else {
    r.kind = ImapResponse::Kind::tagged;
    r.tag = std::string(first);
    r.status = std::string(rest.substr(0, rest.find(' ')));
  }
  return r;
}

std::optional<std::uint64_t> response_code_number(std::string_view text, std::string_view code) {
  std::string needle = "[";  // appended, not "[" + ...: GCC 12 -Wrestrict misfires
  needle += code;
  needle += ' ';
  const std::size_t at = text.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + needle.size();
  return number_at(text, i);
}

std::optional<AppendUid> parse_appenduid(std::string_view text) {
  const std::size_t at = text.find("[APPENDUID ");
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + 11;
  auto v = number_at(text, i);
  if (!v || i >= text.size() || text[i] != ' ') return std::nullopt;
  ++i;
  auto u = number_at(text, i);
  if (!u || i >= text.size() || text[i] != ']') return std::nullopt;
  return AppendUid{static_cast<std::uint32_t>(*v), static_cast<std::uint32_t>(*u)};
}

std::optional<CopyUid> parse_copyuid(std::string_view text) {
  const std::size_t at = text.find("[COPYUID ");
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + 9;
  auto v = number_at(text, i);
  if (!v || i >= text.size() || text[i] != ' ') return std::nullopt;
  const std::size_t s1 = i + 1;
  const std::size_t s2 = text.find(' ', s1);
  if (s2 == std::string_view::npos) return std::nullopt;
  const std::size_t end = text.find(']', s2);
  if (end == std::string_view::npos) return std::nullopt;
  auto src = uid_set(text.substr(s1, s2 - s1));
  auto dst = uid_set(text.substr(s2 + 1, end - s2 - 1));
  if (!src || !dst || src->size() != dst->size()) return std::nullopt;
  return CopyUid{static_cast<std::uint32_t>(*v), std::move(*src), std::move(*dst)};
}

std::optional<FetchData> parse_fetch(const ImapResponse& r) {
  if (r.kind != ImapResponse::Kind::untagged || r.status != "FETCH") return std::nullopt;
  const std::string_view t = r.text;
  FetchData d;
  const std::size_t open = t.find('(');
  if (open == std::string_view::npos) return std::nullopt;
  // "(UID n" or " UID n" inside the parenthesised list.
  std::size_t u = t.find("(UID ", open);
  if (u != open) u = t.find(" UID ", open);
  if (u == std::string_view::npos) return std::nullopt;
  std::size_t i = u + 5;
  auto uid = number_at(t, i);
  if (!uid) return std::nullopt;
  d.uid = static_cast<std::uint32_t>(*uid);
  if (const std::size_t m = t.find("MODSEQ ("); m != std::string_view::npos) {
    std::size_t k = m + 8;
    d.modseq = number_at(t, k);
  }
  // Which literal is BODY[]'s: count the "{n}" markers before it.
  const std::size_t b = t.find("BODY[] {");
  if (b != std::string_view::npos) {
    std::size_t index = 0;
    for (std::size_t p = t.find('{'); p != std::string_view::npos && p <= b + 7; p = t.find('{', p + 1)) {
      if (trailing_literal(t.substr(0, t.find('}', p) + 1))) ++index;
    }
    if (index > 0 && index <= r.literals.size()) d.body_literal = index - 1;
  }
  return d;
}

}  // namespace mail::sim
