// EmailSubmission records (RFC 8621 §7.1) kept for this run of the server: what
// EmailSubmission/get answers. A submission is final once the Submitter accepted it (no
// delayed send: maxDelayedSend 0, so undoStatus is always "final").
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "jmap/api.h"

namespace mail::jmap {

struct Api::Submission {
  std::string id;
  std::string identity_id;
  std::string email_id;
  std::string thread_id;
  boost::json::value envelope;
  std::string send_at;
  std::string reply;  // the SMTP reply of the hand-off
};

}  // namespace mail::jmap
