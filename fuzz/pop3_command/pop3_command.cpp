// libFuzzer target: pop3::parse_command over one line. Must never assert, and whatever it
// accepts must hold a message number in 1..2^31-1 (RFC 1939 §3) where it names one.
#include <cstdint>
#include <string_view>

#include "core/assert.h"
#include "proto/pop3/command.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail::pop3;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = parse_command(line);
  if (!r.command) {
    MAIL_ASSERT(!r.error.empty());
    return 0;
  }
  constexpr std::uint32_t kMax = 2147483647u;
  if (auto* c = std::get_if<cmd::Retr>(&*r.command)) MAIL_ASSERT(c->msg >= 1 && c->msg <= kMax);
  if (auto* c = std::get_if<cmd::Dele>(&*r.command)) MAIL_ASSERT(c->msg >= 1 && c->msg <= kMax);
  if (auto* c = std::get_if<cmd::Top>(&*r.command)) MAIL_ASSERT(c->msg >= 1 && c->msg <= kMax && c->lines <= kMax);
  if (auto* c = std::get_if<cmd::List>(&*r.command)) MAIL_ASSERT(!c->msg || (*c->msg >= 1 && *c->msg <= kMax));
  if (auto* c = std::get_if<cmd::Uidl>(&*r.command)) MAIL_ASSERT(!c->msg || (*c->msg >= 1 && *c->msg <= kMax));
  return 0;
}
