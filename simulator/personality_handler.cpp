// The end-of-data replies of the remote-MX personalities (see personality_handler.h).
#include "personality_handler.h"

#include "core/assert.h"
#include "personality.h"
#include "sim_env.h"

namespace mail::sim {

namespace {
rt::Task<node::DeliveryResult> refuse(smtp::Reply reply) {
  MAIL_ASSERT(reply.code >= 400);
  co_return node::DeliveryResult{std::move(reply), {}, 0};
}
}  // namespace

rt::Task<node::DeliveryResult> PersonalityHandler::deliver(const smtp::Envelope& envelope, std::string content) {
  std::shared_ptr<PersonalityState> state = world_.personality(host_);
  if (state != nullptr) {
    const StagePersonality& sp = state->config().at(Stage::end_of_data);
    if (sp.reply && sp.reply_ppm > 0 && state->delivery_rng().chance_ppm(sp.reply_ppm)) {
      ++state->counters().replies;
      world_.record(host_, "personality.reply",
                    "client=" + envelope.client_address + " stage=end_of_data why=end_of_data sent=" +
                        std::to_string(sp.reply->code) + " (not stored)");
      return refuse(*sp.reply);
    }
  }
  return inner_.deliver(envelope, std::move(content));
}

std::unique_ptr<node::MailHandler> personality_handler(SimEnv& env, node::MailHandler& local) {
  return std::make_unique<PersonalityHandler>(env.world(), env.id(), local);
}

}  // namespace mail::sim
