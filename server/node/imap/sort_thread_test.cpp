// Tests of node/imap/sort_thread.h: RFC 5256 §2.1 base subject, §2.2 sent date, §3 SORT
// criteria (and RFC 5957 DISPLAYFROM/DISPLAYTO), §3 ORDEREDSUBJECT and REFERENCES, §4 THREAD
// response data; a RapidCheck property that REFERENCES keeps every message exactly once.
#include "node/imap/sort_thread.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

namespace mail::node::imapsrv {
namespace {

using mail::imap::SortCriterion;
using mail::imap::SortKey;

// ---- RFC 5256 §2.1 base subject -----------------------------------------------------------

TEST(BaseSubject, Rfc5256Sec2_1_Step3_RemovesReLeader) {
  EXPECT_EQ(base_subject("Re: hello"), "hello");
  EXPECT_EQ(base_subject("RE: Re: re:hello"), "hello");
  EXPECT_EQ(base_subject("Fw: hello"), "hello");
  EXPECT_EQ(base_subject("FWD:hello"), "hello");
  EXPECT_EQ(base_subject("re [x]: hello"), "hello");  // subj-refwd with its own subj-blob
  EXPECT_EQ(base_subject("Re : hello"), "hello");     // *WSP before ":"
}

TEST(BaseSubject, Rfc5256Sec2_1_Step3_BlobsBeforeRefwd) {
  EXPECT_EQ(base_subject("[list] Re: hello"), "hello");
  EXPECT_EQ(base_subject("RE: [list] Re: hello"), "hello");
  EXPECT_EQ(base_subject("[a][b] Re: [c] Fwd: hello"), "hello");
}

TEST(BaseSubject, Rfc5256Sec2_1_Step2_TrailersRemoved) {
  EXPECT_EQ(base_subject("hello (fwd)"), "hello");
  EXPECT_EQ(base_subject("hello (fwd) (FWD)  "), "hello");
  EXPECT_EQ(base_subject("hello(fwd)"), "hello");
}

TEST(BaseSubject, Rfc5256Sec2_1_Step4_BlobOnlyWhenSubjectRemains) {
  EXPECT_EQ(base_subject("[list] hello"), "hello");
  EXPECT_EQ(base_subject("[list]"), "[list]");        // removing it would leave nothing
  EXPECT_EQ(base_subject("[a] [b]"), "[b]");          // the last blob is the subj-base
  EXPECT_EQ(base_subject("[a][b] Re: [c]"), "[c]");
}

TEST(BaseSubject, Rfc5256Sec2_1_Step6_FwdWrapperUnwrappedAndRepeated) {
  EXPECT_EQ(base_subject("[fwd: hello]"), "hello");
  EXPECT_EQ(base_subject("Fwd: [fwd: Re: topic]"), "topic");
  EXPECT_EQ(base_subject("[Fwd: [fwd: deep (fwd)]] (fwd)"), "deep");
  EXPECT_EQ(base_subject("[fwd: [x] y]"), "y");
}

TEST(BaseSubject, Rfc5256Sec2_1_Step1_WhitespaceAndEncodedWords) {
  EXPECT_EQ(base_subject("Re:  multiple   spaces\there"), "multiple spaces here");
  EXPECT_EQ(base_subject("Re:\r\n folded\r\n\tsubject"), "folded subject");
  EXPECT_EQ(base_subject("=?UTF-8?Q?Re=3A_caf=C3=A9?="), "caf\xC3\xA9");
  EXPECT_EQ(base_subject("=?iso-8859-1?q?Re:_na=EFve?= =?utf-8?b?Zm9v?="), "na\xC3\xAFvefoo");
}

TEST(BaseSubject, Rfc5256Sec2_1_NotArtifacts) {
  EXPECT_EQ(base_subject("Ref: x"), "Ref: x");
  EXPECT_EQ(base_subject("Re hello"), "Re hello");
  EXPECT_EQ(base_subject("Regarding: x"), "Regarding: x");
  EXPECT_EQ(base_subject("hello [fwd: x]"), "hello [fwd: x]");
  EXPECT_EQ(base_subject(""), "");
  EXPECT_EQ(base_subject("Re:"), "");
  EXPECT_EQ(base_subject("  "), "");
}

TEST(BaseSubject, Rfc5256Sec3_ReplyOrForwardFlag) {
  EXPECT_TRUE(extract_base_subject("Re: x").reply_or_forward);
  EXPECT_TRUE(extract_base_subject("x (fwd)").reply_or_forward);
  EXPECT_TRUE(extract_base_subject("[fwd: x]").reply_or_forward);
  EXPECT_FALSE(extract_base_subject("[list] x").reply_or_forward);
  EXPECT_FALSE(extract_base_subject("x").reply_or_forward);
}

// ---- RFC 5256 §2.2 sent date --------------------------------------------------------------

constexpr std::int64_t k2001 = 978307200;  // 2001-01-01T00:00:00Z

TEST(SentDate, Rfc5256Sec2_2_ZoneAdjustedToUtc) {
  EXPECT_EQ(parse_sent_date("31 Dec 2000 16:01:33 -0800"), k2001 + 93);
  EXPECT_EQ(parse_sent_date("1 Jan 2001 00:01:33 +0000"), k2001 + 93);
  EXPECT_EQ(parse_sent_date("Mon, 01 Jan 2001 01:01:33 +0100 (CET)"), k2001 + 93);
  EXPECT_EQ(parse_sent_date("Mon,\r\n 1 Jan 2001 00:01 GMT"), k2001 + 60);
}

TEST(SentDate, Rfc5322Sec4_3_ObsoleteForms) {
  EXPECT_EQ(parse_sent_date("1 Jan 01 00:00:00 EST"), k2001 + 5 * 3600);
  EXPECT_EQ(parse_sent_date("1 Jan 101 00:00:00 PDT"), k2001 + 7 * 3600);
  EXPECT_EQ(parse_sent_date("Mon (day) , 1 (d) Jan (m) 2001 00:00:00 Z"), k2001);
}

TEST(SentDate, Rfc5256Sec2_2_InvalidZoneIsUtcInvalidTimeIsMidnight) {
  EXPECT_EQ(parse_sent_date("1 Jan 2001 00:01:33 +0099"), k2001 + 93);
  EXPECT_EQ(parse_sent_date("1 Jan 2001 00:01:33 bogus"), k2001 + 93);
  EXPECT_EQ(parse_sent_date("1 Jan 2001 00:01:33"), k2001 + 93);
  EXPECT_EQ(parse_sent_date("1 Jan 2001 25:00:00 +0100"), k2001);
  EXPECT_EQ(parse_sent_date("1 Jan 2001"), k2001);
}

TEST(SentDate, Rfc5256Sec2_2_UnparsableDate) {
  EXPECT_EQ(parse_sent_date(""), std::nullopt);
  EXPECT_EQ(parse_sent_date("yesterday"), std::nullopt);
  EXPECT_EQ(parse_sent_date("32 Jan 2001 00:00:00 +0000"), std::nullopt);
  EXPECT_EQ(parse_sent_date("29 Feb 2001 00:00:00 +0000"), std::nullopt);
  EXPECT_EQ(parse_sent_date("1 Foo 2001 00:00:00 +0000"), std::nullopt);
  EXPECT_TRUE(parse_sent_date("29 Feb 2000 00:00:00 +0000").has_value());
}

// ---- SORT ---------------------------------------------------------------------------------

struct Msg {
  std::uint32_t seq = 0;
  std::string headers;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
};

std::vector<SortMessage> views(const std::vector<Msg>& ms) {
  std::vector<SortMessage> out;
  for (const Msg& m : ms)
    out.push_back(SortMessage{m.seq, m.seq + 100, m.internal_date, m.size, m.headers});
  return out;
}

std::vector<std::uint32_t> sorted_seqs(const std::vector<Msg>& ms, std::vector<SortCriterion> criteria) {
  const auto v = views(ms);
  std::vector<std::uint32_t> out;
  for (const std::size_t i : sort_messages(v, criteria)) out.push_back(v[i].seq);
  return out;
}

using Seqs = std::vector<std::uint32_t>;

TEST(Sort, Rfc5256Sec3_ArrivalAndSize) {
  const std::vector<Msg> ms = {{1, "", 300, 10}, {2, "", 100, 30}, {3, "", 200, 20}};
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::arrival, false}}), (Seqs{2, 3, 1}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::size, false}}), (Seqs{1, 3, 2}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::size, true}}), (Seqs{2, 3, 1}));
}

TEST(Sort, Rfc5256Sec3_DateIsSentDateWithInternalDateFallback) {
  const std::vector<Msg> ms = {
      {1, "Date: 1 Jan 2001 00:00:10 +0000\r\n", 0, 0},
      {2, "Date: 1 Jan 2001 00:00:05 -0000\r\n", 0, 0},
      {3, "Subject: no date\r\n", k2001 + 7, 0},
      {4, "Date: garbage\r\n", k2001 + 1, 0},
      {5, "Date: 31 Dec 2000 16:00:08 -0800\r\n", 0, 0},  // 00:00:08 UTC
  };
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::date, false}}), (Seqs{4, 2, 3, 5, 1}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::date, true}}), (Seqs{1, 5, 3, 2, 4}));
}

TEST(Sort, Rfc5256Sec3_AddressKeysUseFirstMailboxCaseInsensitively) {
  const std::vector<Msg> ms = {
      {1, "From: Zed <bob@z.example>\r\nTo: carol@x\r\nCc: x@y, a@b\r\n"},
      {2, "From: \"Aaron\" <Alice@a.example>, zz@z\r\nTo: Dave@x\r\n"},
      {3, "To: \r\nCc: B@b\r\n"},  // no From: the empty string sorts first
      {4, "From: alice@other.example\r\nTo: bob@x\r\nCc: a@c\r\n"},
  };
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::from, false}}), (Seqs{3, 2, 4, 1}));  // alice == Alice: seq
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::to, false}}), (Seqs{3, 4, 1, 2}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::cc, false}}), (Seqs{2, 4, 3, 1}));
}

TEST(Sort, Rfc5957Sec3_DisplayFromAndDisplayTo) {
  const std::vector<Msg> ms = {
      {1, "From: =?utf-8?q?Zo=C3=AB?= <a@x>\r\nTo: \"\" <m@x>\r\n"},
      {2, "From: b@x\r\nTo: Nobody <z@x>\r\n"},          // no name: "b@x"
      {3, "From: \"carl\" <a@x>\r\nTo: undisclosed:;\r\n"},  // a group: its name
      {4, "From: Bea <zz@x>\r\n"},
  };
  // "b@x" < "bea" < "carl" < "zoë"
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::display_from, false}}), (Seqs{2, 4, 3, 1}));
  // "" (no To) < "m@x" (empty name) < "nobody" < "undisclosed"
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::display_to, false}}), (Seqs{4, 1, 2, 3}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::from, false}}), (Seqs{1, 3, 2, 4}));
}

TEST(Sort, Rfc5256Sec3_SubjectUsesBaseSubject) {
  const std::vector<Msg> ms = {
      {1, "Subject: Re: beta\r\n"},
      {2, "Subject: [list] ALPHA\r\n"},
      {3, "Subject: Fwd: alpha (fwd)\r\n"},
      {4, ""},
  };
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::subject, false}}), (Seqs{4, 2, 3, 1}));
}

TEST(Sort, Rfc5256Sec3_ReverseDoesNotReverseTheSequenceTieBreak) {
  const std::vector<Msg> ms = {{3, "Subject: a\r\n", 5}, {1, "Subject: b\r\n", 5},
                               {2, "Subject: a\r\n", 9}, {4, "Subject: b\r\n", 1}};
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::subject, true}}), (Seqs{1, 4, 2, 3}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::subject, false}}), (Seqs{2, 3, 1, 4}));
  // SUBJECT then REVERSE ARRIVAL (the RFC's "(SUBJECT REVERSE DATE)" shape).
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::subject, false}, {SortKey::arrival, true}}), (Seqs{2, 3, 1, 4}));
  EXPECT_EQ(sorted_seqs(ms, {{SortKey::subject, false}, {SortKey::arrival, false}}), (Seqs{3, 2, 4, 1}));
  EXPECT_EQ(sorted_seqs(ms, {}), (Seqs{1, 2, 3, 4}));
}

// ---- THREAD response (RFC 5256 §4) --------------------------------------------------------

std::string render(const std::vector<ThreadNode>& roots) {
  std::string out;
  append_thread_response(out, roots);
  return out;
}

ThreadNode N(std::uint32_t id, std::vector<ThreadNode> kids = {}) { return ThreadNode(id, std::move(kids)); }

TEST(ThreadResponse, Rfc5256Sec4_Examples) {
  std::vector<ThreadNode> roots;
  roots.push_back(N(2));
  roots.push_back(N(3, {N(6, {N(4, {N(23)}), N(44, {N(7, {N(96)})})})}));
  EXPECT_EQ(render(roots), "(2)(3 6 (4 23)(44 7 96))");

  std::vector<ThreadNode> dummy;
  dummy.push_back(N(0, {N(3), N(5)}));
  EXPECT_EQ(render(dummy), "((3)(5))");
  EXPECT_EQ(render({}), "");
}

TEST(ThreadResponse, Rfc5256Sec5_NestedDummyAndBranchAfterChain) {
  std::vector<ThreadNode> roots;
  roots.push_back(N(0, {N(1, {N(2), N(3, {N(4)})}), N(5)}));
  EXPECT_EQ(render(roots), "((1 (2)(3 4))(5))");
}

TEST(ThreadResponse, DeepChainNeitherRecursesNorOverflows) {
  constexpr std::uint32_t kDepth = 200000;
  std::vector<ThreadNode> roots(1);
  ThreadNode* cur = &roots[0];
  cur->id = 1;
  for (std::uint32_t i = 2; i <= kDepth; ++i) {
    cur->children.emplace_back(i);
    cur = &cur->children.back();
  }
  const std::string out = render(roots);
  EXPECT_EQ(out.substr(0, 8), "(1 2 3 4");
  EXPECT_EQ(out.substr(out.size() - 8), " 200000)");
  roots.clear();  // the iterative destructor
}

// ---- ORDEREDSUBJECT (RFC 5256 §3) -----------------------------------------------------------

std::string msg(std::string_view subject, std::string_view date, std::string_view extra = "") {
  std::string h = "Subject: ";
  h += subject;
  h += "\r\nDate: ";
  h += date;
  h += "\r\n";
  h += extra;
  return h;
}

std::string thread_os(const std::vector<Msg>& ms, bool uid = false) {
  return render(thread_orderedsubject(views(ms), uid));
}
std::string thread_refs(const std::vector<Msg>& ms, bool uid = false) {
  return render(thread_references(views(ms), uid));
}

TEST(OrderedSubject, Rfc5256Sec3_GroupsByBaseSubjectNoGrandchildren) {
  const std::vector<Msg> ms = {
      {1, msg("hello", "1 Jan 2001 00:00:05 +0000")},
      {2, msg("Re: other", "1 Jan 2001 00:00:01 +0000")},
      {3, msg("Re: Hello", "1 Jan 2001 00:00:03 +0000")},
      {4, msg("[x] HELLO", "1 Jan 2001 00:00:09 +0000")},
      {5, msg("other", "1 Jan 2001 00:00:02 +0000")},
      {6, msg("alone", "1 Jan 2001 00:00:04 +0000")},
  };
  // "other" starts at 00:01 (2, then 5), "hello" at 00:03 (3, then 1, 4), "alone" at 00:04.
  EXPECT_EQ(thread_os(ms), "(2 5)(3 (1)(4))(6)");
  EXPECT_EQ(thread_os(ms, true), "(102 105)(103 (101)(104))(106)");
}

TEST(OrderedSubject, Rfc5256Sec2_2_EqualDatesBySequence) {
  const std::vector<Msg> ms = {{2, msg("a", "1 Jan 2001 00:00:00 +0000")},
                               {1, msg("a", "1 Jan 2001 00:00:00 +0000")},
                               {3, msg("b", "1 Jan 2001 00:00:00 +0000")}};
  EXPECT_EQ(thread_os(ms), "(1 2)(3)");
}

// ---- REFERENCES (RFC 5256 §3) ---------------------------------------------------------------

std::string date_at(int second) {
  std::string d = "1 Jan 2001 00:";
  d += std::to_string(second / 60);
  d += ':';
  d += std::to_string(second % 60);
  d += " +0000";
  return d;
}

// A message with Message-ID <id@x>, References (ids as given, each wrapped) and a date.
Msg ref_msg(std::uint32_t seq, std::string_view subject, int second, std::string_view id,
            std::vector<std::string> refs = {}) {
  std::string extra;
  if (!id.empty()) {
    extra += "Message-ID: <";
    extra += id;
    extra += "@x>\r\n";
  }
  if (!refs.empty()) {
    extra += "References:";
    for (const auto& r : refs) {
      extra += " <";
      extra += r;
      extra += "@x>";
    }
    extra += "\r\n";
  }
  return Msg{seq, msg(subject, date_at(second), extra)};
}

TEST(References, Rfc5256Sec4_ExampleTreeFromReferences) {
  // The tree drawn under RFC 5256 §4 "(2)(3 6 (4 23)(44 7 96))", with some later messages
  // (lower numbers) answering earlier ones.
  const std::vector<Msg> ms = {
      ref_msg(2, "two", 1, "m2"),
      ref_msg(3, "three", 2, "m3"),
      ref_msg(6, "Re: three", 3, "m6", {"m3"}),
      ref_msg(4, "Re: three", 4, "m4", {"m3", "m6"}),
      ref_msg(23, "Re: three", 5, "m23", {"m3", "m6", "m4"}),
      ref_msg(44, "Re: three", 6, "m44", {"m3", "m6"}),
      ref_msg(7, "Re: three", 7, "m7", {"m3", "m6", "m44"}),
      ref_msg(96, "Re: three", 8, "m96", {"m3", "m6", "m44", "m7"}),
  };
  EXPECT_EQ(thread_refs(ms), "(2)(3 6 (4 23)(44 7 96))");
}

TEST(References, Rfc5256Sec4_SiblingsOfAMissingParent) {
  const std::vector<Msg> ms = {ref_msg(3, "Re: a", 1, "m3", {"gone"}),
                               ref_msg(5, "Re: b", 2, "m5", {"gone"})};
  EXPECT_EQ(thread_refs(ms), "((3)(5))");
}

TEST(References, Rfc5256Sec3_Step3_SingleChildOfDummyPromotedToRoot) {
  const std::vector<Msg> ms = {ref_msg(1, "x", 1, "m1", {"gone1", "gone2"}),
                               ref_msg(2, "y", 2, "m2", {"gone3"}),
                               ref_msg(3, "Re: y", 3, "m3", {"gone3", "m2"})};
  EXPECT_EQ(thread_refs(ms), "(1)(2 3)");
  const auto roots = thread_references(views(ms), false);
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0], N(1));  // not a dummy around 1 (rendering would hide that)
}

TEST(References, Rfc5256Sec3_Step3_NestedDummiesSplicedBelowRoot) {
  // m1 -> (missing g1) -> {m2, (missing g2) -> {m3, m4}}: g2's children join g1's.
  const std::vector<Msg> ms = {ref_msg(1, "a", 1, "m1"), ref_msg(2, "b", 2, "m2", {"m1", "g1"}),
                               ref_msg(3, "c", 3, "m3", {"m1", "g1", "g2"}),
                               ref_msg(4, "d", 4, "m4", {"m1", "g1", "g2"})};
  EXPECT_EQ(thread_refs(ms), "(1 (2)(3)(4))");
}

TEST(References, Rfc5256Sec3_InReplyToWhenNoReferences) {
  std::vector<Msg> ms = {ref_msg(1, "a", 1, "m1"), ref_msg(2, "b", 2, "m2"), ref_msg(3, "c", 3, "m3")};
  ms[1].headers += "In-Reply-To: Your message of yesterday <junk> <m1@x> <m3@x>\r\n";
  ms[2].headers += "References: no ids here\r\nIn-Reply-To: <m2@x>\r\n";
  EXPECT_EQ(thread_refs(ms), "(1 2 3)");
}

TEST(References, Rfc5256Sec3_MessageIdsNormalizedForQuoting) {
  std::vector<Msg> ms = {{1, msg("a", date_at(1), "Message-ID: <\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>\r\n")},
                         {2, msg("b", date_at(2), "References: <01KF8JCEOCBS0045PS@xxx.yyy.com>\r\n")},
                         {3, msg("c", date_at(3), "In-Reply-To: < 01kf8jceocbs0045ps (c) @xxx.yyy.com>\r\n")}};
  // Message ID comparisons are case-sensitive: 3 does not answer 1.
  EXPECT_EQ(thread_refs(ms), "(1 2)(3)");
}

TEST(References, Rfc5256Sec3_Step1A_DuplicateMessageIdBelongsToLowestSequence) {
  const std::vector<Msg> ms = {ref_msg(5, "dup later", 1, "same"), ref_msg(2, "dup first", 2, "same"),
                               ref_msg(7, "reply", 3, "r", {"same"})};
  EXPECT_EQ(thread_refs(ms), "(5)(2 7)");
}

TEST(References, Rfc5256Sec3_Step1A_LoopsAreNotCreated) {
  // a says b is its parent, b says a is: the second link would close a loop.
  const std::vector<Msg> ms = {ref_msg(1, "a", 1, "a", {"b"}), ref_msg(2, "b", 2, "b", {"a"}),
                               ref_msg(3, "c", 3, "c", {"c"}),          // its own parent
                               ref_msg(4, "d", 4, "d", {"e", "d", "e"})};  // a loop in References
  const std::string out = thread_refs(ms);
  EXPECT_EQ(out, "(2 1)(3)(4)");
}

TEST(References, Rfc5256Sec3_Step1B_LastReferenceReplacesATruncatedParent) {
  // 3 says its ancestry is m1 -> m2 -> m3 ... but m3's own References (m2 missing) name m4.
  const std::vector<Msg> ms = {ref_msg(1, "one", 1, "m1"), ref_msg(2, "two", 2, "m2", {"m1", "m9", "m3"}),
                               ref_msg(3, "three", 3, "m3", {"m4"}), ref_msg(4, "four", 4, "m4")};
  // Step 1.A made m9 the parent of m3 (via message 2's References), 1.B for message 3
  // re-parents m3 under m4; message 2 itself answers m3.
  EXPECT_EQ(thread_refs(ms), "(1)(4 3 2)");
}

TEST(References, Rfc5256Sec3_Step5_ReplyJoinsOriginalBySubject) {
  const std::vector<Msg> ms = {ref_msg(1, "Hello", 2, "m1"), ref_msg(2, "Re: hello", 1, "m2"),
                               ref_msg(3, "other", 3, "m3")};
  // 2 is older but a reply: the subject table keeps 1, and 2 becomes its child.
  EXPECT_EQ(thread_refs(ms), "(1 2)(3)");
}

TEST(References, Rfc5256Sec3_Step5_TwoOriginalsGetADummyParent) {
  const std::vector<Msg> ms = {ref_msg(1, "Hello", 1, "m1"), ref_msg(2, "hello", 2, "m2"),
                               ref_msg(3, "Re: hello", 3, "m3")};
  EXPECT_EQ(thread_refs(ms), "((1)(2)(3))");
}

TEST(References, Rfc5256Sec3_Step5_ThreadsUnderDummyMergeByFirstChildSubject) {
  const std::vector<Msg> ms = {ref_msg(1, "Re: topic", 1, "m1", {"g"}), ref_msg(2, "Re: topic", 2, "m2", {"g"}),
                               ref_msg(3, "topic", 3, "m3", {"h"}), ref_msg(4, "Re: topic", 4, "m4", {"h"}),
                               ref_msg(5, "", 5, "m5"), ref_msg(6, "", 6, "m6")};
  // Two dummies with the same thread subject merge; empty subjects never merge.
  EXPECT_EQ(thread_refs(ms), "((1)(2)(3)(4))(5)(6)");
}

TEST(References, Rfc5256Sec3_Step6_SiblingsBySentDateThenSequence) {
  const std::vector<Msg> ms = {ref_msg(1, "p", 1, "p"), ref_msg(4, "c", 5, "c4", {"p"}),
                               ref_msg(3, "c", 5, "c3", {"p"}), ref_msg(2, "c", 9, "c2", {"p"}),
                               ref_msg(5, "q", 0, "q")};
  EXPECT_EQ(thread_refs(ms), "(5)(1 (3)(4)(2))");
  EXPECT_EQ(thread_refs(ms, true), "(105)(101 (103)(104)(102))");
}

TEST(References, NoMessageIdsAtAll) {
  const std::vector<Msg> ms = {{1, "Subject: x\r\n", 2}, {2, "", 1}, {3, "Subject: Re: x\r\n", 3}};
  EXPECT_EQ(thread_refs(ms), "(2)(1 3)");
  EXPECT_EQ(thread_refs({}), "");
}

TEST(References, LongReplyChainIsFlat) {
  std::vector<Msg> ms;
  constexpr std::uint32_t kN = 3000;
  for (std::uint32_t i = 1; i <= kN; ++i) {
    Msg m{i, "Message-ID: <" + std::to_string(i) + "@x>\r\n"};
    if (i > 1) m.headers += "In-Reply-To: <" + std::to_string(i - 1) + "@x>\r\n";
    ms.push_back(std::move(m));
  }
  const std::string out = thread_refs(ms);
  EXPECT_EQ(out.substr(0, 6), "(1 2 3");
  EXPECT_EQ(std::count(out.begin(), out.end(), '('), 1);
}

// ---- properties -----------------------------------------------------------------------------

// Every id exactly once, dummies only at the root level and with two or more children.
void check_forest(const std::vector<ThreadNode>& roots, std::multiset<std::uint32_t>& ids) {
  std::vector<std::pair<const ThreadNode*, bool>> stack;
  for (const ThreadNode& r : roots) stack.push_back({&r, true});
  while (!stack.empty()) {
    const auto [n, at_root] = stack.back();
    stack.pop_back();
    if (n->id == 0) {
      RC_ASSERT(at_root);
      RC_ASSERT(n->children.size() >= 2u);
    } else {
      ids.insert(n->id);
    }
    for (const ThreadNode& k : n->children) stack.push_back({&k, false});
  }
}

RC_GTEST_PROP(ReferencesProp, EveryMessageExactlyOnceForArbitraryReferenceGraphs, ()) {
  const auto n = *rc::gen::inRange<std::uint32_t>(0, 40);
  const auto pool = *rc::gen::inRange(1, 12);  // few ids: duplicates, loops, missing parents
  static constexpr const char* kSubjects[] = {"a", "Re: a", "b", "Fwd: b", "[x] a", "", "a (fwd)"};
  std::vector<Msg> ms;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string h = "Subject: ";
    h += kSubjects[*rc::gen::inRange(0, 7)];
    h += "\r\nDate: ";
    h += date_at(*rc::gen::inRange(0, 5));
    h += "\r\n";
    if (*rc::gen::inRange(0, 5) != 0) h += "Message-ID: <" + std::to_string(*rc::gen::inRange(0, pool)) + "@x>\r\n";
    const auto refs = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, pool));
    if (!refs.empty() && *rc::gen::arbitrary<bool>()) {
      h += "References:";
      for (const int r : refs) h += " <" + std::to_string(r) + "@x>";
      h += "\r\n";
    }
    if (*rc::gen::arbitrary<bool>()) h += "In-Reply-To: <" + std::to_string(*rc::gen::inRange(0, pool)) + "@x>\r\n";
    ms.push_back(Msg{i + 1, std::move(h), *rc::gen::inRange<std::int64_t>(0, 3), 0});
  }
  const auto roots = thread_references(views(ms), false);
  std::multiset<std::uint32_t> ids;
  check_forest(roots, ids);
  std::multiset<std::uint32_t> expected;
  for (std::uint32_t i = 1; i <= n; ++i) expected.insert(i);
  RC_ASSERT(ids == expected);

  const std::string out = render(roots);
  RC_ASSERT(std::count(out.begin(), out.end(), '(') == std::count(out.begin(), out.end(), ')'));
  // The input order does not matter: sequence numbers and dates decide.
  std::vector<Msg> reversed(ms.rbegin(), ms.rend());
  RC_ASSERT(render(thread_references(views(reversed), false)) == out);
}

RC_GTEST_PROP(SortProp, ResultIsAPermutationOrderedByTheKeyThenSequence, ()) {
  const auto n = *rc::gen::inRange<std::uint32_t>(0, 30);
  std::vector<Msg> ms;
  for (std::uint32_t i = 0; i < n; ++i)
    ms.push_back(Msg{i + 1, "", *rc::gen::inRange<std::int64_t>(0, 4), *rc::gen::inRange<std::uint64_t>(0, 4)});
  const bool reverse = *rc::gen::arbitrary<bool>();
  const auto v = views(ms);
  const std::vector<SortCriterion> criteria = {{SortKey::size, reverse}};
  const auto order = sort_messages(v, criteria);
  RC_ASSERT(order.size() == ms.size());
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto& a = ms[order[k - 1]];
    const auto& b = ms[order[k]];
    if (a.size == b.size) {
      RC_ASSERT(a.seq < b.seq);
    } else {
      RC_ASSERT((reverse ? a.size > b.size : a.size < b.size));
    }
  }
}

}  // namespace
}  // namespace mail::node::imapsrv
