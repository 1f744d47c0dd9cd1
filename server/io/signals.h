// SignalSet: watches POSIX signals for an AsioEnv and runs a callback on the env thread
// (never in the signal handler) for each delivery, until destroyed or canceled. Used for
// graceful shutdown (SIGTERM, SIGINT) and reload (SIGHUP). Boost-free header (pimpl).
#pragma once

#include <initializer_list>
#include <memory>

#include "core/function.h"

namespace mail::io {

class AsioEnv;

class SignalSet {
 public:
  SignalSet() = default;  // watches nothing
  // Installs handlers for `signals` (an invalid number is a programmer error) and calls
  // `callback(signo)` on the env thread for each delivery. The callback may destroy or
  // cancel this SignalSet.
  SignalSet(AsioEnv& env, std::initializer_list<int> signals, UniqueFunction<void(int)> callback);
  ~SignalSet();  // cancel()
  SignalSet(SignalSet&&) noexcept;
  SignalSet& operator=(SignalSet&&) noexcept;

  // Stops watching: no further callback runs, even for a delivery already queued. When
  // no set watches a signal any more, its previous disposition is restored.
  void cancel() noexcept;
  bool active() const noexcept;

  struct State;  // signals.cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace mail::io
