// Tests for the IMAP command parser: every command family of RFC 9051 / RFC 3501 and the
// extensions in command.h, sequence sets (RFC 9051 §9, RFC 5182), search keys (§6.4.4),
// fetch attributes (§6.4.5), dates, and the BAD texts for malformed input.
#include "proto/imap/parser.h"

#include <gtest/gtest.h>

#include <string>

#include "proto/imap/command_reader.h"

namespace mail::imap {
namespace {

using namespace std::string_literals;

// Frames `wire` with a CommandReader (accepting sync literals) and parses the one command.
ParseResult parse_wire(std::string_view wire) {
  CommandReader r;
  std::string_view in = wire;
  while (true) {
    const ReadResult res = r.next(in);
    in.remove_prefix(res.consumed);
    if (res.event == ReadEvent::literal_pending) {
      r.accept_literal();
      continue;
    }
    if (res.event == ReadEvent::command) return parse_command(r.take_command());
    EXPECT_EQ(res.event, ReadEvent::need_more);
    ADD_FAILURE() << "no complete command in: " << wire;
    return {};
  }
}

template <class T>
T ok(std::string_view wire) {
  ParseResult r = parse_wire(wire);
  EXPECT_TRUE(r.command.has_value()) << wire << " -> " << r.error;
  if (!r.command) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(r.command->body)) << wire;
  if (!std::holds_alternative<T>(r.command->body)) return T{};
  return std::get<T>(std::move(r.command->body));
}

std::string bad(std::string_view wire) {
  ParseResult r = parse_wire(wire);
  EXPECT_FALSE(r.command.has_value()) << wire;
  EXPECT_FALSE(r.error.empty());
  return r.error;
}

TEST(ImapParser, AnyStateCommands_Rfc9051_6_1) {
  EXPECT_EQ(parse_wire("a1 capability\r\n").tag, "a1");
  ok<Capability>("a1 CAPABILITY\r\n");
  ok<Noop>("a1 noop\r\n");
  ok<Logout>("a1 LOGOUT\r\n");
  bad("a1 NOOP extra\r\n");
}

TEST(ImapParser, TagRules_Rfc9051_9) {
  EXPECT_EQ(parse_wire("a+1 NOOP\r\n").error, "Missing or invalid tag");
  EXPECT_EQ(parse_wire("a]1 NOOP\r\n").tag, "a]1");  // ']' is an ASTRING-CHAR
  EXPECT_TRUE(parse_wire("NOOP\r\n").tag.empty());
  EXPECT_EQ(bad("a1 FROB\r\n"), "Unknown command");
}

TEST(ImapParser, LoginWithAtomsQuotedAndLiterals_Rfc9051_6_2_3) {
  auto l = ok<Login>("a LOGIN fred \"pa\\\"ss\\\\\"\r\n");
  EXPECT_EQ(l.user, "fred");
  EXPECT_EQ(l.password, "pa\"ss\\");
  l = ok<Login>("a LOGIN {4}\r\nfr d {3+}\r\n{x}\r\n");
  EXPECT_EQ(l.user, "fr d");
  EXPECT_EQ(l.password, "{x}");
  bad("a LOGIN fred \"bad\\x\"\r\n");
  bad("a LOGIN fred\r\n");
  bad("a LOGIN {1}\r\n\0 x\r\n"s);  // NUL needs literal8
}

TEST(ImapParser, AuthenticateWithSaslIr_Rfc4959_3) {
  auto a = ok<Authenticate>("a AUTHENTICATE plain AGZyZWQAcHc=\r\n");
  EXPECT_EQ(a.mechanism, "PLAIN");
  ASSERT_TRUE(a.initial_response.has_value());
  EXPECT_EQ(*a.initial_response, "AGZyZWQAcHc=");
  a = ok<Authenticate>("a AUTHENTICATE PLAIN =\r\n");
  EXPECT_EQ(*a.initial_response, "=");
  a = ok<Authenticate>("a AUTHENTICATE SCRAM-SHA-256\r\n");
  EXPECT_FALSE(a.initial_response.has_value());
  ok<StartTls>("a STARTTLS\r\n");
}

TEST(ImapParser, EnableAndId_Rfc5161_Rfc2971) {
  const auto e = ok<Enable>("a ENABLE CONDSTORE QRESYNC UTF8=ACCEPT\r\n");
  EXPECT_EQ(e.capabilities, (std::vector<std::string>{"CONDSTORE", "QRESYNC", "UTF8=ACCEPT"}));
  bad("a ENABLE\r\n");
  auto id = ok<Id>("a ID (\"name\" \"sodr\" \"version\" NIL)\r\n");
  ASSERT_TRUE(id.params.has_value());
  ASSERT_EQ(id.params->size(), 2u);
  EXPECT_EQ((*id.params)[0].first, "name");
  EXPECT_EQ((*id.params)[0].second, "sodr");
  EXPECT_FALSE((*id.params)[1].second.has_value());
  EXPECT_FALSE(ok<Id>("a ID NIL\r\n").params.has_value());
}

TEST(ImapParser, SelectExamineCondstoreQresync_Rfc7162_3_2_5) {
  auto s = ok<Select>("a SELECT INBOX\r\n");
  EXPECT_EQ(s.mailbox, "INBOX");
  EXPECT_FALSE(s.examine);
  s = ok<Select>("a EXAMINE \"Sent Items\" (CONDSTORE)\r\n");
  EXPECT_TRUE(s.examine);
  EXPECT_TRUE(s.condstore);
  EXPECT_EQ(s.mailbox, "Sent Items");
  s = ok<Select>("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n");
  ASSERT_TRUE(s.qresync.has_value());
  EXPECT_EQ(s.qresync->uidvalidity, 67890007u);
  EXPECT_EQ(s.qresync->modseq, 20050715194045000u);
  ASSERT_TRUE(s.qresync->known_uids.has_value());
  EXPECT_EQ(s.qresync->known_uids->ranges.size(), 3u);
  s = ok<Select>("B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
                 "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n");
  ASSERT_TRUE(s.qresync->seq_match.has_value());
  EXPECT_EQ(s.qresync->seq_match->first.ranges.size(), 4u);
  EXPECT_EQ(s.qresync->seq_match->second.ranges.size(), 13u);
  s = ok<Select>("a SELECT INBOX (QRESYNC (1 2 (1:3 4:6)))\r\n");
  EXPECT_FALSE(s.qresync->known_uids.has_value());
  EXPECT_TRUE(s.qresync->seq_match.has_value());
  bad("a SELECT INBOX (FOO)\r\n");
  bad("a SELECT INBOX (QRESYNC (0 1))\r\n");
}

TEST(ImapParser, MailboxCommands_Rfc9051_6_3) {
  EXPECT_EQ(ok<Create>("a CREATE &AOQ-b\r\n").mailbox, "&AOQ-b");
  const auto c = ok<Create>("a CREATE Sent (USE (\\Sent \\Archive))\r\n");  // RFC 6154 §3
  EXPECT_EQ(c.use, (std::vector<std::string>{"\\Sent", "\\Archive"}));
  EXPECT_EQ(ok<Delete>("a DELETE foo\r\n").mailbox, "foo");
  const auto r = ok<Rename>("a RENAME a \"b c\"\r\n");
  EXPECT_EQ(r.from, "a");
  EXPECT_EQ(r.to, "b c");
  EXPECT_EQ(ok<Subscribe>("a SUBSCRIBE x]y\r\n").mailbox, "x]y");
  EXPECT_EQ(ok<Unsubscribe>("a UNSUBSCRIBE x\r\n").mailbox, "x");
  const auto l = ok<Lsub>("a LSUB \"\" %\r\n");
  EXPECT_EQ(l.pattern, "%");
  ok<Namespace>("a NAMESPACE\r\n");
  const auto st = ok<Status>("a STATUS blurdybloop (UIDNEXT MESSAGES SIZE DELETED APPENDLIMIT HIGHESTMODSEQ)\r\n");
  EXPECT_EQ(st.items, (std::vector<StatusItem>{StatusItem::uidnext, StatusItem::messages, StatusItem::size,
                                               StatusItem::deleted, StatusItem::appendlimit, StatusItem::highestmodseq}));
  bad("a STATUS x (FOO)\r\n");
  bad("a STATUS x ()\r\n");
}

TEST(ImapParser, ListBasicAndExtended_Rfc5258_Rfc5819) {
  auto l = ok<List>("a LIST \"\" *\r\n");
  EXPECT_FALSE(l.extended);
  EXPECT_EQ(l.patterns, (std::vector<std::string>{"*"}));
  l = ok<List>("a LIST \"~/Mail/\" \"%\"\r\n");
  EXPECT_EQ(l.reference, "~/Mail/");
  l = ok<List>("A01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"INBOX\" Drafts %/x) RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n");
  EXPECT_TRUE(l.extended);
  EXPECT_TRUE(l.select_subscribed);
  EXPECT_TRUE(l.select_recursivematch);
  EXPECT_EQ(l.patterns.size(), 3u);
  EXPECT_TRUE(l.return_children);
  EXPECT_TRUE(l.return_special_use);
  ASSERT_TRUE(l.return_status.has_value());
  EXPECT_EQ(l.return_status->size(), 2u);
  l = ok<List>("a LIST () \"\" % RETURN ()\r\n");
  EXPECT_TRUE(l.extended);
  bad("a LIST (RECURSIVEMATCH) \"\" %\r\n");  // RFC 5258 §3.1
  bad("a LIST (FOO) \"\" %\r\n");
  bad("a LIST \"\" % RETURN (FOO)\r\n");
}

TEST(ImapParser, AppendForms_Rfc9051_6_3_12_Rfc3516_Rfc6855) {
  auto a = ok<Append>("A003 APPEND saved-messages (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nhello\r\n");
  EXPECT_EQ(a.mailbox, "saved-messages");
  EXPECT_EQ(a.flags, (std::vector<std::string>{"\\Seen"}));
  ASSERT_TRUE(a.date.has_value());
  EXPECT_EQ(a.date->date, (Date{1994, 2, 7}));
  EXPECT_EQ(a.date->hour, 21);
  EXPECT_EQ(a.date->zone_minutes, -480);
  EXPECT_EQ(a.message, "hello");
  a = ok<Append>("a APPEND INBOX ~{3+}\r\n\0\1\2\r\n"s);
  EXPECT_TRUE(a.binary);
  EXPECT_EQ(a.message, "\0\1\2"s);
  a = ok<Append>("a APPEND INBOX () UTF8 (~{2+}\r\nhi)\r\n");
  EXPECT_TRUE(a.utf8);
  EXPECT_TRUE(a.flags.empty());
  bad("a APPEND INBOX \"text\"\r\n");
  bad("a APPEND INBOX UTF8 ({2+}\r\nhi)\r\n");
  bad("a APPEND INBOX \"31-Feb-1994 21:52:25 -0800\" {1+}\r\nx\r\n");
  bad("a APPEND INBOX {1+}\r\nx {1+}\r\ny\r\n");  // one message only
}

TEST(ImapParser, QuotaAndCompress_Rfc9208_Rfc4978) {
  EXPECT_EQ(ok<GetQuota>("a GETQUOTA \"\"\r\n").root, "");
  EXPECT_EQ(ok<GetQuotaRoot>("a GETQUOTAROOT INBOX\r\n").mailbox, "INBOX");
  const auto q = ok<SetQuota>("a SETQUOTA \"\" (storage 512 MESSAGE 1000)\r\n");
  ASSERT_EQ(q.limits.size(), 2u);
  EXPECT_EQ(q.limits[0].first, "STORAGE");
  EXPECT_EQ(q.limits[0].second, 512u);
  EXPECT_EQ(ok<Compress>("a COMPRESS deflate\r\n").mechanism, "DEFLATE");
  ok<Idle>("a IDLE\r\n");
}

TEST(ImapParser, SelectedStateSimple_Rfc9051_6_4) {
  ok<Check>("a CHECK\r\n");
  ok<Close>("a CLOSE\r\n");
  ok<Unselect>("a UNSELECT\r\n");
  EXPECT_FALSE(ok<Expunge>("a EXPUNGE\r\n").uids.has_value());
  const auto e = ok<Expunge>("a UID EXPUNGE 3000:3002\r\n");  // RFC 4315 §2.1
  ASSERT_TRUE(e.uids.has_value());
  EXPECT_EQ(e.uids->ranges[0], (SeqRange{3000, 3002}));
  const auto c = ok<Copy>("a COPY 2:4 MEETING\r\n");
  EXPECT_FALSE(c.uid);
  EXPECT_EQ(c.mailbox, "MEETING");
  const auto m = ok<Move>("a UID MOVE 42:69 foo\r\n");  // RFC 6851 §3
  EXPECT_TRUE(m.uid);
  EXPECT_EQ(m.set.ranges[0], (SeqRange{42, 69}));
  EXPECT_FALSE(ok<Move>("a MOVE $ foo\r\n").uid);
  bad("a UID FROB 1\r\n");
}

TEST(ImapParser, StoreForms_Rfc9051_6_4_6_Rfc7162_3_1_3) {
  auto s = ok<Store>("A003 STORE 2:4 +FLAGS (\\Deleted)\r\n");
  EXPECT_EQ(s.mode, StoreMode::add);
  EXPECT_FALSE(s.silent);
  EXPECT_EQ(s.flags, (std::vector<std::string>{"\\Deleted"}));
  s = ok<Store>("a UID STORE 1:* -FLAGS.SILENT \\Seen $Junk\r\n");
  EXPECT_TRUE(s.uid);
  EXPECT_EQ(s.mode, StoreMode::remove);
  EXPECT_TRUE(s.silent);
  EXPECT_EQ(s.flags.size(), 2u);
  EXPECT_EQ(s.set.ranges[0], (SeqRange{1, kStar}));
  s = ok<Store>("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n");
  ASSERT_TRUE(s.unchangedsince.has_value());
  EXPECT_EQ(*s.unchangedsince, 320162338u);
  s = ok<Store>("a STORE 1 FLAGS ()\r\n");
  EXPECT_EQ(s.mode, StoreMode::replace);
  EXPECT_TRUE(s.flags.empty());
  bad("a STORE 1 XFLAGS (\\Seen)\r\n");
  bad("a STORE 0 FLAGS (\\Seen)\r\n");
}

TEST(ImapParser, FetchItemsAndMacros_Rfc9051_6_4_5) {
  auto f = ok<Fetch>("a FETCH 1:* ALL\r\n");
  EXPECT_EQ(f.items.size(), 4u);
  EXPECT_EQ(ok<Fetch>("a FETCH 1 FAST\r\n").items.size(), 3u);
  EXPECT_EQ(ok<Fetch>("a FETCH 1 FULL\r\n").items.back().kind, FetchKind::body);
  f = ok<Fetch>("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n");
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_EQ(f.items[1].kind, FetchKind::body_section);
  EXPECT_EQ(f.items[1].section.text, SectionText::header_fields);
  EXPECT_EQ(f.items[1].section.fields, (std::vector<std::string>{"DATE", "FROM"}));
  f = ok<Fetch>("a UID FETCH 1 (BODY.PEEK[1.2.MIME] BODY[]<0.2048> BINARY.PEEK[1]<10.5> BINARY.SIZE[2] "
                "BINARY[] RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT ENVELOPE INTERNALDATE UID "
                "BODYSTRUCTURE BODY MODSEQ BODY[3.HEADER.FIELDS.NOT (X-A)] BODY[TEXT] BODY[4.TEXT] BODY[HEADER])\r\n");
  EXPECT_TRUE(f.uid);
  ASSERT_EQ(f.items.size(), 19u);
  EXPECT_TRUE(f.items[0].peek);
  EXPECT_EQ(f.items[0].section.part, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(f.items[0].section.text, SectionText::mime);
  EXPECT_EQ(f.items[1].partial, (Partial{0, 2048}));
  EXPECT_FALSE(f.items[1].peek);
  EXPECT_EQ(f.items[2].kind, FetchKind::binary);
  EXPECT_TRUE(f.items[2].peek);
  EXPECT_EQ(f.items[2].partial, (Partial{10, 5}));
  EXPECT_EQ(f.items[3].kind, FetchKind::binary_size);
  EXPECT_EQ(f.items[15].section.text, SectionText::header_fields_not);
  EXPECT_EQ(f.items[15].section.part, (std::vector<std::uint32_t>{3}));
  bad("a FETCH 1 (BODY[MIME])\r\n");  // MIME only after a part
  bad("a FETCH 1 BODY[1]<5>\r\n");    // the command needs <offset.length>
  bad("a FETCH 1 BINARY[HEADER]\r\n");
  bad("a FETCH 1 (FLAGS\r\n");
  bad("a FETCH 1 FOO\r\n");
}

TEST(ImapParser, FetchModifiers_Rfc7162_3_1_4_And_3_2_6) {
  auto f = ok<Fetch>("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n");
  EXPECT_EQ(f.changedsince, 12345u);
  EXPECT_TRUE(f.vanished);
  f = ok<Fetch>("a FETCH 1:* FLAGS (CHANGEDSINCE 1)\r\n");
  EXPECT_FALSE(f.vanished);
  bad("a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n");  // VANISHED needs UID FETCH
  bad("a UID FETCH 1 FLAGS (VANISHED)\r\n");             // and CHANGEDSINCE
}

TEST(ImapParser, SearchKeys_Rfc9051_6_4_4) {
  auto s = ok<Search>("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n");
  ASSERT_TRUE(s.ret.has_value());
  EXPECT_TRUE(s.ret->min);
  EXPECT_TRUE(s.ret->count);
  EXPECT_FALSE(s.ret->max);
  ASSERT_EQ(s.key.children.size(), 3u);
  EXPECT_EQ(s.key.children[0].kind, SearchKeyKind::flagged);
  EXPECT_EQ(s.key.children[1].kind, SearchKeyKind::since);
  EXPECT_EQ(s.key.children[1].date, (Date{1994, 2, 1}));
  EXPECT_EQ(s.key.children[2].kind, SearchKeyKind::not_);
  EXPECT_EQ(s.key.children[2].children[0].str, "Smith");
  s = ok<Search>("a UID SEARCH CHARSET UTF-8 OR (SUBJECT {5}\r\nt\xc3\xa9st LARGER 100) HEADER X-Spam yes "
                 "1:5,7 UID $ KEYWORD $Junk UNKEYWORD foo SMALLER 5 MODSEQ \"/flags/\\\\draft\" all 620162338 "
                 "SENTON \"02-Mar-2020\" ALL ANSWERED DELETED DRAFT SEEN RECENT NEW OLD UNANSWERED UNDELETED "
                 "UNDRAFT UNFLAGGED UNSEEN BCC a BODY b CC c TEXT d TO e BEFORE 1-Jan-2000 ON 1-Jan-2000 "
                 "SENTBEFORE 1-Jan-2000 SENTSINCE 29-Feb-2000 MODSEQ 0\r\n");
  EXPECT_TRUE(s.uid);
  EXPECT_EQ(s.charset, "UTF-8");
  const auto& k = s.key.children;
  ASSERT_EQ(k.size(), 31u);
  EXPECT_EQ(k[0].kind, SearchKeyKind::or_);
  EXPECT_EQ(k[0].children[0].kind, SearchKeyKind::and_);
  EXPECT_EQ(k[0].children[0].children[0].str, "t\xc3\xa9st");
  EXPECT_EQ(k[0].children[1].kind, SearchKeyKind::header);
  EXPECT_EQ(k[0].children[1].str, "X-Spam");
  EXPECT_EQ(k[0].children[1].str2, "yes");
  EXPECT_EQ(k[1].kind, SearchKeyKind::sequence_set);
  EXPECT_EQ(k[2].kind, SearchKeyKind::uid);
  EXPECT_TRUE(k[2].set.saved);
  EXPECT_EQ(k[3].kind, SearchKeyKind::keyword);
  EXPECT_EQ(k[4].kind, SearchKeyKind::unkeyword);
  EXPECT_EQ(k[5].kind, SearchKeyKind::smaller);
  EXPECT_EQ(k[6].kind, SearchKeyKind::modseq);
  ASSERT_TRUE(k[6].modseq_entry.has_value());
  EXPECT_EQ(k[6].modseq_entry->first, "/flags/\\draft");
  EXPECT_EQ(k[6].modseq_entry->second, ModseqEntryType::all);
  EXPECT_EQ(k[6].number, 620162338u);
  EXPECT_EQ(k[7].date, (Date{2020, 3, 2}));
  EXPECT_EQ(k[29].date, (Date{2000, 2, 29}));
  EXPECT_EQ(k[30].kind, SearchKeyKind::modseq);
  EXPECT_FALSE(ok<Search>("a SEARCH ALL\r\n").ret.has_value());
  EXPECT_EQ(*ok<Search>("a SEARCH RETURN () ALL\r\n").ret, SearchReturn{});
  s = ok<Search>("a SEARCH RETURN (SAVE ALL MAX) $\r\n");  // RFC 5182
  EXPECT_TRUE(s.ret->save);
  EXPECT_TRUE(s.key.children[0].set.saved);
  bad("a SEARCH\r\n");
  bad("a SEARCH FOO\r\n");
  bad("a SEARCH SINCE 30-Feb-2000\r\n");
  bad("a SEARCH SINCE 1-Foo-2000\r\n");
  bad("a SEARCH OR ALL\r\n");
  bad("a SEARCH (ALL\r\n");
  bad("a SEARCH RETURN (FOO) ALL\r\n");
  bad("a SEARCH LARGER 99999999999999999999\r\n");
}

TEST(ImapParser, SearchNestingIsBounded) {
  std::string deep = "a SEARCH ";
  for (int i = 0; i < 10000; ++i) deep += "NOT ";
  deep += "ALL\r\n";
  EXPECT_EQ(bad(deep), "Search keys nested too deeply");
  std::string ok_depth = "a SEARCH ";
  for (int i = 0; i < 50; ++i) ok_depth += "(";
  ok_depth += "ALL";
  for (int i = 0; i < 50; ++i) ok_depth += ")";
  ok<Search>(ok_depth + "\r\n");
}

TEST(ImapParser, SortAndThread_Rfc5256_3) {
  const auto s = ok<Sort>("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n");
  ASSERT_EQ(s.criteria.size(), 2u);
  EXPECT_EQ(s.criteria[0], (SortCriterion{SortKey::subject, false}));
  EXPECT_EQ(s.criteria[1], (SortCriterion{SortKey::date, true}));
  EXPECT_EQ(s.charset, "UTF-8");
  EXPECT_TRUE(ok<Sort>("a UID SORT (ARRIVAL CC FROM SIZE TO) US-ASCII SUBJECT x\r\n").uid);
  const auto t = ok<Thread>("A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n");
  EXPECT_EQ(t.algorithm, ThreadAlgorithm::orderedsubject);
  EXPECT_EQ(ok<Thread>("a UID THREAD REFERENCES US-ASCII ALL\r\n").algorithm, ThreadAlgorithm::references);
  bad("a SORT (SUBJECT) ALL\r\n");  // no charset
  bad("a THREAD FOO UTF-8 ALL\r\n");
}

TEST(ImapParser, SequenceSets_Rfc9051_9) {
  auto s = parse_sequence_set("1,3:5,*,7:*,*:2");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->ranges, (std::vector<SeqRange>{{1, 1}, {3, 5}, {kStar, kStar}, {7, kStar}, {kStar, 2}}));
  EXPECT_TRUE(parse_sequence_set("$")->saved);
  EXPECT_FALSE(parse_sequence_set("0").has_value());
  EXPECT_FALSE(parse_sequence_set("1,").has_value());
  EXPECT_FALSE(parse_sequence_set("1:").has_value());
  EXPECT_FALSE(parse_sequence_set("4294967296").has_value());
  EXPECT_TRUE(parse_sequence_set("4294967295").has_value());
  EXPECT_FALSE(parse_sequence_set("$,1").has_value());
}

TEST(ImapParser, NormalizeResolvesStarOrdersAndMerges_Rfc9051_9) {
  const auto s = *parse_sequence_set("9:7,1,2,*,3:4,20:*");
  EXPECT_EQ(normalize(s, 15), (std::vector<UidRange>{{1, 4}, {7, 9}, {15, 20}}));
  const auto big = normalize(*parse_sequence_set("1:4294967295,5"), 10);
  EXPECT_EQ(big, (std::vector<UidRange>{{1, 4294967295u}}));
  EXPECT_EQ(count(big), 4294967295u);
  EXPECT_EQ(clip(big, 10), (std::vector<UidRange>{{1, 10}}));
  EXPECT_FALSE(within(big, 10));
  EXPECT_TRUE(within(normalize(*parse_sequence_set("1:*"), 10), 10));
  // "559:*" with 500 as the largest UID is 500:559 (RFC 9051 §6.4.8 example).
  EXPECT_EQ(normalize(*parse_sequence_set("559:*"), 500), (std::vector<UidRange>{{500, 559}}));
  EXPECT_TRUE(normalize(*parse_sequence_set("*"), 0).empty());
}

TEST(ImapParser, Dates_Rfc9051_9) {
  EXPECT_EQ(parse_date("1-Feb-1994"), (Date{1994, 2, 1}));
  EXPECT_EQ(parse_date("\"01-feb-1994\""), (Date{1994, 2, 1}));
  EXPECT_FALSE(parse_date("29-Feb-1900").has_value());
  EXPECT_TRUE(parse_date("29-Feb-2000").has_value());
  EXPECT_FALSE(parse_date("1-Feb-94").has_value());
  EXPECT_FALSE(parse_date("123-Feb-1994").has_value());
  const auto dt = parse_date_time("\"17-Jul-1996 02:44:25 -0700\"");
  ASSERT_TRUE(dt.has_value());
  EXPECT_EQ(dt->date, (Date{1996, 7, 17}));
  EXPECT_EQ(dt->second, 25);
  EXPECT_EQ(dt->zone_minutes, -420);
  EXPECT_FALSE(parse_date_time("\"17-Jul-1996 24:44:25 -0700\"").has_value());
  EXPECT_FALSE(parse_date_time("17-Jul-1996 02:44:25 -0700").has_value());
}

TEST(ImapParser, FetchItemPieces) {
  const auto f = parse_fetch_items("(UID BODY.PEEK[HEADER.FIELDS (From \"To\" {x})])");
  EXPECT_FALSE(f.has_value());  // a literal needs a command
  const auto g = parse_fetch_items("BODY[HEADER.FIELDS (From \"To\")]");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ((*g)[0].section.fields, (std::vector<std::string>{"From", "To"}));
}

}  // namespace
}  // namespace mail::imap
