// libFuzzer target: the TOML configuration loader app::parse_config (app/config.cpp, with
// toml++) on operator text, and describe_config(), the effective configuration that
// `cloudsdial check-config` prints. The input is the configuration text.
// Checks: never crash or throw (parse errors are values naming "source:line"); an accepted
// configuration's description parses again, and describing that gives the same text (the
// description round-trips). Inputs that name a password file (or use \u escapes, which
// could spell one) are skipped: parse_config reads those files, and a fuzzer must not read
// arbitrary paths such as /dev/zero.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "app/config.h"
#include "core/assert.h"

using namespace mail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find("password") != std::string_view::npos || text.find("\\u") != std::string_view::npos ||
      text.find("\\U") != std::string_view::npos)
    return 0;
  auto cfg = app::parse_config(text, "fuzz.toml");
  if (!cfg.ok()) {
    MAIL_ASSERT(cfg.code() == Errc::invalid);
    MAIL_ASSERT(cfg.error().detail.rfind("fuzz.toml", 0) == 0);
    return 0;
  }
  const std::string described = app::describe_config(*cfg);
  auto again = app::parse_config(described, "fuzz.toml");
  if (!again.ok()) {
    std::fprintf(stderr, "description does not parse: %s\n%s\n", again.error().detail.c_str(), described.c_str());
    MAIL_ASSERT(again.ok());
  }
  const std::string described_again = app::describe_config(*again);
  if (described_again != described) {
    std::fprintf(stderr, "description differs:\n%s\n----\n%s\n", described.c_str(), described_again.c_str());
    MAIL_ASSERT(described_again == described);
  }
  return 0;
}
