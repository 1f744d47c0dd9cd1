// Exception classes of the `cloudsdial` module and the translator from BindingError
// (see errors.h). The class hierarchy is documented in docs/PYTHON.md ("Errors").
#include "errors.h"

#include <pybind11/pybind11.h>

namespace mail::py {

namespace pyb = pybind11;

void raise_error(ErrorKind kind, const std::string& what) { throw BindingError(kind, what); }

ErrorKind kind_of(Errc code) noexcept {
  switch (code) {
    case Errc::not_found: return ErrorKind::not_found;
    case Errc::invalid:
    case Errc::unsupported: return ErrorKind::config;
    case Errc::refused:
    case Errc::reset:
    case Errc::eof: return ErrorKind::network;
    case Errc::timeout: return ErrorKind::timeout;
    case Errc::canceled:
    case Errc::expired:
    case Errc::unavailable: return ErrorKind::state;
    case Errc::ok:
    case Errc::io:
    case Errc::exists:
    case Errc::no_space: return ErrorKind::storage;
  }
  return ErrorKind::storage;
}

void raise_error(const Error& error, const std::string& what) {
  std::string text = what;
  if (!error.detail.empty()) text += (text.empty() ? "" : ": ") + error.detail;
  text += " [" + std::string(to_string(error.code)) + "]";
  throw BindingError(kind_of(error.code), text);
}

void register_errors(pyb::module_& m) {
  // Leaked on purpose: exception classes live as long as the interpreter.
  auto* base = new pyb::object(pyb::reinterpret_steal<pyb::object>(
      PyErr_NewExceptionWithDoc("cloudsdial._core.CloudsdialError", "Base class of every cloudsdial error.",
                                PyExc_Exception, nullptr)));
  m.attr("CloudsdialError") = *base;
  auto make = [&](const char* name, const char* doc, PyObject* builtin) {
    pyb::tuple bases = pyb::make_tuple(*base, pyb::handle(builtin));
    const std::string qualified = std::string("cloudsdial._core.") + name;
    auto* cls = new pyb::object(pyb::reinterpret_steal<pyb::object>(
        PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr)));
    m.attr(name) = *cls;
    return cls;
  };
  static pyb::object* classes[7];
  classes[static_cast<int>(ErrorKind::config)] =
      make("ConfigError", "A bad argument, scenario or configuration.", PyExc_ValueError);
  classes[static_cast<int>(ErrorKind::not_found)] =
      make("NotFoundError", "An unknown host, user, scenario or file.", PyExc_LookupError);
  classes[static_cast<int>(ErrorKind::state)] =
      make("StateError", "The operation is not valid now (host down, inside a callback, stopped).",
           PyExc_RuntimeError);
  classes[static_cast<int>(ErrorKind::storage)] = make("StorageError", "A disk or file error.", PyExc_OSError);
  classes[static_cast<int>(ErrorKind::network)] =
      make("NetworkError", "Connection refused, reset or closed.", PyExc_ConnectionError);
  classes[static_cast<int>(ErrorKind::timeout)] =
      make("SimTimeoutError", "A run or a wait reached its bound.", PyExc_TimeoutError);
  classes[static_cast<int>(ErrorKind::simulation)] =
      make("SimulationError", "The simulation cannot go on (step budget exhausted, livelock).", PyExc_RuntimeError);
  pyb::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const BindingError& e) {
      PyErr_SetString(classes[static_cast<int>(e.kind())]->ptr(), e.what());
    }
  });
}

}  // namespace mail::py
