// GIL helpers for the bindings: run C++ with the GIL released (rethrowing only once it is
// held again), and hold Python callables in std::function safely: the holder may be
// copied and destroyed on a thread that does not hold the GIL (a World event).
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <pybind11/pybind11.h>

namespace mail::py {

template <class F>
auto without_gil(F&& f) -> decltype(f()) {
  std::exception_ptr error;
  using R = decltype(f());
  if constexpr (std::is_void_v<R>) {
    {
      pybind11::gil_scoped_release release;
      try {
        f();
      } catch (...) {
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<R> result;
    {
      pybind11::gil_scoped_release release;
      try {
        result.emplace(f());
      } catch (...) {
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
}

// A Python object whose last reference may be dropped without the GIL.
inline std::shared_ptr<pybind11::object> hold(pybind11::object o) {
  return std::shared_ptr<pybind11::object>(new pybind11::object(std::move(o)), [](pybind11::object* p) {
    pybind11::gil_scoped_acquire gil;
    delete p;
  });
}

}  // namespace mail::py
