// libFuzzer target: the users file (store/user_db.h: UserDb::parse, serialize, add), which
// `cloudsdial user`, the admin API and an operator's editor all write.
// Byte 0 bit 0 picks the mode; the rest is the input.
//  mode 0: the input is a users file. Never crash; an error names a line that exists; an
//          accepted file has only storable, lower-case names, and serialize() parses back
//          to the same names and credentials and serializes identically (a fixpoint).
//  mode 1: every input line is a name given to add() (as `user add` would); whatever add()
//          accepts must survive serialize() + parse() (a name the format cannot hold, with a
//          space or a leading '#', must be refused, not written).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "store/user_db.h"

using namespace mail;

namespace {

void check_round_trip(const store::UserDb& db) {
  const std::string text = db.serialize();
  auto back = store::UserDb::parse(text);
  MAIL_ASSERT(back.ok());
  MAIL_ASSERT(back->names() == db.names());
  for (const auto& n : db.names()) {
    MAIL_ASSERT(store::storable_user_name(n));
    MAIL_ASSERT(store::canonical_user_name(n) == n);
    const auto a = db.lookup(n);
    const auto b = back->lookup(n);
    MAIL_ASSERT(a && b);
    MAIL_ASSERT(a->salt == b->salt && a->iterations == b->iterations);
    MAIL_ASSERT(a->stored_key == b->stored_key && a->server_key == b->server_key);
  }
  MAIL_ASSERT(back->serialize() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    auto db = store::UserDb::parse(in);
    if (!db.ok()) {
      const std::string& d = db.error().detail;
      MAIL_ASSERT(d.rfind("line ", 0) == 0);
      const std::size_t line = std::stoul(d.substr(5));
      std::size_t lines = 1;
      for (char c : in) lines += c == '\n';
      MAIL_ASSERT(line >= 1 && line <= lines);
      return 0;
    }
    check_round_trip(*db);
    return 0;
  }
  store::UserDb db;
  sasl::ScramCredentials c;
  c.salt = "salt";
  std::string_view rest = in;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view name = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const bool storable = store::storable_user_name(name);
    const bool had = storable && db.lookup(name).has_value();
    const Status s = db.add(name, c);
    MAIL_ASSERT(s.ok() == (storable && !had));
  }
  check_round_trip(db);
  return 0;
}
