// JMAP Email write side (RFC 8621 §4.6 create): structure, encodings, header forms, errors,
// and the round trip build -> parse (RapidCheck) for random UTF-8 subjects and bodies.
#include "jmap/email_build.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "jmap/email_parse.h"

namespace mail::jmap {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1704103200;  // 2024-01-01T10:00:00Z

std::map<std::string, std::string, std::less<>> blob_store() {
  return {{"Bpdf", std::string("%PDF\0\xff\x01", 7)}, {"Bimg", "PNGDATA"}};
}

BlobLookup lookup() {
  return [](std::string_view id) -> std::optional<std::string> {
    static const auto store = blob_store();
    auto it = store.find(id);
    if (it == store.end()) return std::nullopt;
    return it->second;
  };
}

std::variant<BuiltEmail, std::vector<std::string>> build(std::string_view create_json) {
  return build_email(json::parse(create_json).as_object(), lookup(), kNow, "example.com", "u1");
}

std::string built(std::string_view create_json) {
  auto r = build(create_json);
  if (auto* errs = std::get_if<std::vector<std::string>>(&r)) {
    std::string all;
    for (const auto& e : *errs) all += e + " ";
    ADD_FAILURE() << "errors: " << all;
    return {};
  }
  return std::get<BuiltEmail>(r).message;
}

std::vector<std::string> errors(std::string_view create_json) {
  auto r = build(create_json);
  if (auto* errs = std::get_if<std::vector<std::string>>(&r)) return *errs;
  return {};
}

json::object parse(std::string_view msg, std::vector<std::string> props) {
  json::object out;
  BodyValueOptions all;
  all.all = true;
  add_email_properties(msg, props, nullptr, all, EmailParseContext{"c"}, out);
  return out;
}

// RFC 5322 §2.1.1 / §2.3: CRLF only, lines at most 998 octets.
::testing::AssertionResult well_formed(std::string_view msg) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\r') {
      if (i + 1 >= msg.size() || msg[i + 1] != '\n') return ::testing::AssertionFailure() << "bare CR at " << i;
      ++i;
      line = 0;
      continue;
    }
    if (msg[i] == '\n') return ::testing::AssertionFailure() << "bare LF at " << i;
    if (++line > 998) return ::testing::AssertionFailure() << "line over 998 octets at " << i;
  }
  if (!msg.ends_with("\r\n")) return ::testing::AssertionFailure() << "no final CRLF";
  return ::testing::AssertionSuccess();
}

TEST(JmapEmailBuild, Rfc8621_4_6_PlainTextMessage) {
  const std::string m = built(R"({"from":[{"name":"Joe Bloggs","email":"joe@example.com"}],
      "to":[{"email":"ann@example.com"}],"subject":"Hello","keywords":{"$draft":true},"mailboxIds":{"M1":true},
      "textBody":[{"partId":"t","type":"text/plain"}],"bodyValues":{"t":{"value":"Hi Ann\nbye"}}})");
  EXPECT_TRUE(well_formed(m));
  EXPECT_NE(m.find("Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Message-ID: <u1@example.com>\r\n"), std::string::npos);
  EXPECT_NE(m.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(m.find("From: Joe Bloggs <joe@example.com>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"),
            std::string::npos);
  EXPECT_TRUE(m.ends_with("\r\n\r\nHi Ann\r\nbye\r\n")) << m;
  const json::object e = parse(m, {"subject", "from", "to", "sentAt", "messageId", "textBody", "bodyValues"});
  EXPECT_EQ(e.at("subject"), "Hello");
  EXPECT_EQ(e.at("sentAt"), "2024-01-01T10:00:00Z");
  EXPECT_EQ(json::serialize(e.at("messageId")), R"(["u1@example.com"])");
  EXPECT_EQ(json::serialize(e.at("from")), R"([{"name":"Joe Bloggs","email":"joe@example.com"}])");
}

TEST(JmapEmailBuild, Rfc8621_4_6_TextHtmlAttachmentsStructure) {
  const std::string m = built(R"({"from":[{"email":"a@example.com"}],"subject":"s",
      "textBody":[{"partId":"t"}],"htmlBody":[{"partId":"h","type":"text/html"}],
      "attachments":[{"blobId":"Bimg","type":"image/png","cid":"img1@x","disposition":"inline"},
                     {"blobId":"Bpdf","type":"application/pdf","name":"résumé année 2024.pdf"}],
      "bodyValues":{"t":{"value":"text"},"h":{"value":"<p>html</p>","isTruncated":false}}})");
  EXPECT_TRUE(well_formed(m));
  const std::vector<std::string> bp{"partId", "type", "name", "cid", "disposition"};
  json::object e;
  BodyValueOptions all;
  all.all = true;
  add_email_properties(m, {"bodyStructure", "textBody", "htmlBody", "attachments", "bodyValues", "hasAttachment"},
                       &bp, all, EmailParseContext{"c"}, e);
  const json::object& bs = e.at("bodyStructure").as_object();
  EXPECT_EQ(bs.at("type"), "multipart/mixed");
  const json::array& top = bs.at("subParts").as_array();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].at("type"), "multipart/alternative");
  const json::array& alt = top[0].at("subParts").as_array();
  ASSERT_EQ(alt.size(), 2u);
  EXPECT_EQ(alt[0].at("type"), "text/plain");
  EXPECT_EQ(alt[1].at("type"), "multipart/related");
  EXPECT_EQ(alt[1].at("subParts").as_array()[1].at("cid"), "img1@x");
  EXPECT_EQ(top[1].at("name"), "résumé année 2024.pdf");
  EXPECT_EQ(top[1].at("disposition"), "attachment");
  EXPECT_EQ(e.at("textBody").as_array().size(), 1u);
  EXPECT_EQ(e.at("bodyValues").at("1.1").at("value"), "text");
  EXPECT_EQ(e.at("bodyValues").at("1.2.1").at("value"), "<p>html</p>");
  EXPECT_EQ(e.at("hasAttachment"), true);
  auto pdf = part_contents(m, "2");
  ASSERT_TRUE(pdf);
  EXPECT_EQ(pdf->first, std::string("%PDF\0\xff\x01", 7));
  EXPECT_EQ(pdf->second, "application/pdf");
  auto img = part_contents(m, "1.2.2");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->first, "PNGDATA");
}

TEST(JmapEmailBuild, Rfc2045_6_7_QuotedPrintableForLongOrNonAsciiText) {
  const std::string long_line(1500, 'a');
  const std::string m = built(std::string(R"({"textBody":[{"partId":"t"}],"bodyValues":{"t":{"value":")") +
                              long_line + R"( \u00e9 end \n"}}})");
  EXPECT_TRUE(well_formed(m));
  EXPECT_NE(m.find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
  const json::object e = parse(m, {"bodyValues"});
  EXPECT_EQ(e.at("bodyValues").at("1").at("value"), json::value(long_line + " é end \r\n"));
}

TEST(JmapEmailBuild, Rfc2047_NonAsciiSubjectAndNamesFolded) {
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "Grüße ";
  subject += "日本語";
  const std::string m = built(R"({"subject":")" + subject +
                              R"(","from":[{"name":"Jörg \"the\" Müller","email":"j@example.com"}],
      "to":[{"name":"Doe, Jane","email":"jane@example.com"}],"textBody":[{"partId":"1"}],"bodyValues":{"1":{"value":"x"}}})");
  EXPECT_TRUE(well_formed(m));
  // Header lines fold at 78 columns.
  const std::size_t header_end = m.find("\r\n\r\n");
  std::size_t start = 0;
  while (start < header_end) {
    const std::size_t eol = m.find("\r\n", start);
    EXPECT_LE(eol - start, 78u) << m.substr(start, eol - start);
    start = eol + 2;
  }
  const json::object e = parse(m, {"subject", "from", "to"});
  std::string trimmed = subject;
  EXPECT_EQ(e.at("subject"), json::value(trimmed));
  EXPECT_EQ(e.at("from").as_array()[0].at("name"), "Jörg \"the\" Müller");
  EXPECT_EQ(e.at("to").as_array()[0].at("name"), "Doe, Jane");
  EXPECT_NE(m.find("To: \"Doe, Jane\" <jane@example.com>"), std::string::npos);
}

TEST(JmapEmailBuild, Rfc8621_4_6_HeaderFormsAndSentAtOffset) {
  const std::string m = built(R"({"sentAt":"2024-03-10T23:30:00-05:00","messageId":["given@x"],
      "inReplyTo":["p@x"],"references":["r@x","p@x"],
      "header:List-Post:asURLs":["mailto:list@example.com"],
      "header:X-Tag:asText:all":["one","two"],
      "header:X-Raw:asRaw":" raw\r\n folded",
      "header:Resent-To:asGroupedAddresses":[{"name":"Team","addresses":[{"email":"t@x.org"}]},{"name":null,"addresses":[{"email":"u@x.org"}]}],
      "textBody":[{"partId":"1"}],"bodyValues":{"1":{"value":"x"}}})");
  EXPECT_TRUE(well_formed(m));
  EXPECT_NE(m.find("Date: Sun, 10 Mar 2024 23:30:00 -0500\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Message-ID: <given@x>\r\n"), std::string::npos);
  EXPECT_EQ(m.find("u1@example.com"), std::string::npos);
  EXPECT_NE(m.find("X-Raw: raw\r\n folded\r\n"), std::string::npos);
  const json::object e = parse(m, {"sentAt", "references", "inReplyTo", "header:List-Post:asURLs",
                                   "header:X-Tag:asText:all", "header:Resent-To:asGroupedAddresses"});
  EXPECT_EQ(e.at("sentAt"), "2024-03-11T04:30:00Z");
  EXPECT_EQ(json::serialize(e.at("references")), R"(["r@x","p@x"])");
  EXPECT_EQ(json::serialize(e.at("header:List-Post:asURLs")), R"(["mailto:list@example.com"])");
  EXPECT_EQ(json::serialize(e.at("header:X-Tag:asText:all")), R"(["one","two"])");
  EXPECT_EQ(json::serialize(e.at("header:Resent-To:asGroupedAddresses")),
            R"([{"name":"Team","addresses":[{"name":null,"email":"t@x.org"}]},{"name":null,"addresses":[{"name":null,"email":"u@x.org"}]}])");
}

TEST(JmapEmailBuild, Rfc2231_LongFilenameContinuations) {
  std::string name;
  for (int i = 0; i < 30; ++i) name += "très long nom ";
  name += ".txt";
  const std::string m = built(R"({"attachments":[{"blobId":"Bimg","type":"text/plain","name":")" + name + R"("}]})");
  EXPECT_TRUE(well_formed(m));
  EXPECT_NE(m.find("filename*1*="), std::string::npos);
  json::object e;
  const std::vector<std::string> bp{"name"};
  add_email_properties(m, {"attachments"}, &bp, {}, EmailParseContext{"c"}, e);
  ASSERT_EQ(e.at("attachments").as_array().size(), 1u);
  EXPECT_EQ(e.at("attachments").as_array()[0].at("name"), json::value(name));
}

TEST(JmapEmailBuild, Rfc8621_4_6_BodyStructureGiven) {
  const std::string m = built(R"({"bodyStructure":{"type":"multipart/mixed","subParts":[
      {"partId":"a","type":"text/plain","header:X-Part:asText":"p"},
      {"blobId":"Bpdf","type":"application/pdf","disposition":"attachment"}]},
      "bodyValues":{"a":{"value":"hello"}}})");
  EXPECT_TRUE(well_formed(m));
  const json::object e = parse(m, {"bodyStructure", "bodyValues"});
  EXPECT_EQ(e.at("bodyValues").at("1").at("value"), "hello");
  EXPECT_EQ(e.at("bodyStructure").at("subParts").as_array()[1].at("type"), "application/pdf");
  EXPECT_NE(m.find("X-Part: p\r\n"), std::string::npos);
}

TEST(JmapEmailBuild, Rfc8621_4_6_InvalidProperties) {
  using V = std::vector<std::string>;
  EXPECT_EQ(errors(R"({"from":[{"email":"no-at-sign"}]})"), V{"from"});
  EXPECT_EQ(errors(R"({"to":[{"email":"a@b","extra":1}]})"), V{"to"});
  EXPECT_EQ(errors(R"({"subject":42})"), V{"subject"});
  EXPECT_EQ(errors(R"({"sentAt":"yesterday"})"), V{"sentAt"});
  EXPECT_EQ(errors(R"({"messageId":["a@b","c@d"]})"), V{"messageId"});
  EXPECT_EQ(errors(R"({"id":"E1","headers":[]})"), (V{"id", "headers"}));
  EXPECT_EQ(errors(R"({"header:Content-Type:asRaw":" text/html"})"), V{"header:Content-Type:asRaw"});
  EXPECT_EQ(errors(R"({"from":[],"header:From:asAddresses":[]})"), V{"header:From:asAddresses"});
  EXPECT_EQ(errors(R"({"header:X-A:asRaw":"bare\nLF"})"), V{"header:X-A:asRaw"});
  EXPECT_EQ(errors(R"({"bodyStructure":{"partId":"1"},"textBody":[]})"), V{"bodyStructure"});
  EXPECT_EQ(errors(R"({"textBody":[{"partId":"1"}]})"), (V{"textBody", "bodyValues"}));
  EXPECT_EQ(errors(R"({"textBody":[{"partId":"1","type":"text/html"}],"bodyValues":{"1":{"value":"x"}}})"),
            V{"textBody"});
  EXPECT_EQ(errors(R"({"textBody":[{"partId":"1","charset":"latin1"}],"bodyValues":{"1":{"value":"x"}}})"),
            V{"textBody"});
  EXPECT_EQ(errors(R"({"textBody":[{"partId":"1"}],"bodyValues":{"1":{"value":"x","isTruncated":true}}})"),
            V{"bodyValues"});
  EXPECT_EQ(errors(R"({"attachments":[{"blobId":"Bmissing"}]})"), V{"attachments/blobId"});
  EXPECT_EQ(errors(R"({"attachments":[{"partId":"1","blobId":"Bimg"}],"bodyValues":{"1":{"value":"x"}}})"),
            V{"attachments"});
  EXPECT_TRUE(errors(R"({"textBody":[],"attachments":[]})").empty());
}

TEST(JmapEmailBuild, Rfc5322_3_6_4_UniqueKeptToSafeOctets) {
  const auto r = build_email(json::parse(R"({"textBody":[]})").as_object(), lookup(), kNow, "example.com", "a b<c>/d");
  ASSERT_TRUE(std::holds_alternative<BuiltEmail>(r));
  EXPECT_NE(std::get<BuiltEmail>(r).message.find("Message-ID: <abcd@example.com>\r\n"), std::string::npos);
}

TEST(JmapEmailBuild, EncodeHeaderTextAndFold) {
  EXPECT_EQ(encode_header_text("plain words"), "plain words");
  EXPECT_EQ(encode_header_text("é"), "=?UTF-8?B?w6k=?=");
  EXPECT_EQ(encode_header_text("looks =?like?= a word"), "=?UTF-8?B?bG9va3MgPT9saWtlPz0gYSB3b3Jk?=");
  EXPECT_EQ(fold_field("X", "a"), "X: a\r\n");
  const std::string f = fold_field("Subject", std::string(70, 'a') + " " + std::string(20, 'b'));
  EXPECT_EQ(f, "Subject: " + std::string(70, 'a') + "\r\n " + std::string(20, 'b') + "\r\n");
}

// Random UTF-8 text over an alphabet with the octets that matter to the encoders.
rc::Gen<std::string> utf8_text(bool newlines) {
  std::vector<std::string> alphabet{"a", "Z", "0", " ", " ", "=", "?", "_", "\"", "\\", ".", "-",
                                    "é", "€", "日", "😀", "\t", "=?", "?="};
  if (newlines) {
    alphabet.push_back("\n");
    alphabet.push_back("\n");
  }
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(alphabet)),
                      [](const std::vector<std::string>& pieces) {
                        std::string s;
                        for (const auto& p : pieces) s += p;
                        return s;
                      });
}

std::string trim_ws(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

std::string crlf_to_lf(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) out.push_back(s[i]);
  return out;
}

RC_GTEST_PROP(JmapEmailBuild, RoundTripSubjectAndText_Rfc8621_4_6, ()) {
  const std::string subject = *utf8_text(false);
  const std::string text = *utf8_text(true);
  const std::string name = *utf8_text(false);
  const bool with_html = *rc::gen::arbitrary<bool>();
  json::object create;
  create["subject"] = subject;
  json::array from;
  from.push_back(json::object{{"name", name}, {"email", "x@example.com"}});
  create["from"] = std::move(from);
  create["textBody"] = json::array{json::object{{"partId", "t"}}};
  json::object values{{"t", json::object{{"value", text}}}};
  if (with_html) {
    create["htmlBody"] = json::array{json::object{{"partId", "h"}, {"type", "text/html"}}};
    values["h"] = json::object{{"value", "<p>" + text + "</p>"}};
  }
  create["bodyValues"] = std::move(values);
  auto r = build_email(create, lookup(), kNow, "example.com", "rc");
  RC_ASSERT(std::holds_alternative<BuiltEmail>(r));
  const std::string& m = std::get<BuiltEmail>(r).message;
  RC_ASSERT(well_formed(m));
  const json::object e = parse(m, {"subject", "from", "textBody", "bodyValues"});
  RC_ASSERT(std::string(e.at("subject").as_string()) == trim_ws(subject));
  const json::array& f = e.at("from").as_array();
  RC_ASSERT(f.size() == 1u);
  const std::string want_name = trim_ws(name);
  if (want_name.empty()) RC_ASSERT(f[0].at("name").is_null());
  else RC_ASSERT(std::string(f[0].at("name").as_string()) == want_name);
  const json::array& tb = e.at("textBody").as_array();
  RC_ASSERT(tb.size() == 1u);
  const std::string got = crlf_to_lf(std::string(e.at("bodyValues").at(tb[0].at("partId").as_string()).at("value").as_string()));
  // A single-part message always ends with a line break (RFC 5322 §2.3 CRLF-terminated
  // lines); inside a multipart the delimiter's CRLF keeps the text exact.
  std::string want = text;
  if (!with_html && !want.empty() && !want.ends_with('\n')) want += '\n';
  RC_ASSERT(got == want);
}

}  // namespace
}  // namespace mail::jmap
