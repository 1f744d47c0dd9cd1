// PYBIND11_MODULE for cloudsdial._core: registers the error classes first (errors.cpp),
// then the simulator (bind_sim.cpp), the embedded server (bind_server.cpp) and the sans-IO
// SMTP and POP3 sessions (bind_smtp.cpp, bind_pop3.cpp). The public API is the pure-Python package `cloudsdial`.
#include <pybind11/pybind11.h>

#include "errors.h"

namespace mail::py {
void bind_sim(pybind11::module_& m);
void bind_server(pybind11::module_& m);
void bind_smtp(pybind11::module_& m);
void bind_pop3(pybind11::module_& m);
}  // namespace mail::py

PYBIND11_MODULE(_core, m) {
  m.doc() = "Cloudsdial Mail core: the simulator, the embedded server and the SMTP and POP3 sessions.";
  m.attr("__version__") = CLOUDSDIAL_VERSION;
  mail::py::register_errors(m);
  mail::py::bind_sim(m);
  mail::py::bind_server(m);
  mail::py::bind_smtp(m);
  mail::py::bind_pop3(m);
}
