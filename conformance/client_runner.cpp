// The smtp-client suite's scripted server and judge (client_runner.h). One case: listen on
// 127.0.0.1:0, start the client, accept it, play the stages of the case's script until the
// client closes, the script drops the connection, or the case's time is up; then let the
// client finish and judge. Holds and pauses watch the socket: bytes that arrive while a
// reply is withheld prove the client did not wait for it (RFC 5321 §4.3.1, RFC 2920 §3.1).
#include "client_runner.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "case_run.h"  // printable()
#include "core/assert.h"
#include "socket_connection.h"
#include "tls/context.h"
#include "tls/self_signed.h"
#include "tls_connection.h"

namespace mail::conformance {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::chrono::milliseconds left_until(Clock::time_point t) {
  return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()));
}

class Listener {
 public:
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  // 127.0.0.1 on an ephemeral port; false with `error`.
  bool open(std::string& error) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      error = std::string("listen on 127.0.0.1: ") + std::strerror(errno);
      return false;
    }
    port_ = ntohs(a.sin_port);
    return true;
  }
  std::uint16_t port() const noexcept { return port_; }
  // The first connection within `timeout`, or nullptr.
  std::unique_ptr<Connection> accept(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    int rc;
    do rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (rc < 0 && errno == EINTR);
    if (rc <= 0) return nullptr;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return nullptr;
    return make_socket_connection(c);  // blocking writes, poll()ed reads
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return r;
}

// The verb of a command line: its first word ("MAIL FROM:<a>" -> "MAIL").
std::string verb_of(std::string_view line) {
  std::size_t end = 0;
  while (end < line.size() && line[end] != ' ' && line[end] != ':') ++end;
  return upper(line.substr(0, end));
}

bool known_stage(const std::string& verb) {
  static const std::vector<std::string> k{"EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "STARTTLS", "AUTH"};
  return std::find(k.begin(), k.end(), verb) != k.end();
}

// Plays one case's server over `conn`, recording into `rec`.
class ScriptedServer {
 public:
  ScriptedServer(const ClientCase& c, std::unique_ptr<Connection> conn, tls::TlsContext& tls, ClientSessionRecord& rec,
                 Clock::time_point deadline)
      : c_(c), conn_(std::move(conn)), tls_(tls), rec_(rec), deadline_(deadline) {}

  void run() {
    if (!reply("greeting", 1)) return;
    bool sasl = false;
    while (!stop_) {
      auto line = read_line();
      if (!line) return;
      if (sasl) {
        // A SASL response after a 334 (RFC 4954 §4) is not a command.
        record(ClientEventRec::Kind::command, "SASL", *line);
        sasl = reply("SASL", ++counts_["SASL"]) && code_.starts_with("334");
        continue;
      }
      const std::string verb = verb_of(*line);
      const int n = ++counts_[verb];
      record(ClientEventRec::Kind::command, verb, *line);
      if (verb == "BDAT") {
        if (!bdat(*line)) return;
        continue;
      }
      if (!reply(known_stage(verb) ? verb : "*", n)) return;
      if (verb == "DATA" && code_.starts_with("3")) {
        if (!data()) return;
      } else if (verb == "STARTTLS" && code_ == "220") {
        if (!starttls(n)) return;
      } else if (verb == "QUIT" && code_.starts_with("2")) {
        // The server closes after its 221 (RFC 5321 §4.1.1.10); first give the client
        // a moment to close its side, which is what the cases look at.
        wait_for_close(Clock::now() + 2s);
        return;
      } else if (verb == "AUTH" && code_ == "334") {
        sasl = true;
      }
    }
  }

 private:
  // Waits up to `ms` (never past the deadline) for the client; true when it sent bytes or
  // closed meanwhile (either way it did not wait for what was withheld).
  bool watch(int ms) {
    const auto until = std::min(deadline_, Clock::now() + std::chrono::milliseconds(ms));
    bool any = false;
    while (!eof_ && Clock::now() < until) {
      const auto before = in_.size();
      if (!fill(until)) {
        any = any || eof_;
        break;
      }
      any = any || in_.size() > before;
    }
    return any;
  }
  // One recv into in_ until `until`; false at EOF, error or timeout.
  bool fill(Clock::time_point until) {
    if (eof_ || !conn_) return false;
    std::string got;
    const auto r = conn_->recv(got, left_until(until));
    if (r == Connection::Recv::data) {
      in_ += got;
      rec_.client_bytes += got;
      return true;
    }
    if (r == Connection::Recv::eof || r == Connection::Recv::error) {
      eof_ = true;
      record(ClientEventRec::Kind::client_close, "CLOSE", "");
      rec_.transcript.push_back("C: (closes the connection)");
    }
    return false;
  }
  // The next line (LF-terminated; a bare LF ends one too, and is recorded as sent).
  std::optional<std::string> read_line() {
    std::size_t lf;
    while ((lf = in_.find('\n')) == std::string::npos)
      if (!fill(deadline_)) return std::nullopt;
    std::string raw = in_.substr(0, lf + 1);
    in_.erase(0, lf + 1);
    rec_.command_lines.push_back(raw);
    rec_.transcript.push_back("C: " + printable(raw, 300));
    raw.pop_back();
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    return raw;
  }
  void record(ClientEventRec::Kind k, std::string verb, std::string line) {
    rec_.events.push_back(ClientEventRec{k, std::move(verb), std::move(line)});
  }
  bool send(std::string_view bytes) {
    // A write to a client that has gone fails; what it sent before is still read and judged.
    std::string error;
    if (write_failed_ || !conn_->send(bytes, error)) {
      if (!write_failed_) rec_.transcript.push_back("S: (write failed: " + error + ")");
      write_failed_ = true;
    }
    return true;
  }

  // Plays the reply to the n-th command of `key`. False when the script ended the session
  // (closed or went silent); code_ is the first line's code.
  bool reply(const std::string& key, int n) {
    ReplyScript scratch;
    const ReplyScript& script = reply_for(c_, key, n, scratch);
    const std::string stage = key == "greeting" ? key : key + "#" + std::to_string(n);
    code_.clear();
    // Bytes already buffered behind the command being answered were sent without waiting
    // for this reply, as are bytes (or a close) arriving while it is held.
    const bool buffered = !in_.empty();
    if ((c_.hold_ms > 0 && watch(c_.hold_ms)) || buffered) rec_.early.push_back(stage);
    for (const ReplyItem& item : script) {
      switch (item.kind) {
        case ReplyItem::Kind::line:
        case ReplyItem::Kind::raw: {
          if (code_.empty()) code_ = item.bytes.substr(0, 3);
          const std::string bytes = item.kind == ReplyItem::Kind::line ? item.bytes + "\r\n" : item.bytes;
          rec_.transcript.push_back("S: " + printable(bytes, 300));
          (void)send(bytes);
          break;
        }
        case ReplyItem::Kind::pause:
          if (watch(item.ms)) rec_.early.push_back(stage);
          break;
        case ReplyItem::Kind::close:
          rec_.transcript.push_back("S: (closes the connection)");
          record(ClientEventRec::Kind::server_close, "SERVERCLOSE", "");
          conn_.reset();
          stop_ = true;
          return false;
        case ReplyItem::Kind::silence:
          rec_.transcript.push_back("S: (silence)");
          // Record what the client does while nobody answers: commands, then its close.
          while (auto line = read_line()) record(ClientEventRec::Kind::command, verb_of(*line), *line);
          stop_ = true;
          return false;
      }
    }
    return true;
  }

  // After a 3yz to DATA: content up to CRLF "." CRLF (or "." CRLF at once: no content).
  bool data() {
    rec_.content_by_data = true;
    for (;;) {
      std::size_t end = std::string::npos, skip = 0;
      if (in_.starts_with(".\r\n")) {
        end = 0;
        skip = 3;
      } else if (const auto at = in_.find("\r\n.\r\n"); at != std::string::npos) {
        end = at + 2;
        skip = 3;
      }
      if (end != std::string::npos) {
        const std::string chunk = in_.substr(0, end);
        rec_.content += chunk;
        rec_.transcript.push_back("C: (content, " + std::to_string(chunk.size()) + " octets) " + printable(chunk, 200));
        rec_.transcript.push_back("C: .\\r\\n");
        record(ClientEventRec::Kind::content, "CONTENT", chunk);
        in_.erase(0, end + skip);
        return reply("DOT", ++counts_["DOT"]);
      }
      if (!fill(deadline_)) {
        if (!in_.empty()) record(ClientEventRec::Kind::content, "CONTENT", in_);
        rec_.content += in_;
        return false;
      }
    }
  }

  // "BDAT <size> [LAST]" (RFC 3030 §2): the chunk is the next <size> octets.
  bool bdat(const std::string& line) {
    std::istringstream words(line);
    std::string verb, size_text, last;
    words >> verb >> size_text >> last;
    const bool is_last = upper(last) == "LAST";
    if (size_text.empty() || size_text.size() > 9 ||
        !std::all_of(size_text.begin(), size_text.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
      rec_.transcript.push_back("S: (a BDAT without a valid size: the session cannot go on)");
      (void)reply("*", ++counts_["*"]);
      return false;
    }
    const std::size_t size = std::stoul(size_text);
    while (in_.size() < size)
      if (!fill(deadline_)) return false;
    const std::string chunk = in_.substr(0, size);
    in_.erase(0, size);
    rec_.content += chunk;
    rec_.transcript.push_back("C: (chunk, " + std::to_string(size) + " octets) " + printable(chunk, 200));
    record(ClientEventRec::Kind::content, "CONTENT", chunk);
    const std::string key = is_last ? "BDAT-LAST" : "BDAT";
    return reply(key, ++counts_[key]);
  }

  // After our 220 to STARTTLS: what the client sent behind the STARTTLS line is dropped
  // (and recorded as not waiting); then the server side of the handshake.
  bool starttls(int n) {
    if (!in_.empty()) {
      rec_.early.push_back("STARTTLS#" + std::to_string(n));
      rec_.transcript.push_back("C: (sent before the handshake, discarded) " + printable(in_, 200));
      in_.clear();
    }
    std::string error;
    conn_ = tls_accept(std::move(conn_), tls_, left_until(deadline_), error);
    if (!conn_) {
      record(ClientEventRec::Kind::tls_failed, "TLSFAIL", error);
      rec_.transcript.push_back("S: (TLS handshake failed: " + error + ")");
      stop_ = true;
      return false;
    }
    record(ClientEventRec::Kind::tls, "TLS", "");
    rec_.transcript.push_back("S: (TLS handshake done)");
    return true;
  }

  void wait_for_close(Clock::time_point until) {
    while (!eof_ && Clock::now() < until) {
      if (!fill(std::min(until, deadline_ + 2s))) break;
      // Anything after the 221 is a command the client should not have sent.
      std::size_t lf;
      while ((lf = in_.find('\n')) != std::string::npos) {
        std::string raw = in_.substr(0, lf + 1);
        in_.erase(0, lf + 1);
        rec_.command_lines.push_back(raw);
        rec_.transcript.push_back("C: " + printable(raw, 300));
        raw.pop_back();
        if (!raw.empty() && raw.back() == '\r') raw.pop_back();
        record(ClientEventRec::Kind::command, verb_of(raw), raw);
      }
    }
  }

  const ClientCase& c_;
  std::unique_ptr<Connection> conn_;
  tls::TlsContext& tls_;
  ClientSessionRecord& rec_;
  const Clock::time_point deadline_;
  std::string in_;
  std::string code_;
  bool eof_ = false;
  bool write_failed_ = false;
  bool stop_ = false;
  std::map<std::string, int> counts_;
};

bool matches(const std::string& text, const ClientExpect& e) {
  auto flags = std::regex::ECMAScript;
  if (e.icase) flags |= std::regex::icase;
  return std::regex_search(text, std::regex(e.regex, flags));
}

std::string describe_event(const ClientEventRec& ev) {
  switch (ev.kind) {
    case ClientEventRec::Kind::command: return printable(ev.line, 120);
    case ClientEventRec::Kind::content: return "CONTENT (" + std::to_string(ev.line.size()) + " octets)";
    case ClientEventRec::Kind::tls: return "TLS (handshake done)";
    case ClientEventRec::Kind::tls_failed: return "TLSFAIL (" + ev.line + ")";
    case ClientEventRec::Kind::client_close: return "CLOSE (the client closed the connection)";
    case ClientEventRec::Kind::server_close: return "SERVERCLOSE";
  }
  return "?";
}

bool one_of(const std::vector<std::string>& choices, const std::string& verb) {
  return std::find(choices.begin(), choices.end(), verb) != choices.end();
}

// The content without the transparency dots DATA added (RFC 5321 §4.5.2), as RFC 1870 §6
// counts it: header, body and the CRLFs between lines.
std::string unstuffed(const ClientSessionRecord& rec) {
  if (!rec.content_by_data) return rec.content;
  std::string out;
  std::size_t at = 0;
  while (at < rec.content.size()) {
    std::size_t eol = rec.content.find("\r\n", at);
    eol = eol == std::string::npos ? rec.content.size() : eol + 2;
    std::string_view line(rec.content.data() + at, eol - at);
    if (line.starts_with("..")) line.remove_prefix(1);
    out += line;
    at = eol;
  }
  return out;
}

}  // namespace

bool judge_client_case(const ClientCase& c, const ClientSessionRecord& rec, const ClientOutcome& outcome,
                       std::string& expected, std::string& got) {
  return judge_checks(c.expects, rec, outcome, expected, got);
}

bool judge_checks(const std::vector<ClientExpect>& checks, const ClientSessionRecord& rec, const ClientOutcome& outcome,
                  std::string& expected, std::string& got) {
  std::vector<const ClientEventRec*> seq;  // commands, content, TLS and closes, in order
  for (const auto& ev : rec.events) seq.push_back(&ev);
  auto verb_at = [&](std::size_t i) { return seq[i]->verb; };
  for (const ClientExpect& e : checks) {
    expected = e.text;
    got.clear();
    using K = ClientExpect::Kind;
    switch (e.kind) {
      case K::sent:
      case K::not_sent: {
        const auto it = std::find_if(seq.begin(), seq.end(), [&](const auto* ev) { return ev->verb == e.verb; });
        const bool seen = it != seq.end();
        if (seen != (e.kind == K::sent)) {
          got = seen ? "sent: " + describe_event(**it) : e.verb + " was never sent";
          return false;
        }
        break;
      }
      case K::first: {
        const auto it = std::find_if(seq.begin(), seq.end(), [](const auto* ev) {
          return ev->kind == ClientEventRec::Kind::command || ev->kind == ClientEventRec::Kind::client_close;
        });
        const std::string v = it == seq.end() ? "NOTHING" : (*it)->verb;
        if (!one_of(e.choices, v)) {
          got = it == seq.end() ? "no command at all" : describe_event(**it);
          return false;
        }
        break;
      }
      case K::last: {
        if (seq.empty() || !one_of(e.choices, seq.back()->verb)) {
          got = seq.empty() ? "nothing" : describe_event(*seq.back());
          return false;
        }
        break;
      }
      case K::next: {
        int seen = 0;
        std::size_t i = 0;
        for (; i < seq.size(); ++i)
          if (verb_at(i) == e.verb && ++seen == e.occurrence) break;
        if (i == seq.size()) {
          got = e.verb + (e.occurrence > 1 ? " #" + std::to_string(e.occurrence) : "") + " was never sent";
          return false;
        }
        if (i + 1 == seq.size()) {
          if (!one_of(e.choices, "NOTHING")) {
            got = "nothing: the client neither sent another command nor closed within the case";
            return false;
          }
        } else if (!one_of(e.choices, verb_at(i + 1))) {
          got = describe_event(*seq[i + 1]);
          return false;
        }
        break;
      }
      case K::waits: {
        for (const auto& stage : rec.early) {
          const bool relevant = e.verb == "all" || stage == e.verb || stage.starts_with(e.verb + "#");
          if (relevant) {
            got = "client bytes arrived while the reply to " + stage + " was withheld";
            return false;
          }
        }
        break;
      }
      case K::content:
      case K::content_lacks: {
        if (e.kind == K::content && rec.content.empty()) {
          if (e.if_sent) break;
          got = "no content was sent";
          return false;
        }
        if (matches(rec.content, e) != (e.kind == K::content)) {
          got = "content: " + printable(rec.content, 240);
          return false;
        }
        break;
      }
      case K::command:
      case K::no_command: {
        const auto it = std::find_if(seq.begin(), seq.end(), [&](const auto* ev) {
          return ev->kind == ClientEventRec::Kind::command && matches(ev->line, e);
        });
        if ((it != seq.end()) != (e.kind == K::command)) {
          got = it != seq.end() ? "sent: " + describe_event(**it) : "no such command";
          return false;
        }
        break;
      }
      case K::lines_max:
        for (const auto& l : rec.command_lines)
          if (l.size() > e.number) {
            got = std::to_string(l.size()) + " octets: " + printable(l, 120);
            return false;
          }
        break;
      case K::content_lines_max: {
        std::size_t at = 0;
        while (at < rec.content.size()) {
          std::size_t eol = rec.content.find("\r\n", at);
          eol = eol == std::string::npos ? rec.content.size() : eol + 2;
          std::size_t len = eol - at;
          // The dot added for transparency does not count (RFC 5321 §4.5.3.1.6).
          if (rec.content_by_data && rec.content.compare(at, 2, "..") == 0) --len;
          if (len > e.number) {
            got = "a content line of " + std::to_string(len) + " octets";
            return false;
          }
          at = eol;
        }
        break;
      }
      case K::ascii: {
        const auto it = std::find_if(rec.client_bytes.begin(), rec.client_bytes.end(),
                                     [](char ch) { return static_cast<unsigned char>(ch) > 0x7F; });
        if (it != rec.client_bytes.end()) {
          const auto at = static_cast<std::size_t>(it - rec.client_bytes.begin());
          got = "octet 0x" + std::string(1, "0123456789abcdef"[(static_cast<unsigned char>(*it) >> 4)]) +
                std::string(1, "0123456789abcdef"[static_cast<unsigned char>(*it) & 15]) + " in: " +
                printable(rec.client_bytes.substr(at > 40 ? at - 40 : 0, 80), 120);
          return false;
        }
        break;
      }
      case K::crlf_only: {
        const std::string& b = rec.client_bytes;
        for (std::size_t i = 0; i < b.size(); ++i) {
          const bool bare_cr = b[i] == '\r' && (i + 1 >= b.size() || b[i + 1] != '\n');
          const bool bare_lf = b[i] == '\n' && (i == 0 || b[i - 1] != '\r');
          if (bare_cr || bare_lf) {
            got = std::string(bare_cr ? "a bare CR" : "a bare LF") + " in: " +
                  printable(b.substr(i > 40 ? i - 40 : 0, 80), 120);
            return false;
          }
        }
        break;
      }
      case K::size_covers: {
        const auto it = std::find_if(seq.begin(), seq.end(), [](const auto* ev) { return ev->verb == "MAIL"; });
        if (it == seq.end()) {
          got = "no MAIL command";
          return false;
        }
        std::smatch m;
        const std::string& line = (*it)->line;
        if (!std::regex_search(line, m, std::regex(R"( SIZE=([0-9]{1,18}))", std::regex::icase))) break;  // none declared
        const std::uint64_t declared = std::stoull(m[1].str());
        const std::uint64_t actual = unstuffed(rec).size();
        if (rec.content.empty()) {
          got = "SIZE=" + m[1].str() + " but no content was sent";
          return false;
        }
        if (declared < actual) {
          got = "SIZE=" + m[1].str() + " for " + std::to_string(actual) + " octets of content";
          return false;
        }
        break;
      }
      case K::pipelines:
        if (rec.early.empty()) {
          got = "the client waited for every reply";
          return false;
        }
        break;
      case K::outcome: {
        if (!outcome.known) break;  // judged elsewhere as n/a
        const auto& r = outcome.recipients;
        for (std::size_t i = 0; i < r.size(); ++i) {
          if (e.recipient != 0 && static_cast<std::size_t>(e.recipient) != i + 1) continue;
          const bool ok = e.outcome == "failed" ? r[i] != "delivered" : r[i] == e.outcome;
          if (!ok) {
            got = "recipient " + std::to_string(i + 1) + ": " + r[i] + " (" + outcome.detail + ")";
            return false;
          }
        }
        if (r.empty() || (e.recipient != 0 && static_cast<std::size_t>(e.recipient) > r.size())) {
          got = "no outcome for that recipient (" + outcome.detail + ")";
          return false;
        }
        break;
      }
    }
  }
  expected.clear();
  return true;
}

std::shared_ptr<tls::TlsContext> make_scripted_server_tls(std::string& error) {
  auto pair = tls::generate_self_signed("mx.example.test", WallTime{1'767'225'600'000'000});
  if (!pair.ok()) {
    error = "cannot make a self-signed certificate: " + pair.error().detail;
    return nullptr;
  }
  tls::TlsConfig cfg;
  cfg.cert_chain_pem = pair->cert_pem;
  cfg.key_pem = pair->key_pem;
  auto ctx = tls::TlsContext::create(tls::Role::server, cfg);
  if (!ctx.ok()) {
    error = "cannot make a TLS server context: " + ctx.error().detail;
    return nullptr;
  }
  return std::shared_ptr<tls::TlsContext>(std::move(*ctx));
}

CaseResult run_client_case(const ClientCase& c, ClientUnderTest& client, tls::TlsContext& server_tls,
                           const ClientRunOptions& options) {
  CaseResult r;
  r.c = &c.c;
  const auto started = Clock::now();
  auto finish = [&](Verdict v, std::string reason) {
    r.verdict = v;
    r.reason = std::move(reason);
    r.millis = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return r;
  };
  const bool wire_checks = std::any_of(c.expects.begin(), c.expects.end(), [](const auto& e) { return e.wire(); });
  if (!client.reports_outcome() && (c.ours_only || !wire_checks))
    return finish(Verdict::not_applicable,
                  c.ours_only ? "needs our client's settings (client: ours)" : "judged only on the client's outcome");

  Listener listener;
  std::string error;
  if (!listener.open(error)) return finish(Verdict::error, error);
  if (!client.start(listener.port(), c, error)) return finish(Verdict::error, "the client did not start: " + error);
  ClientSessionRecord rec;
  if (auto conn = listener.accept(options.connect_timeout)) {
    rec.connected = true;
    ScriptedServer server(c, std::move(conn), server_tls, rec, Clock::now() + options.case_timeout);
    server.run();
  }
  const ClientOutcome outcome = client.finish(3s);
  r.transcript = rec.transcript;
  if (!outcome.error.empty()) return finish(Verdict::error, outcome.error + (outcome.detail.empty() ? "" : "; " + outcome.detail));
  if (!rec.connected)
    return finish(Verdict::error, "the client did not connect within " + std::to_string(options.connect_timeout.count()) +
                                      " ms" + (outcome.detail.empty() ? "" : " (" + outcome.detail + ")"));
  if (std::string expected, got; !judge_checks(c.when, rec, outcome, expected, got))
    return finish(Verdict::not_applicable, "applies when: " + expected + " (" + got + ")");
  if (!judge_client_case(c, rec, outcome, r.expected, r.got)) {
    std::string reason = "does not hold: " + r.expected;
    if (!outcome.detail.empty()) reason += " (client: " + outcome.detail + ")";
    return finish(Verdict::fail, reason);
  }
  return finish(Verdict::pass, "");
}

std::vector<CaseResult> run_client_suite(const ClientSuite& suite, ClientUnderTest& client, tls::TlsContext& server_tls,
                                         const ClientRunOptions& options) {
  std::vector<CaseResult> results;
  for (const auto& c : suite.cases) {
    const std::string id = c.c.full_id();
    if (!options.only.empty()) {
      const bool glob = options.only.find_first_of("*?[") != std::string::npos;
      if (glob ? fnmatch(options.only.c_str(), id.c_str(), 0) != 0 : id.find(options.only) == std::string::npos) continue;
    }
    results.push_back(run_client_case(c, client, server_tls, options));
  }
  return results;
}

}  // namespace mail::conformance
