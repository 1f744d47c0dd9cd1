// A RapidCheck model-based test (rc::state) of one POP3 maildrop: the real sans-IO
// pop3::ServerSession driven with the real maildrop glue (maildrop.h) over the real
// IndexedStore (SQLite and Maildir files in a temp directory, production Env), against a
// reference model of the INBOX and of the session. Deliveries arrive between commands.
//   * the message list is the snapshot at login: later deliveries do not show (RFC 1939 §8);
//   * LIST sizes are the octets RETR sends before stuffing; RETR is the content stuffed
//     (RFC 1939 §3, §11);
//   * DELE only marks, RSET unmarks, QUIT removes exactly the marked ones durably (§6);
//   * a dropped connection removes nothing (§6);
//   * a UIDL never changes for a message and never repeats (§7).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "node/pop3/maildrop.h"
#include "proto/imap/session_harness.h"  // FakeCrypto / FakeStore ("user" / "pencil")
#include "proto/message/dot_stuff.h"
#include "proto/pop3/server_session.h"
#include "store/index/indexed_store.h"

namespace mail::node::pop3srv {
namespace {

namespace fs = std::filesystem;
const std::string kUser = "alice";

// ------------------------------------------------------------------------- the model
struct ModelMessage {
  std::uint32_t uid = 0;
  std::string content;
};

struct Model {
  std::vector<ModelMessage> inbox;  // ascending uid
  std::uint32_t uidnext = 1;
  bool logged_in = false;
  std::vector<ModelMessage> snapshot;  // at login: message number = index + 1
  std::set<std::size_t> marked;        // indexes into snapshot
};

// ------------------------------------------------------------------------- the system
struct Sut {
  Sut() : root(make_root()), store(env, store_config(root)) {
    run([this]() -> rt::Task<void> {
      Status made = co_await store.ensure_mailbox(kUser);
      EXPECT_TRUE(made.ok());
    });
  }
  ~Sut() {
    session.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  Sut(const Sut&) = delete;
  Sut& operator=(const Sut&) = delete;

  static std::string make_root() {
    std::string tmpl = (fs::temp_directory_path() / "pop3_model.XXXXXX").string();
    MAIL_ASSERT(::mkdtemp(tmpl.data()) != nullptr);
    return tmpl;
  }
  static store::IndexedStoreConfig store_config(const std::string& root) {
    store::IndexedStoreConfig c;
    c.data_dir = root;
    return c;
  }
  void run(std::function<rt::Task<void>()> body) {
    io::test::run_task(env, [](std::function<rt::Task<void>()> b) -> rt::Task<void> { co_await b(); }(std::move(body)));
  }

  void connect() {
    pop3::SessionConfig c;
    c.crypto = &crypto;
    c.credentials = &creds;
    c.plaintext_without_tls = true;
    session.emplace(std::move(c), Instant{});
    drain();
    out.clear();
  }
  // Feeds `in` whole, answering every event as Pop3SessionAdapter does; returns the output.
  std::string send(std::string_view in) {
    std::size_t pos = 0;
    while (pos < in.size() && !session->closed()) {
      pos += session->feed(in.substr(pos), Instant{});
      drain();
    }
    return std::exchange(out, {});
  }
  void drain() {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = session->poll_output()) {
        progress = true;
        if (auto* b = std::get_if<proto::out::Send>(&*o)) out += b->bytes;
        else if (std::holds_alternative<proto::out::Close>(*o)) out += "<Close>";
      }
      while (auto e = session->poll_event()) {
        progress = true;
        answer(*e);
      }
    }
  }
  void answer(pop3::Event& e) {
    if (auto* a = std::get_if<pop3::ev::Auth>(&e)) {
      Result<std::vector<pop3::MaildropEntry>> drop = fail(Errc::invalid, "not run");
      run([&]() -> rt::Task<void> { drop = co_await open_maildrop(store, kUser); });
      EXPECT_TRUE(drop.ok());
      session->complete_auth(a->id, a->success && drop.ok(), drop.ok() ? std::move(*drop) : std::vector<pop3::MaildropEntry>{},
                             Instant{});
    } else if (auto* r = std::get_if<pop3::ev::Retrieve>(&e)) {
      Result<std::string> content = fail(Errc::invalid, "not run");
      std::string inbox(kMaildropFolder);
      run([&]() -> rt::Task<void> { content = co_await store.read(kUser, inbox, r->uid); });
      if (content.ok()) {
        // In uneven pieces, as streaming would.
        const std::string& c = *content;
        for (std::size_t at = 0; at < c.size(); at += 7)
          if (!session->send_message(r->id, std::string_view(c).substr(at, 7))) break;
      }
      session->complete_retrieve(r->id, content.ok(), Instant{});
    } else if (auto* u = std::get_if<pop3::ev::Update>(&e)) {
      Result<std::size_t> removed = fail(Errc::invalid, "not run");
      run([&]() -> rt::Task<void> { removed = co_await remove_marked(store, kUser, u->deleted_uids); });
      session->complete_update(u->id, removed.ok(), Instant{});
    }
  }
  std::vector<std::uint32_t> store_uids() {
    std::vector<std::uint32_t> uids = {0};
    run([&]() -> rt::Task<void> {
      auto snap = co_await store.open_folder(kUser, "INBOX");
      if (!snap.ok()) co_return;
      uids.clear();
      for (const auto& m : snap->messages) uids.push_back(m.uid);
    });
    return uids;
  }

  io::AsioEnv env;
  std::string root;
  store::IndexedStore store;
  imap::testing::FakeCrypto crypto;
  imap::testing::FakeStore creds;
  std::optional<pop3::ServerSession> session;
  std::string out;
  std::map<std::uint32_t, std::string> uidls;  // every UIDL ever told
};

std::vector<std::uint32_t> uids_of(const std::vector<ModelMessage>& ms) {
  std::vector<std::uint32_t> out;
  for (const auto& m : ms) out.push_back(m.uid);
  return out;
}

using ModelCommand = rc::state::Command<Model, Sut>;

// Another agent (SMTP delivery, IMAP APPEND) adds to INBOX.
struct Deliver final : ModelCommand {
  std::string body = *rc::gen::element<std::string>("x\r\n", ".\r\n", "..a\r\n.b\r\nc\r\n", "", "line\r\n\r\n.end\r\n");
  std::string content(const Model& m) const { return "Subject: m" + std::to_string(m.uidnext) + "\r\n\r\n" + body; }
  void apply(Model& m) const override {
    m.inbox.push_back(ModelMessage{m.uidnext, content(m)});
    ++m.uidnext;
  }
  void run(const Model& m, Sut& sut) const override {
    std::uint32_t uid = 0;
    const std::string c = content(m);
    sut.run([&]() -> rt::Task<void> {
      auto r = co_await sut.store.append(kUser, "INBOX", c, store::Flags{}, 0);
      if (r.ok()) uid = r->uid;
    });
    RC_ASSERT(uid == m.uidnext);
  }
  void show(std::ostream& os) const override { os << "Deliver"; }
};

struct Login final : ModelCommand {
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.logged_in); }
  void apply(Model& m) const override {
    m.logged_in = true;
    m.snapshot = m.inbox;
    m.marked.clear();
  }
  void run(const Model& m, Sut& sut) const override {
    sut.connect();
    const std::string got = sut.send("USER user\r\nPASS pencil\r\n");
    std::uint64_t octets = 0;
    for (const auto& msg : m.inbox) octets += msg.content.size();
    RC_ASSERT(got == "+OK Send PASS\r\n+OK Logged in: " + std::to_string(m.inbox.size()) + " messages (" +
                         std::to_string(octets) + " octets)\r\n");
  }
  void show(std::ostream& os) const override { os << "Login"; }
};

struct SessionCommand : ModelCommand {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.logged_in); }
};

struct List final : SessionCommand {
  void apply(Model&) const override {}
  void run(const Model& m, Sut& sut) const override {
    std::string body;
    std::uint64_t count = 0, octets = 0;
    for (std::size_t i = 0; i < m.snapshot.size(); ++i) {
      if (m.marked.contains(i)) continue;
      ++count;
      octets += m.snapshot[i].content.size();
      body += std::to_string(i + 1) + " " + std::to_string(m.snapshot[i].content.size()) + "\r\n";
    }
    RC_ASSERT(sut.send("LIST\r\n") == "+OK " + std::to_string(count) + " messages (" + std::to_string(octets) +
                                          " octets)\r\n" + body + ".\r\n");
    RC_ASSERT(sut.send("STAT\r\n") == "+OK " + std::to_string(count) + " " + std::to_string(octets) + "\r\n");
  }
  void show(std::ostream& os) const override { os << "LIST+STAT"; }
};

struct Uidl final : SessionCommand {
  void apply(Model&) const override {}
  void run(const Model& m, Sut& sut) const override {
    std::istringstream lines(sut.send("UIDL\r\n"));
    std::string line;
    std::getline(lines, line);
    RC_ASSERT(line == "+OK\r");
    std::vector<std::size_t> numbers;
    while (std::getline(lines, line) && line != ".\r") {
      std::istringstream words(line);
      std::size_t n = 0;
      std::string id;
      words >> n >> id;
      RC_ASSERT(n >= 1 && n <= m.snapshot.size());
      const std::uint32_t uid = m.snapshot[n - 1].uid;
      auto [it, fresh] = sut.uidls.emplace(uid, id);
      RC_ASSERT(it->second == id);  // stable across sessions
      if (fresh)
        for (const auto& [other, seen] : sut.uidls) RC_ASSERT(other == uid || seen != id);  // unique
      numbers.push_back(n);
    }
    std::vector<std::size_t> expected;
    for (std::size_t i = 0; i < m.snapshot.size(); ++i)
      if (!m.marked.contains(i)) expected.push_back(i + 1);
    RC_ASSERT(numbers == expected);
  }
  void show(std::ostream& os) const override { os << "UIDL"; }
};

struct Retr final : SessionCommand {
  std::size_t pick = *rc::gen::inRange<std::size_t>(0, 1000);
  void apply(Model&) const override {}
  void run(const Model& m, Sut& sut) const override {
    const std::size_t n = m.snapshot.empty() ? 1 : pick % m.snapshot.size() + 1;
    const std::string got = sut.send("RETR " + std::to_string(n) + "\r\n");
    if (m.snapshot.empty()) {
      RC_ASSERT(got == "-ERR No such message\r\n");
    } else if (m.marked.contains(n - 1)) {
      RC_ASSERT(got == "-ERR Message " + std::to_string(n) + " already deleted\r\n");
    } else {
      RC_ASSERT(got == "+OK Message follows\r\n" + message::dot_stuff(m.snapshot[n - 1].content));
    }
  }
  void show(std::ostream& os) const override { os << "RETR #" << pick; }
};

struct Dele final : SessionCommand {
  std::size_t pick = *rc::gen::inRange<std::size_t>(0, 1000);
  void checkPreconditions(const Model& m) const override { RC_PRE(m.logged_in && !m.snapshot.empty()); }
  std::size_t index(const Model& m) const { return pick % m.snapshot.size(); }
  void apply(Model& m) const override { m.marked.insert(index(m)); }
  void run(const Model& m, Sut& sut) const override {
    const std::size_t i = index(m);
    const std::string got = sut.send("DELE " + std::to_string(i + 1) + "\r\n");
    if (m.marked.contains(i)) RC_ASSERT(got == "-ERR Message " + std::to_string(i + 1) + " already deleted\r\n");
    else RC_ASSERT(got == "+OK Message " + std::to_string(i + 1) + " deleted\r\n");
  }
  void show(std::ostream& os) const override { os << "DELE #" << pick; }
};

struct Rset final : SessionCommand {
  void apply(Model& m) const override { m.marked.clear(); }
  void run(const Model&, Sut& sut) const override { RC_ASSERT(sut.send("RSET\r\n").starts_with("+OK")); }
  void show(std::ostream& os) const override { os << "RSET"; }
};

struct Quit final : SessionCommand {
  void apply(Model& m) const override {
    std::set<std::uint32_t> gone;
    for (auto i : m.marked) gone.insert(m.snapshot[i].uid);
    std::erase_if(m.inbox, [&](const ModelMessage& msg) { return gone.contains(msg.uid); });
    m.logged_in = false;
    m.snapshot.clear();
    m.marked.clear();
  }
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.send("QUIT\r\n") == "+OK Logging out, messages deleted\r\n<Close>");
    Model after = m;
    apply(after);
    RC_ASSERT(sut.store_uids() == uids_of(after.inbox));  // exactly the marked ones went
  }
  void show(std::ostream& os) const override { os << "QUIT"; }
};

struct Disconnect final : SessionCommand {
  void apply(Model& m) const override {
    m.logged_in = false;
    m.snapshot.clear();
    m.marked.clear();
  }
  void run(const Model& m, Sut& sut) const override {
    sut.session->feed_eof(Instant{});
    sut.drain();
    RC_ASSERT(sut.session->closed());
    RC_ASSERT(sut.store_uids() == uids_of(m.inbox));  // nothing deleted (RFC 1939 §6)
  }
  void show(std::ostream& os) const override { os << "drop connection"; }
};

}  // namespace

// RFC 1939 §§3, 5-8 and §11 over the real store (issue 15).
RC_GTEST_PROP(Pop3MaildropModel, SessionAndStoreAgreeWithTheReferenceModel, ()) {
  Model model;
  Sut sut;
  rc::state::check(model, sut,
                   rc::state::gen::execOneOfWithArgs<Deliver, Deliver, Login, List, Uidl, Retr, Dele, Dele, Rset,
                                                     Quit, Disconnect>());
}

}  // namespace mail::node::pop3srv
