// The SMTP transaction's envelope as handed to the application with a message: everything
// the queue and DSN code need later (RFC 5321 §3.3, RFC 3461 parameters, RFC 6531 flag).
#pragma once

#include <string>
#include <vector>

#include "proto/smtp/address.h"
#include "proto/smtp/params.h"

namespace mail::smtp {

struct Recipient {
  Path path;          // as accepted (never null)
  RcptParams params;  // NOTIFY / ORCPT
  bool operator==(const Recipient&) const = default;
};

struct Envelope {
  std::string helo;           // EHLO/HELO argument
  bool extended_hello = false;  // EHLO (true) or HELO
  std::string client_address;   // peer IP text
  bool tls = false;             // the transaction ran over TLS
  std::string auth_identity;    // authenticated user, empty if none
  Path mail_from;
  MailParams mail_params;       // SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH
  std::vector<Recipient> recipients;  // accepted recipients, in RCPT order
};

}  // namespace mail::smtp
