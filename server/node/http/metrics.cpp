// /metrics (see header). Must not: invent a value, emit a family without samples, or a
// series outside the cloudsdial_ namespace.
#include "node/http/metrics.h"

#include <charconv>

#include "node/mail_server.h"

namespace mail::node {

namespace {

// The shortest text that reads back as `v` ("0.0001", not "0.00010000000000000000479").
std::string number(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::string("NaN");
}

// A bucket bound as plain decimal ("0.0001", not "1e-04"), shortest that reads back exactly.
std::string bound_text(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return ec == std::errc{} ? std::string(buf, end) : number(v);
}

std::string proto_label(std::string_view p) { return "protocol=\"" + std::string(p) + "\""; }

rt::Task<http::Response> serve_metrics(MailServer& server, http::Request) {
  http::Response r;
  r.headers.push_back(http::Header{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
  r.body = render_metrics(server);
  co_return r;
}

}  // namespace

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help,
                         const std::vector<Sample>& samples) {
  if (samples.empty()) return;
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += help;
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
  for (const auto& [labels, value] : samples) {
    text_ += name;
    if (!labels.empty()) text_ += "{" + labels + "}";
    text_ += ' ';
    text_ += number(value);
    text_ += '\n';
  }
}

void MetricsText::histogram(std::string_view name, std::string_view help, const std::vector<Labelled>& histograms) {
  if (histograms.empty()) return;
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += help;
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += " histogram\n";
  auto series = [&](std::string_view suffix, const std::string& labels, double value) {
    text_ += name;
    text_ += suffix;
    if (!labels.empty()) text_ += "{" + labels + "}";
    text_ += ' ';
    text_ += number(value);
    text_ += '\n';
  };
  for (const auto& [labels, h] : histograms) {
    const std::string sep = labels.empty() ? "" : labels + ",";
    for (std::size_t i = 0; i <= h->bounds().size(); ++i) {
      const std::string le = i < h->bounds().size() ? bound_text(h->bounds()[i]) : "+Inf";
      series("_bucket", sep + "le=\"" + le + "\"", static_cast<double>(h->cumulative(i)));
    }
    series("_sum", labels, h->sum());
    series("_count", labels, static_cast<double>(h->count()));
  }
}

std::string render_metrics(MailServer& server) {
  struct Listener {
    std::string_view protocol;
    ListenerCounters counters;
    std::size_t sessions;
  };
  std::vector<Listener> listeners;
  const SmtpServerCounters smtp = server.smtp().counters();
  listeners.push_back({"smtp", smtp, server.smtp().connection_count()});
  std::optional<ImapServerCounters> imap;
  if (auto* s = server.imap()) {
    imap = s->counters();
    listeners.push_back({"imap", *imap, s->connection_count()});
  }
  std::optional<Pop3ServerCounters> pop3;
  if (auto* s = server.pop3()) {
    pop3 = s->counters();
    listeners.push_back({"pop3", *pop3, s->connection_count()});
  }
  std::optional<HttpServerCounters> http;
  if (auto* s = server.http()) {
    http = s->counters();
    listeners.push_back({"http", *http, s->connection_count()});
  }
  auto per_protocol = [&](auto value) {
    std::vector<MetricsText::Sample> out;
    for (const auto& l : listeners) out.emplace_back(proto_label(l.protocol), static_cast<double>(value(l)));
    return out;
  };
  MetricsText m;
  m.family("cloudsdial_connections_accepted_total", "counter", "Connections accepted, per protocol.",
           per_protocol([](const Listener& l) { return l.counters.connections_accepted; }));
  m.family("cloudsdial_connections_refused_total", "counter", "Connections refused over the connection limits.",
           per_protocol([](const Listener& l) { return l.counters.connections_refused; }));
  m.family("cloudsdial_sessions_active", "gauge", "Sessions open now, per protocol.",
           per_protocol([](const Listener& l) { return l.sessions; }));
  m.family("cloudsdial_tls_handshakes_total", "counter", "TLS handshakes completed (STARTTLS and implicit TLS).",
           per_protocol([](const Listener& l) { return l.counters.tls_handshakes; }));
  m.family("cloudsdial_tls_handshake_failures_total", "counter", "TLS handshakes that failed.",
           per_protocol([](const Listener& l) { return l.counters.tls_handshake_failures; }));

  m.family("cloudsdial_smtp_messages_accepted_total", "counter", "SMTP transactions whose message was accepted.",
           {{"", static_cast<double>(smtp.messages_accepted)}});
  m.family("cloudsdial_smtp_messages_refused_total", "counter", "SMTP messages refused by the mail handler.",
           {{"", static_cast<double>(smtp.messages_refused)}});
  m.family("cloudsdial_smtp_rejections_total", "counter", "SMTP 4xx/5xx refusals of commands.",
           {{"", static_cast<double>(smtp.rejections)}});

  std::vector<MetricsText::Sample> logins{{proto_label("smtp"), static_cast<double>(smtp.auth_successes)}};
  std::vector<MetricsText::Sample> failures{{proto_label("smtp"), static_cast<double>(smtp.auth_failures)}};
  if (imap) {
    logins.emplace_back(proto_label("imap"), static_cast<double>(imap->auth_successes));
    failures.emplace_back(proto_label("imap"), static_cast<double>(imap->auth_failures));
  }
  if (pop3) {
    logins.emplace_back(proto_label("pop3"), static_cast<double>(pop3->auth_successes));
    failures.emplace_back(proto_label("pop3"), static_cast<double>(pop3->auth_failures));
  }
  if (auto* admin = server.admin()) {
    failures.emplace_back(proto_label("http_admin"), static_cast<double>(admin->counters().auth_failures));
  }
  m.family("cloudsdial_auth_successes_total", "counter", "Successful logins, per protocol.", logins);
  m.family("cloudsdial_auth_failures_total", "counter", "Failed authentications, per protocol.", failures);

  if (imap) {
    m.family("cloudsdial_imap_commands_total", "counter", "IMAP commands handed to the mail store.",
             {{"", static_cast<double>(imap->commands)}});
  }
  if (pop3) {
    m.family("cloudsdial_pop3_messages_retrieved_total", "counter", "POP3 messages retrieved (RETR/TOP).",
             {{"", static_cast<double>(pop3->messages_retrieved)}});
    m.family("cloudsdial_pop3_messages_deleted_total", "counter", "POP3 messages deleted at QUIT.",
             {{"", static_cast<double>(pop3->messages_deleted)}});
  }
  if (http) {
    m.family("cloudsdial_http_requests_total", "counter", "HTTP requests routed.",
             {{"", static_cast<double>(http->requests)}});
    m.family("cloudsdial_http_client_errors_total", "counter", "HTTP 4xx answers of handlers and the router.",
             {{"", static_cast<double>(http->client_errors)}});
    m.family("cloudsdial_http_server_errors_total", "counter", "HTTP 5xx answers of handlers.",
             {{"", static_cast<double>(http->server_errors)}});
    m.family("cloudsdial_http_rate_limited_total", "counter", "HTTP requests refused with 429 by the per-IP rate limit.",
             {{"", static_cast<double>(http->rate_limited)}});
  }
  if (http) {
    m.histogram("cloudsdial_http_request_duration_seconds", "HTTP request latency: parsed to answered by its handler.",
                {{"", &http->request_seconds}});
  }
  const store::IndexedStoreStats store_stats = server.indexed_store().stats();
  m.histogram("cloudsdial_store_fsync_duration_seconds",
              "Mail store group commit: the data sync (fsync) of one round's files.",
              {{"committer=\"delivery\"", &store_stats.delivery_commits.sync_seconds},
               {"committer=\"append\"", &store_stats.append_commits.sync_seconds}});
  m.histogram("cloudsdial_store_group_commit_duration_seconds",
              "Mail store group commit: one round from its data sync to durable directory entries.",
              {{"committer=\"delivery\"", &store_stats.delivery_commits.round_seconds},
               {"committer=\"append\"", &store_stats.append_commits.round_seconds}});
  m.family("cloudsdial_store_group_commit_items_total", "counter", "Messages committed (or failed) by group-commit rounds.",
           {{"committer=\"delivery\"", static_cast<double>(store_stats.delivery_commits.items)},
            {"committer=\"append\"", static_cast<double>(store_stats.append_commits.items)}});
  if (auto* queue = server.outbound()) {
    const QueueCounters q = queue->counters();
    m.family("cloudsdial_queue_messages", "gauge", "Messages in the outbound queue now.",
             {{"", static_cast<double>(q.messages)}});
    m.family("cloudsdial_queue_accepted_total", "counter", "Messages queued for delivery.",
             {{"", static_cast<double>(q.accepted)}});
    m.family("cloudsdial_queue_delivered_total", "counter", "Recipients delivered from the queue.",
             {{"", static_cast<double>(q.delivered)}});
    m.family("cloudsdial_queue_bounced_total", "counter", "Recipients bounced.", {{"", static_cast<double>(q.bounced)}});
    m.family("cloudsdial_queue_deferred_total", "counter", "Recipient deferrals.",
             {{"", static_cast<double>(q.deferred)}});
  }
  return m.text();
}

void add_metrics_route(HttpRouter& router, MailServer& server) {
  router.add("GET", "/metrics", [&server](http::Request request) { return serve_metrics(server, std::move(request)); });
}

}  // namespace mail::node
