// JMAP Email read side (RFC 8621 §4.1, §4.2): the §4.1.4 body structure example, header
// forms, charsets and transfer encodings, bodyValues options, part blobs.
#include "jmap/email_parse.h"

#include <gtest/gtest.h>

#include "core/utf8.h"
#include "jmap/ids.h"

namespace mail::jmap {
namespace {

namespace json = boost::json;

json::object get(std::string_view msg, std::vector<std::string> props, BodyValueOptions opt = {},
                 const std::vector<std::string>* body_props = nullptr) {
  json::object out;
  add_email_properties(msg, props, body_props, opt, EmailParseContext{"cid1"}, out);
  return out;
}

// A leaf part with a marker body.
std::string leaf(std::string_view headers, std::string_view body) {
  return std::string(headers) + "\r\n\r\n" + std::string(body) + "\r\n";
}

std::string multipart(std::string_view subtype, std::string_view boundary, const std::vector<std::string>& parts,
                      std::string_view extra_headers = "") {
  std::string s = "Content-Type: multipart/" + std::string(subtype) + "; boundary=\"" + std::string(boundary) + "\"";
  s += extra_headers;
  s += "\r\n\r\n";
  for (const std::string& p : parts) s += "--" + std::string(boundary) + "\r\n" + p;
  s += "--" + std::string(boundary) + "--\r\n";
  return s;
}

// The structure of RFC 8621 §4.1.4's example; each leaf's body is its letter.
std::string rfc8621_example() {
  const std::string A = leaf("Content-Type: text/plain\r\nContent-Disposition: inline", "A");
  const std::string B = leaf("Content-Type: text/plain\r\nContent-Disposition: inline", "B");
  const std::string C = leaf("Content-Type: image/jpeg\r\nContent-Disposition: inline", "C");
  const std::string D = leaf("Content-Type: text/plain\r\nContent-Disposition: inline", "D");
  const std::string E = leaf("Content-Type: text/html", "E");
  const std::string F = leaf("Content-Type: image/jpeg", "F");
  const std::string G = leaf("Content-Type: image/jpeg\r\nContent-Disposition: attachment", "G");
  const std::string H = leaf("Content-Type: application/x-excel", "H");
  const std::string J = leaf("Content-Type: message/rfc822", "Subject: J\r\n\r\nJ");
  const std::string K = leaf("Content-Type: text/plain\r\nContent-Disposition: inline", "K");
  const std::string mixed_bcd = multipart("mixed", "b4", {B, C, D});
  const std::string related_ef = multipart("related", "b5", {E, F});
  const std::string alt = multipart("alternative", "b3", {mixed_bcd + "\r\n", related_ef + "\r\n"});
  const std::string inner = multipart("mixed", "b2", {alt + "\r\n", G, H, J});
  const std::string top = multipart("mixed", "b1", {A, inner + "\r\n", K});
  return "From: a@example.com\r\nSubject: example\r\nMIME-Version: 1.0\r\n" + top;
}

// The letters (bodies) of a list of parts, via bodyValues of all parts.
std::string letters(const json::object& email, std::string_view list) {
  std::string out;
  const json::object& values = email.at("bodyValues").as_object();
  for (const json::value& p : email.at(list).as_array()) {
    const json::string& id = p.at("partId").as_string();
    if (const json::value* v = values.if_contains(id)) {
      std::string text(v->at("value").as_string());
      out += text.substr(0, 1);
    } else {
      out += "?" + std::string(id) + "?";
    }
  }
  return out;
}

TEST(JmapEmailParse, Rfc8621_4_1_4_BodyStructureExample) {
  const std::string msg = rfc8621_example();
  BodyValueOptions all;
  all.all = true;
  const json::object e = get(msg, {"textBody", "htmlBody", "attachments", "bodyValues", "bodyStructure"}, all);
  // C, F, G, H are not text: map them by partId.
  const json::array& att = e.at("attachments").as_array();
  ASSERT_EQ(att.size(), 5u);
  EXPECT_EQ(att[0].at("partId"), "2.1.1.2");  // C
  EXPECT_EQ(att[1].at("partId"), "2.1.2.2");  // F
  EXPECT_EQ(att[2].at("partId"), "2.2");      // G
  EXPECT_EQ(att[3].at("partId"), "2.3");      // H
  EXPECT_EQ(att[4].at("partId"), "2.4");      // J
  EXPECT_EQ(att[4].at("type"), "message/rfc822");
  const json::array& text = e.at("textBody").as_array();
  ASSERT_EQ(text.size(), 5u);  // A B C D K
  EXPECT_EQ(text[2].at("partId"), "2.1.1.2");
  EXPECT_EQ(letters(e, "htmlBody"), "AEK");
  std::string t;
  for (const json::value& p : text) {
    const json::string& id = p.at("partId").as_string();
    t += id == "2.1.1.2" ? std::string("C") : std::string(e.at("bodyValues").at(id).at("value").as_string()).substr(0, 1);
  }
  EXPECT_EQ(t, "ABCDK");
  // bodyStructure: the root multipart has no partId or blobId and carries subParts.
  const json::object& bs = e.at("bodyStructure").as_object();
  EXPECT_EQ(bs.at("type"), "multipart/mixed");
  EXPECT_TRUE(bs.at("partId").is_null());
  EXPECT_TRUE(bs.at("blobId").is_null());
  ASSERT_EQ(bs.at("subParts").as_array().size(), 3u);
  const json::object& a = bs.at("subParts").as_array()[0].as_object();
  EXPECT_EQ(a.at("partId"), "1");
  EXPECT_EQ(a.at("blobId"), json::value(part_blob_id("cid1", "1")));
  EXPECT_EQ(a.at("disposition"), "inline");
  EXPECT_EQ(a.at("charset"), "us-ascii");
  EXPECT_EQ(a.at("size"), 1);
  EXPECT_FALSE(a.contains("subParts"));
  // fetchAllBodyValues: every text/* leaf (A B D E K), not the images.
  EXPECT_EQ(e.at("bodyValues").as_object().size(), 5u);
}

TEST(JmapEmailParse, Rfc8621_4_1_4_HasAttachmentAndPartContents) {
  const std::string msg = rfc8621_example();
  EXPECT_EQ(get(msg, {"hasAttachment"}).at("hasAttachment"), true);
  auto g = part_contents(msg, "2.2");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->first, "G");
  EXPECT_EQ(g->second, "image/jpeg");
  auto j = part_contents(msg, "2.4");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->first, "Subject: J\r\n\r\nJ");
  EXPECT_FALSE(part_contents(msg, "2"));  // a multipart has no contents
  EXPECT_FALSE(part_contents(msg, "9"));
  EXPECT_FALSE(part_contents(msg, ""));
  const std::string plain = "Subject: x\r\n\r\nhello\r\n";
  EXPECT_EQ(get(plain, {"hasAttachment"}).at("hasAttachment"), false);
  ASSERT_TRUE(part_contents(plain, "1"));
  EXPECT_EQ(part_contents(plain, "1")->first, "hello\r\n");
  EXPECT_EQ(part_contents(plain, "1")->second, "text/plain");
}

TEST(JmapEmailParse, Rfc8621_4_1_4_AlternativeOnlyHtmlServesAsText) {
  const std::string msg = "Subject: x\r\n" +
      multipart("alternative", "b", {leaf("Content-Type: text/html; charset=utf-8", "<p>Hi &amp; bye</p>")});
  const json::object e = get(msg, {"textBody", "htmlBody", "preview"});
  ASSERT_EQ(e.at("textBody").as_array().size(), 1u);
  EXPECT_EQ(e.at("textBody").as_array()[0].at("type"), "text/html");
  EXPECT_EQ(e.at("htmlBody").as_array().size(), 1u);
  EXPECT_EQ(e.at("preview"), "Hi & bye");
}

TEST(JmapEmailParse, Rfc8621_4_1_2_HeaderForms) {
  const std::string msg =
      "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>, \"Doe, Jane\" <jane@example.com>\r\n"
      "To: undisclosed:;, Friends: a@example.com, b@example.com;, c@example.com\r\n"
      "Subject: =?iso-8859-1?q?caf=E9?= and\r\n more\r\n"
      "Message-ID: <abc@example.com>\r\n"
      "References: <r1@x> (comment) <r2@x>\r\n"
      "In-Reply-To: not an id\r\n"
      "Date: Mon, 1 Jan 2024 11:00:00 +0100 (CET)\r\n"
      "List-Unsubscribe: <mailto:u@example.com>, <https://example.com/u>\r\n"
      "X-Multi: one\r\n"
      "X-Multi: two\r\n"
      "\r\nbody\r\n";
  const json::object e = get(msg, {"from", "to", "subject", "messageId", "references", "inReplyTo", "sentAt",
                                   "header:To:asGroupedAddresses", "header:List-Unsubscribe:asURLs",
                                   "header:X-Multi", "header:X-Multi:all", "header:x-multi:asText:all",
                                   "header:Subject:asRaw", "header:Date:asDate", "header:Missing", "headers",
                                   "bcc", "header:Missing:all", "unknownProperty"});
  EXPECT_EQ(json::serialize(e.at("from")),
            R"([{"name":"Jörg","email":"jorg@example.com"},{"name":"Doe, Jane","email":"jane@example.com"}])");
  EXPECT_EQ(json::serialize(e.at("to")),
            R"([{"name":null,"email":"a@example.com"},{"name":null,"email":"b@example.com"},{"name":null,"email":"c@example.com"}])");
  EXPECT_EQ(json::serialize(e.at("header:To:asGroupedAddresses")),
            R"([{"name":"undisclosed","addresses":[]},{"name":"Friends","addresses":[{"name":null,"email":"a@example.com"},{"name":null,"email":"b@example.com"}]},{"name":null,"addresses":[{"name":null,"email":"c@example.com"}]}])");
  EXPECT_EQ(e.at("subject"), "café and more");
  EXPECT_EQ(e.at("header:Subject:asRaw"), " =?iso-8859-1?q?caf=E9?= and\r\n more");
  EXPECT_EQ(json::serialize(e.at("messageId")), R"(["abc@example.com"])");
  EXPECT_EQ(json::serialize(e.at("references")), R"(["r1@x","r2@x"])");
  EXPECT_TRUE(e.at("inReplyTo").is_null());
  EXPECT_EQ(e.at("sentAt"), "2024-01-01T10:00:00Z");
  EXPECT_EQ(e.at("header:Date:asDate"), "2024-01-01T10:00:00Z");
  EXPECT_EQ(json::serialize(e.at("header:List-Unsubscribe:asURLs")),
            R"(["mailto:u@example.com","https://example.com/u"])");
  EXPECT_EQ(e.at("header:X-Multi"), " two");  // the last instance, raw
  EXPECT_EQ(json::serialize(e.at("header:X-Multi:all")), R"([" one"," two"])");
  EXPECT_EQ(json::serialize(e.at("header:x-multi:asText:all")), R"(["one","two"])");
  EXPECT_TRUE(e.at("header:Missing").is_null());
  EXPECT_TRUE(e.at("header:Missing:all").as_array().empty());
  EXPECT_TRUE(e.at("bcc").is_null() || e.at("bcc").as_array().empty());
  EXPECT_EQ(e.at("headers").as_array().size(), 10u);
  EXPECT_EQ(e.at("headers").as_array()[9].at("name"), "X-Multi");
  EXPECT_FALSE(e.contains("unknownProperty"));
}

TEST(JmapEmailParse, Rfc5322_3_3_DatesAndObsoleteForms) {
  EXPECT_EQ(format_utc_date(*parse_rfc5322_date("Thu, 13 Feb 1969 23:32:54 -0330")), "1969-02-14T03:02:54Z");  // §A.1.3
  EXPECT_EQ(format_utc_date(*parse_rfc5322_date("1 Jan 2024 10:00 +0000")), "2024-01-01T10:00:00Z");
  EXPECT_EQ(format_utc_date(*parse_rfc5322_date("Fri, 21 Nov 97 09:55:06 GMT")), "1997-11-21T09:55:06Z");
  EXPECT_EQ(format_utc_date(*parse_rfc5322_date("Fri, 21 Nov 1997 04:55:06 EST")), "1997-11-21T09:55:06Z");
  EXPECT_EQ(format_utc_date(*parse_rfc5322_date("29 Feb 2024 23:59:59 -0100")), "2024-03-01T00:59:59Z");
  EXPECT_FALSE(parse_rfc5322_date("yesterday"));
  EXPECT_FALSE(parse_rfc5322_date("32 Jan 2024 10:00 +0000"));
  EXPECT_FALSE(parse_rfc5322_date("1 Foo 2024 10:00 +0000"));
  EXPECT_FALSE(parse_rfc5322_date(""));
}

TEST(JmapEmailParse, Rfc8621_4_2_BodyValuesCharsetsAndEncodings) {
  const std::string msg = "Subject: x\r\n" +
      multipart("mixed", "b",
                {leaf("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable",
                      "caf=E9 cre=\r\nme"),
                 leaf("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
                      "w6ljbGFpcg=="),  // "éclair"
                 leaf("Content-Type: text/plain; charset=utf-8", "bad \xff octet"),
                 leaf("Content-Type: text/plain; charset=x-unknown-charset", "plain"),
                 leaf("Content-Type: text/plain; charset=windows-1252", "\x80 euro"),
                 leaf("Content-Type: text/plain\r\nContent-Transfer-Encoding: x-weird", "raw")});
  BodyValueOptions opt;
  opt.text = true;
  const json::object e = get(msg, {"bodyValues", "preview"}, opt);
  const json::object& v = e.at("bodyValues").as_object();
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v.at("1").at("value"), "café creme");
  EXPECT_EQ(v.at("1").at("isEncodingProblem"), false);
  EXPECT_EQ(v.at("2").at("value"), "éclair");
  EXPECT_EQ(v.at("3").at("value"), "bad \xEF\xBF\xBD octet");
  EXPECT_EQ(v.at("3").at("isEncodingProblem"), true);
  EXPECT_EQ(v.at("4").at("isEncodingProblem"), true);
  EXPECT_EQ(v.at("5").at("value"), "\xE2\x82\xAC euro");
  EXPECT_EQ(v.at("6").at("isEncodingProblem"), true);
  EXPECT_EQ(v.at("6").at("isTruncated"), false);
  EXPECT_EQ(e.at("preview"), "café creme");
}

TEST(JmapEmailParse, Rfc8621_4_2_MaxBodyValueBytesCutsAtCharacterBoundary) {
  const std::string msg = "Content-Type: text/plain; charset=utf-8\r\n\r\nab\xC3\xA9" "cd";
  BodyValueOptions opt;
  opt.all = true;
  opt.max_bytes = 3;  // would split the é
  const json::object e = get(msg, {"bodyValues"}, opt);
  EXPECT_EQ(e.at("bodyValues").at("1").at("value"), "ab");
  EXPECT_EQ(e.at("bodyValues").at("1").at("isTruncated"), true);
  opt.max_bytes = 100;
  const json::object f = get(msg, {"bodyValues"}, opt);
  EXPECT_EQ(f.at("bodyValues").at("1").at("isTruncated"), false);
  // No fetch option: an empty object, and no body needed.
  EXPECT_TRUE(get(msg, {"bodyValues"}).at("bodyValues").as_object().empty());
  EXPECT_FALSE(needs_body({"bodyValues", "subject"}, {}));
  EXPECT_TRUE(needs_body({"bodyValues"}, opt));
  EXPECT_TRUE(needs_body({"preview"}, {}));
  EXPECT_FALSE(needs_body({"header:Subject:asText", "from", "headers"}, {}));
}

TEST(JmapEmailParse, HeaderBlockOnlyGivesHeaderProperties) {
  const json::object e = get("Subject: only header\r\nFrom: x@y\r\n\r\n", {"subject", "from"});
  EXPECT_EQ(e.at("subject"), "only header");
  EXPECT_EQ(e.at("from").as_array()[0].at("email"), "x@y");
}

TEST(JmapEmailParse, Rfc8621_4_1_4_PartNamesAndBodyProperties) {
  const std::string msg = "Subject: x\r\n" +
      multipart("mixed", "b",
                {leaf("Content-Type: text/plain", "hi"),
                 leaf("Content-Type: application/pdf; name=\"ignored.pdf\"\r\n"
                      "Content-Disposition: ATTACHMENT; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
                      "Content-ID: <c1@x>\r\nContent-Language: en, fr\r\nContent-Transfer-Encoding: base64",
                      "JVBERg==")});
  const std::vector<std::string> bp{"partId", "name", "disposition", "cid", "language", "size", "type",
                                    "header:Content-ID:asMessageIds", "headers"};
  const json::object e = get(msg, {"attachments", "hasAttachment"}, {}, &bp);
  ASSERT_EQ(e.at("attachments").as_array().size(), 1u);
  const json::object& a = e.at("attachments").as_array()[0].as_object();
  EXPECT_EQ(a.at("name"), "résumé.pdf");
  EXPECT_EQ(a.at("disposition"), "attachment");
  EXPECT_EQ(a.at("cid"), "c1@x");
  EXPECT_EQ(json::serialize(a.at("language")), R"(["en","fr"])");
  EXPECT_EQ(a.at("size"), 4);
  EXPECT_EQ(a.at("type"), "application/pdf");
  EXPECT_EQ(json::serialize(a.at("header:Content-ID:asMessageIds")), R"(["c1@x"])");
  EXPECT_EQ(a.at("headers").as_array().size(), 5u);
  EXPECT_FALSE(a.contains("blobId"));
  EXPECT_EQ(e.at("hasAttachment"), true);
}

TEST(JmapEmailParse, EightBitFieldsGiveValidUtf8Json) {  // found by fuzz/jmap_email
  const std::string msg =
      "Content-Type: te\x8b" "t/pl\xff" "in\r\nContent-Disposition: att\x8b" "chment\r\nContent-ID: <\xff>\r\n"
      "Content-Location: \xfe\r\nX-\xff: \xfe\r\n\r\nbody";
  json::object e;
  BodyValueOptions all;
  all.all = true;
  const std::vector<std::string> bp{"partId", "type", "disposition", "cid", "location", "headers", "charset", "name"};
  add_email_properties(msg, {"bodyStructure", "attachments", "headers", "bodyValues", "header:Content-Type:asText"}, &bp,
                       all, EmailParseContext{"c"}, e);
  EXPECT_TRUE(is_valid_utf8(json::serialize(e))) << json::serialize(e);
}

TEST(JmapEmailParse, HtmlToTextAndPreview) {
  EXPECT_EQ(html_to_text("<style>p{}</style><p>a&lt;b</p><!-- c --><script>x</script>&#233;&#xE9;"),
            "\na<b\néé");
  EXPECT_EQ(html_to_text("<script>never closed"), "");
  EXPECT_EQ(html_to_text("Gr&uuml;&szlig;e&hellip; &unknown; &#0; &#xZZ;"), "Grüße… &unknown; &#0; &#xZZ;");
  EXPECT_EQ(collapse_whitespace("  a \r\n\t b  ", 256), "a b");
  EXPECT_EQ(collapse_whitespace("abcdef", 3), "abc");
  const std::string body(600, 'x');
  const json::object e = get("Subject: x\r\n\r\n" + body, {"preview"});
  EXPECT_EQ(e.at("preview").as_string().size(), 256u);
}

}  // namespace
}  // namespace mail::jmap
