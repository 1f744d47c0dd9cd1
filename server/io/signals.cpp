// SignalSet over asio::signal_set: asio's handler only writes to a self-pipe, and the
// wait completes on the io_context; the wait is re-armed after each callback.
#include "io/signals.h"

#include <boost/asio/signal_set.hpp>

#include "io/asio_detail.h"
#include "io/asio_native.h"

namespace mail::io {

struct SignalSet::State {
  explicit State(boost::asio::io_context& io) : set(io) {}
  boost::asio::signal_set set;
  UniqueFunction<void(int)> callback;
  bool active = true;
};

namespace {
void arm(std::shared_ptr<SignalSet::State> s) {
  auto& set = s->set;
  set.async_wait([s = std::move(s)](const detail::error_code& ec, int signo) mutable {
    if (ec || !s->active) return;
    s->callback(signo);
    // The callback may have canceled or destroyed the SignalSet; `s` keeps State alive.
    if (s->active) arm(std::move(s));
  });
}
}  // namespace

SignalSet::SignalSet(AsioEnv& env, std::initializer_list<int> signals, UniqueFunction<void(int)> callback)
    : state_(std::make_shared<State>(io_context(env))) {
  MAIL_ASSERT(static_cast<bool>(callback));
  state_->callback = std::move(callback);
  for (int signo : signals) {
    detail::error_code ec;
    state_->set.add(signo, ec);
    MAIL_ASSERT(!ec);
  }
  arm(state_);
}

SignalSet::~SignalSet() { cancel(); }

SignalSet::SignalSet(SignalSet&& o) noexcept : state_(std::move(o.state_)) {}

SignalSet& SignalSet::operator=(SignalSet&& o) noexcept {
  if (this != &o) {
    cancel();
    state_ = std::move(o.state_);
  }
  return *this;
}

void SignalSet::cancel() noexcept {
  if (!state_) return;
  state_->active = false;
  detail::error_code ec;
  state_->set.cancel(ec);  // the pending wait completes operation_aborted, uncalled back
  state_->set.clear(ec);   // removes the signals, restoring dispositions nobody else needs
  state_.reset();
}

bool SignalSet::active() const noexcept { return state_ && state_->active; }

}  // namespace mail::io
