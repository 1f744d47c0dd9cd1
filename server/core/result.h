// Result<T>: a value or an Error (C++20 has no std::expected). Peer and operating errors
// travel as Results; programmer errors are MAIL_ASSERTs. Accessing the wrong side asserts.
#pragma once

#include <utility>
#include <variant>

#include "core/assert.h"
#include "core/error.h"

namespace mail {

struct Unexpected {
  Error error;
};
inline Unexpected fail(Errc code, std::string detail = {}) { return Unexpected{Error{code, std::move(detail)}}; }
inline Unexpected fail(Error e) { return Unexpected{std::move(e)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { MAIL_ASSERT(ok()); return std::get<0>(v_); }
  const T& value() const& { MAIL_ASSERT(ok()); return std::get<0>(v_); }
  T&& value() && { MAIL_ASSERT(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { MAIL_ASSERT(!ok()); return std::get<1>(v_); }
  Errc code() const noexcept { return ok() ? Errc::ok : std::get<1>(v_).code; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { MAIL_ASSERT(!ok_); return err_; }
  Errc code() const noexcept { return ok_ ? Errc::ok : err_.code; }

 private:
  Error err_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace mail
