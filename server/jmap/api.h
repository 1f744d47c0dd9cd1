// jmap::Api — the JMAP API of one server (RFC 8620 §3, RFC 8621): runs a Request's method
// calls in order against the MailStore and answers the Response object; serves the Session
// resource (§2), blob upload/download (§6) and the states push reports (§7). Knows no HTTP
// and no socket: node/http/jmap_routes.* authenticates and puts it on URLs. Sending
// (EmailSubmission) goes through a Submitter, which the node implements with the SMTP
// submission path and the outbound queue.
//
// Accounts: one per user, id "A" + base64url(user name), the user's own (isPersonal).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "jmap/account_view.h"
#include "jmap/blob_store.h"
#include "jmap/request.h"
#include "runtime/task.h"
#include "store/mail_store.h"

namespace mail::jmap {

// The outbound path for EmailSubmission (RFC 8621 §7): the message goes where an
// authenticated submission of `user` would (local delivery or the relay queue).
struct SubmitOutcome {
  bool accepted = false;
  std::string reply;     // the SMTP reply text ("250 2.0.0 Ok: queued as ..." or the refusal)
  std::vector<std::string> refused;  // recipients refused (with the reply for each in `reply`)
};
class Submitter {
 public:
  virtual ~Submitter() = default;
  virtual rt::Task<SubmitOutcome> submit(std::string user, std::string mail_from, std::vector<std::string> rcpt_to,
                                         std::string content) = 0;
};

struct ApiConfig {
  CoreLimits limits;
  std::string hostname = "localhost";  // Message-ID domain of created Emails
  // The address the user sends from (Identity/get): "user@domain".
  std::function<std::string(std::string_view user)> address_of;
  // Now, as Unix seconds (the caller's clock).
  std::function<std::int64_t()> now_unix;
};

struct HttpResult {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string file_name;  // download: Content-Disposition filename
};

struct States {
  std::string email, mailbox, thread, submission;
};

class Api {
 public:
  Api(store::MailStore& store, Submitter* submitter, ApiConfig config);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // The Session resource (RFC 8620 §2) for `user`; URLs are relative to `base` ("" or
  // "https://host:port").
  rt::Task<HttpResult> session(std::string user, std::string base);
  // POST to the API URL (RFC 8620 §3.3) by `user`.
  rt::Task<HttpResult> call(std::string user, std::string body);
  // RFC 8620 §6.1 upload and §6.2 download.
  rt::Task<HttpResult> upload(std::string user, std::string account_id, std::string type, std::string bytes);
  rt::Task<HttpResult> download(std::string user, std::string account_id, std::string blob_id, std::string name,
                                std::string accept);
  // The current states (for push, RFC 8620 §7.1 StateChange).
  rt::Task<Result<States>> states(std::string user);

  [[nodiscard]] static std::string account_id(std::string_view user);
  const ApiConfig& config() const noexcept { return config_; }
  store::MailStore& store() noexcept { return store_; }
  Submitter* submitter() noexcept { return submitter_; }
  BlobStore& blobs() noexcept { return blobs_; }

  // The account as JMAP sees it (account_view.h), shared by the requests until the store
  // reports a change of the account (MailStore::subscribe); at most 64 accounts kept.
  rt::Task<Result<std::shared_ptr<const AccountView>>> view(std::string user, bool with_messages);

  // The thread id a message had when last seen (Thread/changes of a destroyed Email).
  [[nodiscard]] std::optional<std::string> known_thread(std::string_view user, std::string_view content_id) const;

  struct Submission;  // EmailSubmission records of this run (RFC 8621 §7)
  std::vector<Submission>& submissions(std::string_view user);

 private:
  store::MailStore& store_;
  Submitter* submitter_;
  ApiConfig config_;
  BlobStore blobs_;
  std::uint64_t uploads_ = 0;  // makes upload blob ids unique (they are per account)
  struct SubmissionLog;
  std::unique_ptr<SubmissionLog> submission_log_;
  struct ViewCache;
  std::unique_ptr<ViewCache> views_;
};

}  // namespace mail::jmap
