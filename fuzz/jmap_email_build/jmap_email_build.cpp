// libFuzzer target: JMAP Email/set create (server/jmap/email_build.h) on arbitrary JSON.
// The input is JSON text; an object is built into a message with a blob lookup that knows
// every id starting with "B" (its contents: the id itself). Checks on success: CRLF line
// ends only, lines of at most 998 octets (RFC 5322 §2.1.1), a final CRLF, and the message
// parses back (email_parse.h) into valid UTF-8 JSON; on failure, at least one property named.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/utf8.h"
#include "jmap/email_build.h"
#include "jmap/email_parse.h"

using namespace mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return 0;
  const jmap::BlobLookup blobs = [](std::string_view id) -> std::optional<std::string> {
    if (!id.starts_with("B")) return std::nullopt;
    return std::string(id);
  };
  auto r = jmap::build_email(v.as_object(), blobs, 1704103200, "example.com", "fuzz");
  if (auto* errs = std::get_if<std::vector<std::string>>(&r)) {
    MAIL_ASSERT(!errs->empty());
    return 0;
  }
  const std::string& m = std::get<jmap::BuiltEmail>(r).message;
  std::size_t line = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      MAIL_ASSERT(i + 1 < m.size());
      MAIL_ASSERT(m[i + 1] == '\n');
      ++i;
      line = 0;
      continue;
    }
    MAIL_ASSERT(m[i] != '\n');
    ++line;
    MAIL_ASSERT(line <= 998);
  }
  MAIL_ASSERT(m.ends_with("\r\n"));
  jmap::BodyValueOptions all;
  all.all = true;
  boost::json::object out;
  jmap::add_email_properties(m, {"subject", "from", "bodyStructure", "bodyValues", "textBody"}, nullptr, all,
                             jmap::EmailParseContext{"fuzz"}, out);
  MAIL_ASSERT(is_valid_utf8(boost::json::serialize(out)));
  return 0;
}
