// ScopedDeterministicRandom (see header): a process-wide legacy RAND_METHOD, installed once,
// that reads the calling thread's Prng and otherwise defers to OpenSSL's default method.
// OpenSSL 3 still honours RAND_set_rand_method() for RAND_bytes/RAND_priv_bytes, which the
// default provider's key generation and signing use; the API is deprecated, hence the pragma.
#include "tls/sim_random.h"

#include <openssl/rand.h>

#include <mutex>

#include "core/assert.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace mail::tls {
namespace {

thread_local Prng* t_prng = nullptr;

int fill(unsigned char* buf, int num) {
  if (t_prng == nullptr) return RAND_OpenSSL()->bytes(buf, num);
  for (int i = 0; i < num; ++i) buf[i] = static_cast<unsigned char>(t_prng->next_u64());
  return 1;
}
int seed(const void* buf, int num) { return t_prng == nullptr ? RAND_OpenSSL()->seed(buf, num) : 1; }
int add(const void* buf, int num, double entropy) {
  return t_prng == nullptr ? RAND_OpenSSL()->add(buf, num, entropy) : 1;
}
int status() { return t_prng == nullptr ? RAND_OpenSSL()->status() : 1; }

const RAND_METHOD kMethod = {seed, fill, nullptr, add, fill, status};

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] { MAIL_ASSERT(RAND_set_rand_method(&kMethod) == 1); });
}

}  // namespace

ScopedDeterministicRandom::ScopedDeterministicRandom(Prng& prng) : previous_(t_prng) {
  install_once();
  t_prng = &prng;
}

ScopedDeterministicRandom::~ScopedDeterministicRandom() { t_prng = previous_; }

}  // namespace mail::tls
