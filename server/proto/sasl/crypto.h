// The crypto SASL uses: mail::Crypto (core/crypto.h) under SASL's names. The caller supplies
// the implementation (tls::OpenSslCrypto in production), so proto stays free of OpenSSL and
// of any random source: randomness for nonces comes only through Crypto::random_bytes().
// RFC 5802 §2.2 (H, HMAC, Hi), RFC 7677 §3 (SHA-256).
#pragma once

#include "core/crypto.h"

namespace mail::sasl {

using Crypto = mail::Crypto;
using Digest = Sha256Digest;  // SHA-256 output: SCRAM keys, proofs and signatures
using mail::as_view;

}  // namespace mail::sasl
