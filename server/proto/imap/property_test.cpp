// RapidCheck properties for the IMAP input side: the reader is segmentation-invariant
// (STYLE habit 2), sequence sets round-trip through render/parse, and modified UTF-7
// round-trips every valid UTF-8 string (RFC 3501 §5.1.3).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proto/imap/command_reader.h"
#include "core/utf8.h"
#include "proto/imap/mutf7.h"
#include "proto/imap/parser.h"
#include "proto/imap/response_writer.h"

namespace mail::imap {
namespace {

// A transcript of events: "C:<text>|<lit>|<lit>" per command, "E:<kind>" per error,
// "P" per pending literal (accepted when its size is even, rejected otherwise).
std::vector<std::string> feed(const std::string& input, std::vector<std::size_t> cuts, ReaderLimits lim) {
  CommandReader r(lim);
  std::vector<std::string> ev;
  cuts.push_back(0);
  cuts.push_back(input.size());
  std::sort(cuts.begin(), cuts.end());
  std::string pending;
  for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
    pending.append(input, cuts[c], cuts[c + 1] - cuts[c]);
    std::string_view in = pending;
    while (true) {
      const ReadResult res = r.next(in);
      in.remove_prefix(res.consumed);
      if (res.event == ReadEvent::need_more) break;
      if (res.event == ReadEvent::command) {
        const RawCommand cmd = r.take_command();
        std::string s = "C:" + cmd.text;
        for (const auto& l : cmd.literals) s += "|" + std::to_string(l.at) + ":" + l.bytes;
        ev.push_back(s);
      } else if (res.event == ReadEvent::error) {
        ev.push_back("E:" + std::string(to_string(r.error().kind)) + r.error().tag);
        if (r.error().fatal) return ev;
      } else if (res.event == ReadEvent::literal_pending) {
        ev.push_back("P" + std::to_string(r.pending_literal_bytes()));
        if (r.pending_literal_bytes() % 2 == 0) r.accept_literal();
        else r.reject_literal();
      } else {
        RC_FAIL("unexpected event");
      }
    }
    RC_ASSERT(in.empty());
    pending.clear();
  }
  return ev;
}

rc::Gen<std::string> block() {
  return rc::gen::oneOf(
      rc::gen::element<std::string>("a1 NOOP\r\n", "a2 LOGIN {3}\r\nabc x\r\n", "a3 LOGIN {4}\r\nab\r\n y\r\n",
                                    "b APPEND x {5+}\r\n12345\r\n", "c X ~{2+}\r\n\0\n\r\n", "\n", "\r\n",
                                    "d SEARCH " + std::string(70, 'q') + "\r\n", "e X {9+}\r\n", "{1+}\r\n",
                                    "f {99999999999999999999+}\r\n", "g {3}\r\n",
                                    "h " + std::string(70, 'q') + " {4+}\r\n", "i " + std::string(70, 'q')),
      rc::gen::container<std::string>(rc::gen::element('a', ' ', '\r', '\n', '{', '}', '+', '1', '2', '~')));
}

RC_GTEST_PROP(ImapReaderProperty, SegmentationInvariant, ()) {
  const auto blocks = *rc::gen::container<std::vector<std::string>>(block());
  std::string input;
  for (const auto& b : blocks) input += b;
  ReaderLimits lim;
  lim.line_bytes_max = 64;
  lim.literal_bytes_max = 8;
  lim.command_bytes_max = 100;
  lim.literals_max = 3;
  lim.discard_bytes_max = 50;
  const auto whole = feed(input, {}, lim);
  const auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, input.size() + 1));
  RC_ASSERT(feed(input, cuts, lim) == whole);
}

RC_GTEST_PROP(ImapSequenceSetProperty, RenderParseRoundTrip, ()) {
  const auto nums = *rc::gen::container<std::vector<std::uint32_t>>(
      rc::gen::oneOf(rc::gen::inRange<std::uint32_t>(1, 50), rc::gen::inRange<std::uint32_t>(4294967200u, 4294967295u),
                     rc::gen::just<std::uint32_t>(4294967295u)));
  std::vector<std::uint32_t> sorted = nums;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  RC_PRE(!sorted.empty());
  std::string text;
  append_sequence_set(text, sorted);
  const auto set = parse_sequence_set(text);
  RC_ASSERT(set.has_value());
  const auto ranges = normalize(*set, 7);
  std::vector<std::uint32_t> back;
  for (const auto& r : ranges)
    for (std::uint64_t v = r.lo; v <= r.hi; ++v) back.push_back(static_cast<std::uint32_t>(v));
  RC_ASSERT(back == sorted);
  std::string again;
  append_ranges(again, ranges);
  RC_ASSERT(again == text);
}

RC_GTEST_PROP(ImapSequenceSetProperty, NormalizeIsSortedDisjointAndIdempotent, ()) {
  SequenceSet s;
  s.ranges = *rc::gen::nonEmpty(rc::gen::container<std::vector<SeqRange>>(rc::gen::build<SeqRange>(
      rc::gen::set(&SeqRange::lo, rc::gen::inRange<std::uint32_t>(0, 40)),
      rc::gen::set(&SeqRange::hi, rc::gen::inRange<std::uint32_t>(0, 40)))));
  const std::uint32_t star = *rc::gen::inRange<std::uint32_t>(0, 40);
  const auto n = normalize(s, star);
  for (std::size_t i = 0; i < n.size(); ++i) {
    RC_ASSERT(n[i].lo >= 1u);
    RC_ASSERT(n[i].lo <= n[i].hi);
    if (i > 0) RC_ASSERT(static_cast<std::uint64_t>(n[i - 1].hi) + 1 < n[i].lo);
  }
  std::string text;
  append_ranges(text, n);
  if (!n.empty()) RC_ASSERT(normalize(*parse_sequence_set(text), star) == n);
  // Membership agrees with a brute-force expansion.
  for (std::uint32_t v = 1; v <= 41; ++v) {
    bool member = false;
    for (const auto& r : s.ranges) {
      std::uint32_t a = r.lo == kStar ? star : r.lo, b = r.hi == kStar ? star : r.hi;
      if (a > b) std::swap(a, b);
      if (v >= a && v <= b) member = true;
    }
    bool in_n = false;
    for (const auto& r : n) in_n = in_n || (v >= r.lo && v <= r.hi);
    RC_ASSERT(member == in_n);
  }
}

// Valid UTF-8 from arbitrary code points (surrogates skipped).
std::string utf8_of(const std::vector<std::uint32_t>& cps) {
  std::string out;
  for (std::uint32_t cp : cps) mail::append_utf8(out, cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);
  return out;
}

RC_GTEST_PROP(ImapMutf7Property, RoundTripsAnyValidUtf8_Rfc3501_5_1_3, ()) {
  const auto cps = *rc::gen::container<std::vector<std::uint32_t>>(
      rc::gen::oneOf(rc::gen::inRange<std::uint32_t>(0, 0x80), rc::gen::inRange<std::uint32_t>(0x80, 0x800),
                     rc::gen::inRange<std::uint32_t>(0x800, 0x10000), rc::gen::inRange<std::uint32_t>(0x10000, 0x110000),
                     rc::gen::element<std::uint32_t>('&', '-', ',', '+')));
  const std::string utf8 = utf8_of(cps);
  RC_ASSERT(is_valid_utf8(utf8));
  const auto enc = mutf7_encode(utf8);
  RC_ASSERT(enc.has_value());
  for (const char c : *enc) RC_ASSERT(c >= 0x20 && c <= 0x7E);
  RC_ASSERT(mutf7_decode(*enc) == utf8);
  RC_ASSERT(mutf7_decode(*enc, true) == utf8);
}

}  // namespace
}  // namespace mail::imap
