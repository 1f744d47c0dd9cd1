// libFuzzer target: the JMAP Email read model (server/jmap/email_parse.h) and SearchSnippet
// on arbitrary bytes. Byte 0 picks maxBodyValueBytes (0 = none, else 1..255) and the snippet
// term; the rest is the message. Every property and all body values are requested. Checks:
// the JSON serializes to valid UTF-8, each leaf partId of bodyStructure has part_contents of
// the reported size, and the snippet preview stays within its 255 octets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/utf8.h"
#include "jmap/email_parse.h"
#include "jmap/search_snippet.h"

using namespace mail;

namespace {

void check_parts(std::string_view msg, const boost::json::value& part) {
  const boost::json::object& o = part.as_object();
  if (const boost::json::value* sub = o.if_contains("subParts"); sub && sub->is_array()) {
    for (const boost::json::value& s : sub->as_array()) check_parts(msg, s);
    return;
  }
  const boost::json::value& id = o.at("partId");
  MAIL_ASSERT(id.is_string());
  const auto contents = jmap::part_contents(msg, std::string_view(id.as_string()));
  MAIL_ASSERT(contents.has_value());
  MAIL_ASSERT(static_cast<std::uint64_t>(contents->first.size()) == o.at("size").to_number<std::uint64_t>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view msg(reinterpret_cast<const char*>(data + 1), size - 1);
  jmap::BodyValueOptions opt;
  opt.text = opt.html = opt.all = true;
  opt.max_bytes = data[0];
  const std::vector<std::string> props{
      "messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject",
      "sentAt", "headers", "header:From:asGroupedAddresses:all", "header:Subject:asText", "header:Date:asDate",
      "header:List-Post:asURLs", "header:X-A:asRaw:all", "header:Message-ID:asMessageIds", "bodyStructure",
      "textBody", "htmlBody", "attachments", "hasAttachment", "preview", "bodyValues"};
  const std::vector<std::string> body_props{"partId", "blobId", "size", "headers", "name", "type", "charset",
                                            "disposition", "cid", "language", "location", "subParts",
                                            "header:Content-Type:asText"};
  boost::json::object out;
  jmap::add_email_properties(msg, props, &body_props, opt, jmap::EmailParseContext{"fuzz"}, out);
  const std::string json = boost::json::serialize(out);
  MAIL_ASSERT(is_valid_utf8(json));
  check_parts(msg, out.at("bodyStructure"));
  for (const auto& kv : out.at("bodyValues").as_object())
    if (opt.max_bytes > 0) MAIL_ASSERT(kv.value().at("value").as_string().size() <= opt.max_bytes);
  MAIL_ASSERT(out.at("preview").as_string().size() <= 256u * 4u);
  const std::string term(1, static_cast<char>('a' + data[0] % 26));
  const jmap::SearchSnippet s = jmap::search_snippet(msg, {term, "=?"});
  if (s.preview) MAIL_ASSERT(s.preview->size() <= jmap::kSnippetPreviewOctetsMax);
  if (s.preview) MAIL_ASSERT(is_valid_utf8(*s.preview));
  if (s.subject) MAIL_ASSERT(is_valid_utf8(*s.subject));
  (void)jmap::part_contents(msg, "1.1.1");
  return 0;
}
