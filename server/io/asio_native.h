// The io_context behind an AsioEnv, for the other Asio layer (http/, Beast) to run on the
// same env thread. Includes Boost.Asio: only io/ and http/ may include this header, and
// they link Boost::headers themselves.
#pragma once

#include <boost/asio/io_context.hpp>

#include "io/asio_env.h"

namespace mail::io {

boost::asio::io_context& io_context(AsioEnv& env) noexcept;

}  // namespace mail::io
