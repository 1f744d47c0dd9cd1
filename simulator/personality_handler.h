// The stored-state level of the remote-MX personalities (personality.h): a node::MailHandler
// in front of the host's local delivery, put there through node::MailServer's HandlerWrapper,
// so production code under server/ has no test hook. It decides the end-of-data replies (after
// "." or BDAT LAST, RFC 5321 §4.1.1.4, RFC 3030 §2): a refused message is not stored, which
// only the handler can guarantee. Everything else passes to the local handler unchanged.
// Must not: draw anything, or add a coroutine frame, for a host without a personality (its
// deliveries then run exactly as before); store a message it refuses.
#pragma once

#include <memory>
#include <string>

#include "node/smtp_server.h"
#include "world.h"

namespace mail::sim {

class SimEnv;

class PersonalityHandler final : public node::MailHandler {
 public:
  PersonalityHandler(World& world, HostId host, node::MailHandler& inner) : world_(world), host_(host), inner_(inner) {}

  smtp::Reply check_mail_from(const smtp::Path& from, const smtp::MailParams& params,
                              const node::SessionFacts& facts) override {
    return inner_.check_mail_from(from, params, facts);
  }
  smtp::Reply check_recipient(const smtp::Path& to, const node::SessionFacts& facts) override {
    return inner_.check_recipient(to, facts);
  }
  // The personality's end-of-data reply (drawn from its delivery stream) without storing
  // anything; otherwise the local delivery's own task, returned as is.
  rt::Task<node::DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content) override;

 private:
  World& world_;
  HostId host_;
  node::MailHandler& inner_;
};

// The node::MailServer::HandlerWrapper of a simulated mail host.
std::unique_ptr<node::MailHandler> personality_handler(SimEnv& env, node::MailHandler& local);

}  // namespace mail::sim
