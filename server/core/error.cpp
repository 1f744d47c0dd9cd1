// Errc names and the errno -> Errc mapping used by the POSIX implementations.
#include "core/error.h"

#include <cerrno>
#include <cstring>

namespace mail {

std::string_view to_string(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::io: return "io";
    case Errc::not_found: return "not_found";
    case Errc::exists: return "exists";
    case Errc::no_space: return "no_space";
    case Errc::refused: return "refused";
    case Errc::timeout: return "timeout";
    case Errc::reset: return "reset";
    case Errc::eof: return "eof";
    case Errc::canceled: return "canceled";
    case Errc::invalid: return "invalid";
    case Errc::unavailable: return "unavailable";
    case Errc::unsupported: return "unsupported";
    case Errc::expired: return "expired";
  }
  return "unknown";
}

Error error_from_errno(int err, std::string_view what) {
  Errc code = Errc::io;
  switch (err) {
    case ENOENT: code = Errc::not_found; break;
    case EEXIST: code = Errc::exists; break;
    case ENOSPC: case EDQUOT: code = Errc::no_space; break;
    case ECONNREFUSED: code = Errc::refused; break;
    case ETIMEDOUT: code = Errc::timeout; break;
    case ECONNRESET: case EPIPE: code = Errc::reset; break;
    case ECANCELED: code = Errc::canceled; break;
    case EINVAL: code = Errc::invalid; break;
    case EAGAIN: case EMFILE: case ENFILE: code = Errc::unavailable; break;
    default: break;
  }
  std::string detail(what);
  detail += ": ";
  detail += std::strerror(err);
  return Error{code, std::move(detail)};
}

}  // namespace mail
