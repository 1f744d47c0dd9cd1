// The network level of the remote-MX personalities (see personality_net.h). One Proxy per
// accepted connection of a personality host sits between the server's stream and SimNet's.
// Client bytes are split into command lines (RFC 5321 §2.3.8, §4.1.1), DATA content up to
// the final "CRLF.CRLF" (§4.1.1.4) and BDAT chunks (RFC 3030 §2); each command that gets a
// reply pushes an Expect, so each complete server reply (§4.2: "xyz-" continuation lines,
// "xyz " last line) is matched to the stage it answers, in order, even when pipelined
// (RFC 2920 §3). Must not: complete a server operation inside the call that started it
// (runtime/env.h), or call a server completion after the server destroyed its stream.
#include "personality_net.h"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "core/ascii.h"
#include "core/assert.h"
#include "personality.h"
#include "sim_env.h"

namespace mail::sim {

namespace {

constexpr std::size_t kCommandLineMax = 4096;     // beyond: not SMTP we can follow; pass through
constexpr std::size_t kHeaderCaptureMax = 16384;  // where X-Sim-Id / Message-ID are looked for
constexpr std::size_t kInputHeldMax = 64 * 1024;   // client bytes held back while a reply is awaited
constexpr std::size_t kEndlessBytesMax = 256 * 1024;  // 4x the client's reply_bytes_max, then silence
constexpr std::size_t kLongLineBytes = 20000;      // far past 512 (RFC 5321 §4.5.3.1.5) and 4096

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(ascii_upper(c));
  return out;
}

// The path of "MAIL FROM:<a@b> SIZE=1" / "RCPT TO:<c@d>", or the argument as sent.
std::string path_of(std::string_view line) {
  const std::size_t lt = line.find('<');
  const std::size_t gt = line.find('>', lt == std::string_view::npos ? 0 : lt);
  if (lt == std::string_view::npos || gt == std::string_view::npos) {
    const std::size_t colon = line.find(':');
    return colon == std::string_view::npos ? std::string{} : std::string(line.substr(colon + 1));
  }
  return std::string(line.substr(lt + 1, gt - lt - 1));
}

// The value of header field `name` (case-insensitive) in a CRLF header block, unfolded no further.
std::string field_of(std::string_view header, std::string_view name) {
  std::size_t i = 0;
  while (i < header.size()) {
    std::size_t eol = header.find("\r\n", i);
    if (eol == std::string_view::npos) eol = header.size();
    const std::string_view line = header.substr(i, eol - i);
    if (line.empty()) break;
    if (line.size() > name.size() && line[name.size()] == ':' && upper(line.substr(0, name.size())) == upper(name)) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return std::string(v.substr(0, 200));
    }
    i = eol + 2;
  }
  return {};
}

// "250 2.0.0 Ok: queued as 1A2B" -> "1A2B".
std::string queue_id_of(std::string_view reply) {
  const std::string_view key = "queued as ";
  const std::size_t at = reply.find(key);
  if (at == std::string_view::npos) return {};
  std::string_view rest = reply.substr(at + key.size());
  const std::size_t end = rest.find_first_of(" \r\n");
  return std::string(rest.substr(0, end));
}

int code_of(std::string_view reply) {
  if (reply.size() < 3 || !is_digit(reply[0]) || !is_digit(reply[1]) || !is_digit(reply[2])) return 0;
  return (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
}

// An EHLO reply without its STARTTLS line (RFC 3207 §4: the keyword advertises it).
std::string without_starttls(const std::string& reply) {
  std::vector<std::string> lines;
  std::size_t i = 0;
  while (i < reply.size()) {
    const std::size_t eol = reply.find("\r\n", i);
    MAIL_ASSERT(eol != std::string::npos);
    const std::string line = reply.substr(i, eol - i);
    if (!(line.size() > 4 && upper(line.substr(4)) == "STARTTLS")) lines.push_back(line);
    i = eol + 2;
  }
  MAIL_ASSERT(!lines.empty());
  std::string out;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    std::string line = lines[k];
    if (line.size() >= 4) line[3] = k + 1 == lines.size() ? ' ' : '-';
    out += line;
    out += "\r\n";
  }
  return out;
}

// What a server reply answers, and what the personality does to it.
struct Expect {
  std::optional<Stage> stage;          // none: a command no stage covers (QUIT, RSET, BDAT ...)
  std::optional<smtp::Reply> replace;  // sent instead of the server's reply
  std::string why;                     // "greylist" or the stage, for the trace
  Duration delay{0};
  bool silent = false;
  std::optional<Garble> garble;
  bool data_command = false;  // DATA: a 354 turns the client side to content
  bool starttls = false;      // STARTTLS: a 220 turns both directions into a pass-through
  bool blind_after = false;   // AUTH: from its first reply on, a pass-through
  bool close_after = false;   // a refused greeting: the server closes (RFC 5321 §3.1)
  bool strip_starttls = false;
};

struct Action {
  enum class Kind : std::uint8_t { write, sleep, shutdown, drop } kind = Kind::write;
  std::string bytes;
  Duration delay{0};
};

}  // namespace

// ============================================================================ Proxy

class Proxy {
 public:
  Proxy(SimEnv& env, std::shared_ptr<PersonalityState> state, std::unique_ptr<rt::Stream> inner)
      : world_(env.world()),
        host_(env.id()),
        clock_(env.clock()),
        state_(std::move(state)),
        inner_(std::move(inner)),
        timer_(env.clock().make_timer()),
        client_(inner_->remote_endpoint().address) {
    MAIL_ASSERT(state_ != nullptr);
    Expect greeting;
    greeting.stage = Stage::greeting;
    decide(greeting, true);
    greeting.close_after = greeting.replace.has_value();
    expect_.push_back(std::move(greeting));
  }
  ~Proxy() { cancel_posted(); }
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  rt::Stream& inner() { return *inner_; }
  // True when the connection must stay open after the server let go of it (silence).
  bool keeps_open() const noexcept { return silent_ && !inner_closed_; }

  // The server's stream is gone: its completions are destroyed uncalled (runtime/env.h).
  void detach() {
    cancel_posted();
    read_done_ = nullptr;
    write_done_ = nullptr;
    actions_.clear();
    detached_ = true;
    if (!keeps_open()) close_inner();
  }

  void read(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) {
    MAIL_ASSERT(done);
    MAIL_ASSERT(!read_done_);
    read_into_ = into;
    read_deadline_ = deadline;
    read_done_ = std::move(done);
    serve_read(true);
  }

  void write(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) {
    MAIL_ASSERT(done);
    MAIL_ASSERT(!write_done_);
    write_done_ = std::move(done);
    write_deadline_ = deadline;
    if (closed_ || silent_ || server_closed_) {
      // Swallowed: what the server says after a drop, a refused greeting or silence never
      // reaches the client.
      finish_write(Status{});
      return;
    }
    if (out_blind_ && out_raw_.empty()) {
      actions_.push_back(Action{Action::Kind::write, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
      run_actions();
      return;
    }
    out_raw_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    take_replies();
    run_actions();
  }

  void shutdown_send() {
    if (closed_ || silent_ || inner_closed_) return;
    inner_->shutdown_send();
  }

  void close() {
    server_closed_ = true;
    // Pending server operations complete canceled (runtime/env.h), never inline.
    if (read_done_) {
      post([d = std::move(read_done_)]() mutable { d(fail(Errc::canceled, "stream closed")); });
      read_done_ = nullptr;
    }
    if (write_done_) {
      actions_.clear();
      post([d = std::move(write_done_)]() mutable { d(fail(Errc::canceled, "stream closed")); });
      write_done_ = nullptr;
    }
    if (!keeps_open()) close_inner();
  }

 private:
  // ---------------------------------------------------------------- decisions
  void decide(Expect& e, bool network_reply) {
    MAIL_ASSERT(e.stage.has_value());
    const StagePersonality& sp = state_->config().at(*e.stage);
    Prng& rng = state_->net_rng();
    if (network_reply && sp.reply && sp.reply_ppm > 0 && rng.chance_ppm(sp.reply_ppm)) {
      e.replace = *sp.reply;
      e.why = std::string(to_string(*e.stage));
    }
    if (sp.delay_ppm > 0 && rng.chance_ppm(sp.delay_ppm)) {
      e.delay = sp.delay_min >= sp.delay_max
                    ? sp.delay_min
                    : Duration(static_cast<std::int64_t>(rng.between(static_cast<std::uint64_t>(sp.delay_min.count()),
                                                                     static_cast<std::uint64_t>(sp.delay_max.count()))));
    }
    if (sp.silent_ppm > 0 && rng.chance_ppm(sp.silent_ppm)) e.silent = true;
    if (sp.garble_ppm > 0 && !sp.garble.empty() && rng.chance_ppm(sp.garble_ppm)) {
      e.garble = sp.garble[rng.below(sp.garble.size())];
    }
  }

  void trace(std::string_view what, const std::string& detail) {
    world_.record(host_, std::string("personality.") + std::string(what), "client=" + client_ + " " + detail);
  }

  // ---------------------------------------------------------------- client -> server
  void process_input() {
    while (!in_raw_.empty()) {
      switch (in_) {
        case In::blind:
          to_server_ += in_raw_;
          in_raw_.clear();
          return;
        case In::wait_reply:
          return;
        case In::bdat: {
          const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_left_, in_raw_.size()));
          capture(std::string_view(in_raw_).substr(0, n));
          to_server_.append(in_raw_, 0, n);
          in_raw_.erase(0, n);
          bdat_left_ -= n;
          if (bdat_left_ == 0) in_ = In::command;
          continue;
        }
        case In::content: {
          const std::string joined = content_tail_ + in_raw_;
          const std::size_t at = joined.find("\r\n.\r\n");
          if (at == std::string::npos) {
            capture(in_raw_);
            to_server_ += in_raw_;
            in_raw_.clear();
            content_tail_ = joined.substr(joined.size() > 4 ? joined.size() - 4 : 0);
            return;
          }
          const std::size_t end = at + 5 - content_tail_.size();  // through the final CRLF
          MAIL_ASSERT(end >= 1 && end <= in_raw_.size());
          capture(std::string_view(in_raw_).substr(0, end));
          to_server_.append(in_raw_, 0, end);
          in_raw_.erase(0, end);
          in_ = In::command;
          Expect e;
          e.stage = Stage::end_of_data;
          decide(e, false);  // end-of-data codes are the handler's (stored state)
          expect_.push_back(std::move(e));
          continue;
        }
        case In::command: {
          const std::size_t eol = in_raw_.find("\r\n");
          if (eol == std::string::npos) {
            if (in_raw_.size() > kCommandLineMax) {
              trace("blind", "reason=long-line");
              in_ = In::blind;
              out_blind_ = true;
            }
            return;
          }
          const std::string line = in_raw_.substr(0, eol);
          in_raw_.erase(0, eol + 2);
          on_command(line);
          continue;
        }
      }
    }
  }

  void on_command(const std::string& line) {
    const std::string verb = upper(line.substr(0, line.find(' ')));
    Expect e;
    std::string forward = line + "\r\n";
    if (verb == "EHLO") {
      e.stage = Stage::ehlo;
      decide(e, true);
      e.strip_starttls = !state_->config().starttls;
      if (e.replace) forward = "NOOP\r\n";
    } else if (verb == "MAIL") {
      mail_from_ = path_of(line);
      header_.clear();
      header_done_ = false;
      sim_id_.clear();
      message_id_.clear();
      e.stage = Stage::mail;
      decide(e, true);
      if (e.replace) forward = "NOOP\r\n";
    } else if (verb == "RCPT") {
      e.stage = Stage::rcpt;
      const std::string rcpt = path_of(line);
      if (state_->config().greylist && state_->greylisted(client_, mail_from_, rcpt, world_.now())) {
        // RFC 6647 §2.1: a temporary failure the legitimate client retries later.
        e.replace = smtp::Reply::make(450, {4, 7, 1}, "<" + rcpt + ">: Recipient address rejected: Greylisted, try again later");
        e.why = "greylist";
        trace("greylist", "from=<" + mail_from_ + "> to=<" + rcpt + ">");
        decide(e, false);
      } else {
        decide(e, true);
      }
      if (e.replace) forward = "NOOP\r\n";
    } else if (verb == "DATA") {
      e.stage = Stage::data;
      decide(e, true);
      e.data_command = true;
      if (e.replace) {
        forward = "RSET\r\n";  // the transaction ends on both sides (RFC 5321 §4.1.1.5)
      } else {
        in_ = In::wait_reply;  // content only after a 354 (RFC 2920 §3.1)
      }
    } else if (verb == "BDAT") {
      // "BDAT <size> [LAST]" (RFC 3030 §2): the chunk follows the line at once.
      const std::string args = line.size() > 5 ? line.substr(5) : std::string();
      std::uint64_t size = 0;
      std::size_t i = 0;
      while (i < args.size() && is_digit(args[i]) && size < (1ull << 40)) size = size * 10 + static_cast<std::uint64_t>(args[i++] - '0');
      const bool last = upper(args).find("LAST") != std::string::npos;
      if (last) {
        e.stage = Stage::end_of_data;
        decide(e, false);
      }
      bdat_left_ = size;
      if (size > 0) in_ = In::bdat;
    } else if (verb == "STARTTLS") {
      e.starttls = true;
      in_ = In::wait_reply;
    } else if (verb == "AUTH") {
      e.blind_after = true;
      in_ = In::blind;
    }
    expect_.push_back(std::move(e));
    to_server_ += forward;
  }

  void capture(std::string_view bytes) {
    if (header_done_) return;
    header_.append(bytes.substr(0, kHeaderCaptureMax - std::min(kHeaderCaptureMax, header_.size())));
    const std::size_t end = header_.find("\r\n\r\n");
    if (end == std::string::npos && header_.size() < kHeaderCaptureMax) return;
    const std::string_view block = std::string_view(header_).substr(0, end == std::string::npos ? header_.size() : end + 2);
    sim_id_ = field_of(block, "X-Sim-Id");
    message_id_ = field_of(block, "Message-ID");
    header_done_ = true;
    header_.clear();
  }

  // ---------------------------------------------------------------- server reads
  void serve_read(bool from_call) {
    if (!read_done_ || silent_) return;  // silence: the server hears nothing more either
    if (!to_server_.empty()) {
      const std::size_t n = std::min(to_server_.size(), read_into_.size());
      MAIL_ASSERT(n > 0);
      std::copy_n(reinterpret_cast<const std::byte*>(to_server_.data()), n, read_into_.data());
      to_server_.erase(0, n);
      complete_read(from_call, n);
      return;
    }
    if (closed_ || inner_error_) {
      Error err = inner_error_ ? *inner_error_ : Error{closed_errc_, "closed by the personality"};
      complete_read(from_call, fail(std::move(err)));
      return;
    }
    // While the stream waits for a DATA or STARTTLS reply it holds the client's bytes back;
    // past kInputHeldMax it stops reading, so a client that does not wait pushes back on
    // itself (SimNet's window) instead of growing this buffer.
    if (!inner_reading_ && in_raw_.size() < kInputHeldMax) start_inner_read();
  }

  void complete_read(bool from_call, Result<std::size_t> r) {
    auto d = std::move(read_done_);
    read_done_ = nullptr;
    if (from_call) {
      post([d = std::move(d), r = std::move(r)]() mutable { d(std::move(r)); });
    } else {
      d(std::move(r));
    }
  }

  void start_inner_read() {
    MAIL_ASSERT(!inner_closed_);
    inner_reading_ = true;
    inner_->async_read_some(buf_, read_deadline_, [this](Result<std::size_t> r) {
      inner_reading_ = false;
      if (detached_) return;  // a kept (silent) connection: nothing listens any more
      if (!r.ok()) {
        // A timeout belongs to the server read that asked; with none waiting it is stale.
        if (r.error().code == Errc::timeout && !read_done_) return;
        inner_error_ = closed_ ? Error{closed_errc_, "closed by the personality"} : r.error();
        serve_read(false);
        return;
      }
      in_raw_.append(reinterpret_cast<const char*>(buf_.data()), *r);
      process_input();
      serve_read(false);
    });
  }

  // ---------------------------------------------------------------- server writes
  void take_replies() {
    for (;;) {
      if (out_blind_) {
        if (!out_raw_.empty()) actions_.push_back(Action{Action::Kind::write, std::move(out_raw_)});
        out_raw_.clear();
        return;
      }
      if (closed_ || silent_) {
        out_raw_.clear();
        return;
      }
      // A reply ends with a line whose fourth octet is not '-' (RFC 5321 §4.2.1).
      std::size_t i = 0;
      std::size_t end = std::string::npos;
      while (i < out_raw_.size()) {
        const std::size_t eol = out_raw_.find("\r\n", i);
        if (eol == std::string::npos) break;
        const bool more = eol - i >= 4 && out_raw_[i + 3] == '-';
        i = eol + 2;
        if (!more) {
          end = i;
          break;
        }
      }
      if (end == std::string::npos) return;
      std::string reply = out_raw_.substr(0, end);
      out_raw_.erase(0, end);
      on_reply(std::move(reply));
    }
  }

  void on_reply(std::string reply) {
    const int code = code_of(reply);
    // Unsolicited or closing replies (421: timeout, shutdown, too many errors) pass as sent.
    if (expect_.empty() || code == 421 || code == 0) {
      actions_.push_back(Action{Action::Kind::write, std::move(reply)});
      return;
    }
    Expect e = std::move(expect_.front());
    expect_.pop_front();
    const std::string stage = e.stage ? std::string(to_string(*e.stage)) : std::string("other");
    std::string out = std::move(reply);
    if (e.strip_starttls && code == 250) out = without_starttls(out);
    if (e.replace) {
      out = e.replace->to_wire(true);
      ++state_->counters().replies;
      trace("reply", "stage=" + stage + " why=" + e.why + " sent=" + std::to_string(e.replace->code) + " instead-of=" +
                         std::to_string(code));
    }
    if (e.stage == Stage::end_of_data && code / 100 == 2 && state_->config().drop_after_dot_ppm > 0 &&
        state_->net_rng().chance_ppm(state_->config().drop_after_dot_ppm)) {
      // Stored, but the 250 never reaches the client: it will send the message again
      // (RFC 1047). Recorded, so a checker can explain the duplicate.
      DroppedAfterDot d{world_.now(), std::string(world_.host_name(host_)), client_, queue_id_of(out), sim_id_, message_id_};
      trace("drop", "queue_id=" + d.queue_id + " sim_id=" + d.sim_id + " message_id=" + d.message_id);
      state_->drops().push_back(std::move(d));
      ++state_->counters().dropped;
      actions_.push_back(Action{Action::Kind::drop, {}});
      closed_ = true;
      closed_errc_ = Errc::reset;
      return;
    }
    if (e.silent) {
      ++state_->counters().silenced;
      trace("silent", "stage=" + stage);
      silent_ = true;
      return;
    }
    if (e.delay > Duration(0)) {
      ++state_->counters().delayed;
      trace("delay", "stage=" + stage + " us=" + std::to_string(e.delay.count()));
      actions_.push_back(Action{Action::Kind::sleep, {}, e.delay});
    }
    if (e.garble) {
      ++state_->counters().garbled;
      trace("garble", "stage=" + stage + " kind=" + std::string(to_string(*e.garble)));
      garble(*e.garble, out);
    } else {
      actions_.push_back(Action{Action::Kind::write, std::move(out)});
    }
    if (e.close_after) {
      actions_.push_back(Action{Action::Kind::shutdown, {}});
      closed_ = true;
      closed_errc_ = Errc::eof;
    }
    if (e.data_command) {
      if (code == 354 && !e.replace) {
        in_ = In::content;
        content_tail_ = "\r\n";  // the content starts at a line start
      } else if (in_ == In::wait_reply) {
        in_ = In::command;
      }
      resume_input();
    }
    if (e.starttls) {
      if (code == 220) {
        out_blind_ = true;
        in_ = In::blind;
        trace("blind", "reason=starttls");
      } else {
        in_ = In::command;
      }
      resume_input();
    }
    if (e.blind_after) out_blind_ = true;
  }

  void resume_input() {
    process_input();
    serve_read(false);
  }

  void garble(Garble kind, const std::string& reply) {
    Prng& rng = state_->net_rng();
    switch (kind) {
      case Garble::corrupt: {
        // Every line's code made invalid, so no client can take it for another valid reply;
        // and a few text bytes turned into control or 8-bit bytes.
        std::string out = reply;
        std::size_t i = 0;
        while (i < out.size()) {
          out[i] = 'X';
          const std::size_t eol = out.find("\r\n", i);
          if (eol == std::string::npos) break;
          i = eol + 2;
        }
        const std::size_t flips = 1 + rng.below(3);
        for (std::size_t k = 0; k < flips && out.size() > 6; ++k) {
          const std::size_t at = 4 + rng.below(out.size() - 6);
          if (out[at] == '\r' || out[at] == '\n') continue;
          out[at] = static_cast<char>(rng.below(2) == 0 ? rng.below(0x20) : 0x80 + rng.below(0x80));
        }
        actions_.push_back(Action{Action::Kind::write, std::move(out)});
        return;
      }
      case Garble::split: {
        // The same bytes in odd pieces: inside the code, then between each CR and its LF.
        std::vector<std::size_t> cuts{1, 2};
        for (std::size_t i = reply.find("\r\n"); i != std::string::npos; i = reply.find("\r\n", i + 2)) cuts.push_back(i + 1);
        std::size_t from = 0;
        for (std::size_t cut : cuts) {
          if (cut <= from || cut >= reply.size()) continue;
          actions_.push_back(Action{Action::Kind::write, reply.substr(from, cut - from)});
          actions_.push_back(Action{Action::Kind::sleep, {}, 1ms});
          from = cut;
        }
        actions_.push_back(Action{Action::Kind::write, reply.substr(from)});
        return;
      }
      case Garble::endless: {
        // Continuation lines that never end (RFC 5321 §4.2.1 puts no bound on their number);
        // past kEndlessBytesMax the personality falls silent, which bounds the simulation.
        const std::string code = reply.substr(0, 3);
        std::string chunk;
        for (int k = 0; k < 64; ++k) chunk += code + "-this reply goes on and on and on and on and on and on\r\n";
        for (std::size_t sent = 0; sent < kEndlessBytesMax; sent += chunk.size()) {
          actions_.push_back(Action{Action::Kind::write, chunk});
        }
        silent_ = true;
        return;
      }
      case Garble::long_line: {
        const std::size_t eol = reply.find("\r\n");
        MAIL_ASSERT(eol != std::string::npos);
        std::string out = reply.substr(0, eol);
        out.append(kLongLineBytes, 'x');
        out += reply.substr(eol);
        actions_.push_back(Action{Action::Kind::write, std::move(out)});
        return;
      }
    }
  }

  void run_actions() {
    while (!actions_.empty()) {
      Action a = std::move(actions_.front());
      actions_.pop_front();
      switch (a.kind) {
        case Action::Kind::write:
          if (inner_closed_) continue;
          writing_ = std::move(a.bytes);
          inner_->async_write_all(std::as_bytes(std::span(writing_)), write_deadline_, [this](Status s) {
            if (detached_) return;
            if (!s.ok()) {
              actions_.clear();
              finish_write(std::move(s));
              return;
            }
            run_actions();
          });
          return;
        case Action::Kind::sleep:
          timer_->async_wait_until(clock_.now() + a.delay, [this](Status) {
            if (detached_) return;
            run_actions();
          });
          return;
        case Action::Kind::shutdown:
          if (!inner_closed_) inner_->shutdown_send();
          continue;
        case Action::Kind::drop:
          close_inner();
          continue;
      }
    }
    finish_write(Status{});
  }

  void finish_write(Status s) {
    if (!write_done_) return;
    auto d = std::move(write_done_);
    write_done_ = nullptr;
    // Always posted: this may run inside write(), and a completion never runs inside the
    // call that started it.
    post([d = std::move(d), s = std::move(s)]() mutable { d(std::move(s)); });
  }

  void close_inner() {
    if (inner_closed_) return;
    inner_closed_ = true;
    inner_->close();
  }

  // ---------------------------------------------------------------- posting
  void post(UniqueFunction<void()> fn) {
    const std::uint64_t key = next_post_++;
    posted_[key] = world_.schedule_at(world_.now(), host_, [this, key, fn = std::move(fn)]() mutable {
      posted_.erase(key);
      fn();
    });
  }
  void cancel_posted() {
    for (auto& [key, handle] : posted_) world_.cancel(handle);
    posted_.clear();
  }

  enum class In : std::uint8_t { command, wait_reply, content, bdat, blind };

  World& world_;
  HostId host_;
  rt::Clock& clock_;
  std::shared_ptr<PersonalityState> state_;
  std::unique_ptr<rt::Stream> inner_;
  std::unique_ptr<rt::Timer> timer_;
  std::string client_;

  // client -> server
  In in_ = In::command;
  std::string in_raw_;     // client bytes not yet looked at
  std::string to_server_;  // what the server reads next
  std::string content_tail_;
  std::uint64_t bdat_left_ = 0;
  std::string mail_from_;
  std::string header_;
  bool header_done_ = true;
  std::string sim_id_, message_id_;
  std::array<std::byte, 16 * 1024> buf_{};
  bool inner_reading_ = false;
  std::optional<Error> inner_error_;
  std::span<std::byte> read_into_;
  Instant read_deadline_{};
  rt::Completion<std::size_t> read_done_;

  // server -> client
  std::deque<Expect> expect_;
  std::string out_raw_;  // server bytes short of a complete reply
  std::deque<Action> actions_;
  std::string writing_;
  Instant write_deadline_{};
  rt::Completion<void> write_done_;
  bool out_blind_ = false;
  bool silent_ = false;
  bool closed_ = false;  // greeting refused or dropped: nothing more either way
  Errc closed_errc_ = Errc::eof;
  bool inner_closed_ = false;
  bool server_closed_ = false;
  bool detached_ = false;

  std::map<std::uint64_t, EventHandle> posted_;
  std::uint64_t next_post_ = 1;
};

struct PersonalityKeeper::Held {
  std::unique_ptr<Proxy> proxy;
};

PersonalityKeeper::PersonalityKeeper() = default;
PersonalityKeeper::~PersonalityKeeper() = default;
void PersonalityKeeper::hold(std::unique_ptr<Held> held) { held_.push_back(std::move(held)); }

namespace {

class PersonalityStream final : public rt::Stream {
 public:
  PersonalityStream(SimEnv& env, std::shared_ptr<PersonalityState> state, std::shared_ptr<PersonalityKeeper> keeper,
                    std::unique_ptr<rt::Stream> inner)
      : proxy_(std::make_unique<Proxy>(env, std::move(state), std::move(inner))), keeper_(std::move(keeper)) {}
  ~PersonalityStream() override {
    proxy_->detach();
    if (proxy_->keeps_open()) keeper_->hold(std::make_unique<PersonalityKeeper::Held>(PersonalityKeeper::Held{std::move(proxy_)}));
  }
  PersonalityStream(const PersonalityStream&) = delete;
  PersonalityStream& operator=(const PersonalityStream&) = delete;

  void async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) override {
    proxy_->read(into, deadline, std::move(done));
  }
  void async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) override {
    proxy_->write(bytes, deadline, std::move(done));
  }
  void shutdown_send() override { proxy_->shutdown_send(); }
  void close() override { proxy_->close(); }
  rt::Endpoint local_endpoint() const override { return proxy_->inner().local_endpoint(); }
  rt::Endpoint remote_endpoint() const override { return proxy_->inner().remote_endpoint(); }

 private:
  std::unique_ptr<Proxy> proxy_;
  std::shared_ptr<PersonalityKeeper> keeper_;
};

class PersonalityListener final : public rt::Listener {
 public:
  PersonalityListener(SimEnv& env, std::unique_ptr<rt::Listener> inner, std::shared_ptr<PersonalityKeeper> keeper)
      : env_(env), inner_(std::move(inner)), keeper_(std::move(keeper)) {}

  void async_accept(rt::Completion<std::unique_ptr<rt::Stream>> done) override {
    // Forwarded as is: a host without a personality accepts exactly as before.
    inner_->async_accept([this, done = std::move(done)](Result<std::unique_ptr<rt::Stream>> r) mutable {
      std::shared_ptr<PersonalityState> state = env_.world().personality(env_.id());
      if (!r.ok() || state == nullptr) {
        done(std::move(r));
        return;
      }
      std::unique_ptr<rt::Stream> wrapped = std::make_unique<PersonalityStream>(env_, std::move(state), keeper_, std::move(*r));
      done(std::move(wrapped));
    });
  }
  rt::Endpoint local_endpoint() const override { return inner_->local_endpoint(); }
  void close() override { inner_->close(); }

 private:
  SimEnv& env_;
  std::unique_ptr<rt::Listener> inner_;
  std::shared_ptr<PersonalityKeeper> keeper_;
};

}  // namespace

HostNet::ListenFilter personality_listen_filter(SimEnv& env, std::uint16_t smtp_port) {
  auto keeper = std::make_shared<PersonalityKeeper>();
  return [&env, smtp_port, keeper](std::unique_ptr<rt::Listener> l, const rt::Endpoint& at) -> std::unique_ptr<rt::Listener> {
    if (at.port != smtp_port) return l;
    return std::make_unique<PersonalityListener>(env, std::move(l), keeper);
  };
}

}  // namespace mail::sim
