// GET /metrics: the Prometheus text exposition format 0.0.4 of a MailServer's counters.
// Every series starts with cloudsdial_; each family has its # HELP and # TYPE lines. Only
// counters the services really keep (listener, SMTP, IMAP, POP3, HTTP, outbound queue):
// nothing is invented. Env only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.h"
#include "http/message.h"
#include "node/http/router.h"

namespace mail::node {

class MailServer;

// A writer of metric families (text format 0.0.4): name, type, help, labelled samples.
class MetricsText {
 public:
  using Sample = std::pair<std::string, double>;  // label set ("protocol=\"smtp\"" or ""), value
  void family(std::string_view name, std::string_view type, std::string_view help, const std::vector<Sample>& samples);
  // A histogram family: per labelled histogram the cumulative _bucket{le} series (+Inf
  // last), _sum and _count. `labels` may be empty ("") for an unlabelled one.
  using Labelled = std::pair<std::string, const Histogram*>;
  void histogram(std::string_view name, std::string_view help, const std::vector<Labelled>& histograms);
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

std::string render_metrics(MailServer& server);
// Adds GET /metrics to `router`; `server` must outlive it.
void add_metrics_route(HttpRouter& router, MailServer& server);

}  // namespace mail::node
