// The one place where the bindings turn errors into Python exceptions. C++ code of the
// bindings throws BindingError (or calls raise_error with a core mail::Error); module.cpp
// registers the translator. Core code never throws: it returns Result, and asserts on
// programmer errors, so every argument that could trip an assertion is checked here first.
#pragma once

#include <stdexcept>
#include <string>

#include "core/error.h"

namespace pybind11 {
class module_;
}

namespace mail::py {

// Python classes (cloudsdial.<Name>), all derived from cloudsdial.CloudsdialError.
enum class ErrorKind {
  config,      // ConfigError(ValueError): bad argument, scenario or configuration
  not_found,   // NotFoundError(LookupError): unknown host, user, scenario
  state,       // StateError(RuntimeError): operation not valid now (host down, in callback)
  storage,     // StorageError(OSError): a disk/file error
  network,     // NetworkError(ConnectionError): refused, reset, eof
  timeout,     // SimTimeoutError(TimeoutError): a run or wait hit its bound
  simulation,  // SimulationError(RuntimeError): a step budget ran out, a livelock
};

class BindingError : public std::runtime_error {
 public:
  BindingError(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] void raise_error(ErrorKind kind, const std::string& what);
// Maps a core error code to its Python class ("what: detail").
[[noreturn]] void raise_error(const Error& error, const std::string& what);
ErrorKind kind_of(Errc code) noexcept;

// Creates the exception classes on `m` and registers the translator.
void register_errors(pybind11::module_& m);

}  // namespace mail::py
