// A RapidCheck model-based test (rc::state) of one mailbox shared by three IMAP sessions
// and a delivering agent: the real command layer (run_command over parsed IMAP commands),
// the real MailboxViews and the real IndexedStore (SQLite and Maildir files in a temp
// directory, production Env) against a reference model of the mailbox and of what each
// client has been told. Each session's client state is rebuilt from the untagged
// responses alone (EXISTS, EXPUNGE, FETCH), as a real client does, and must agree with the
// model after every command:
//   * sequence numbers are dense and ascending by UID (RFC 9051 §2.3.1.2);
//   * EXPUNGE is never sent during FETCH, STORE or SEARCH (§7.5.1), and after a NOOP or
//     EXPUNGE the client's view equals the mailbox (§7.4.1, §6.4.3);
//   * flags another session changed reach the client at its next command (§7.5.2);
//   * UIDs are never reused and UIDNEXT never decreases (§2.3.1.1).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "node/imap/commands.h"
#include "proto/imap/parser.h"
#include "proto/imap/server_session.h"
#include "store/index/indexed_store.h"

namespace mail::node::imapsrv {
namespace {

namespace fs = std::filesystem;
constexpr int kSessions = 3;
const std::vector<std::string> kFlags = {"\\Seen", "\\Flagged", "\\Deleted"};

// ------------------------------------------------------------------------- the model
struct ModelMessage {
  std::uint32_t uid = 0;
  std::set<std::string> flags;
};

struct Model {
  std::vector<ModelMessage> inbox;  // ascending uid: the mailbox's truth
  std::uint32_t uidnext = 1;
  std::uint32_t archived = 0;  // messages moved to Archive
  // What each client has been told: its sequence numbers' UIDs (expunges not yet told
  // included).
  std::array<std::vector<std::uint32_t>, kSessions> told;

  const ModelMessage* find(std::uint32_t uid) const {
    for (const auto& m : inbox)
      if (m.uid == uid) return &m;
    return nullptr;
  }
  ModelMessage* find(std::uint32_t uid) { return const_cast<ModelMessage*>(std::as_const(*this).find(uid)); }
  // After a command of session `s`: new messages are told always, expunges only when
  // allowed.
  void sync(int s, bool allow_expunge) {
    auto& t = told[static_cast<std::size_t>(s)];
    if (allow_expunge) {
      t.clear();
      for (const auto& m : inbox) t.push_back(m.uid);
      return;
    }
    const std::uint32_t max = t.empty() ? 0 : t.back();
    for (const auto& m : inbox)
      if (m.uid > max) t.push_back(m.uid);
  }
};

// ------------------------------------------------------------------------- the system
// One client as its untagged responses describe the mailbox: seq -> (uid, flags if told).
struct ClientEntry {
  std::uint32_t uid = 0;
  std::optional<std::set<std::string>> flags;
};

struct Sut {
  Sut() : root(make_root()), store(env, store_config(root)) {
    for (int s = 0; s < kSessions; ++s) {
      sessions.push_back(std::make_unique<imap::ServerSession>(imap::SessionConfig{}, Instant{}));
      contexts.push_back(std::make_unique<SessionContext>(
          SessionContext{env, store, config, *sessions.back(), "alice", "", std::nullopt, {}}));
    }
    run([this]() -> rt::Task<void> {
      Status made = co_await store.ensure_mailbox("alice");
      EXPECT_TRUE(made.ok());
    });
    for (int s = 0; s < kSessions; ++s) {
      const Response r = command(s, "SELECT INBOX");
      EXPECT_EQ(r.status, Response::Status::ok);
    }
  }
  ~Sut() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  Sut(const Sut&) = delete;
  Sut& operator=(const Sut&) = delete;

  static std::string make_root() {
    std::string tmpl = (fs::temp_directory_path() / "imap_model.XXXXXX").string();
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

  // Runs one command of session `s` and folds its untagged responses into the client.
  Response command(int s, const std::string& text) {
    auto parsed = imap::parse_command(imap::RawCommand{"t " + text, {}});
    MAIL_ASSERT(parsed.command.has_value());
    Response r;
    SessionContext& ctx = *contexts[static_cast<std::size_t>(s)];
    run([&]() -> rt::Task<void> { r = co_await run_command(ctx, std::move(*parsed.command)); });
    last_untagged = r.untagged;
    fold(s, r.untagged);
    return r;
  }

  // EXISTS, EXPUNGE and FETCH as a client reads them. New sequence numbers learn their
  // UIDs from the server's view (a client would FETCH them).
  void fold(int s, const std::string& untagged) {
    static const std::regex kExists(R"(^\* (\d+) EXISTS$)");
    static const std::regex kExpunge(R"(^\* (\d+) EXPUNGE$)");
    static const std::regex kFetch(R"(^\* (\d+) FETCH \((.*)\)$)");
    static const std::regex kUid(R"(UID (\d+))");
    static const std::regex kFlagList(R"(FLAGS \(([^)]*)\))");
    auto& client = clients[static_cast<std::size_t>(s)];
    const MailboxView& view = *contexts[static_cast<std::size_t>(s)]->view;
    std::size_t at = 0;
    while (at < untagged.size()) {
      const auto end = untagged.find("\r\n", at);
      RC_ASSERT(end != std::string::npos);
      const std::string line = untagged.substr(at, end - at);
      at = end + 2;
      std::smatch m;
      if (std::regex_match(line, m, kExists)) {
        const auto n = static_cast<std::size_t>(std::stoul(m[1]));
        RC_ASSERT(n >= client.size());
        while (client.size() < n) client.push_back(ClientEntry{0, std::nullopt});  // UID learnt below
      } else if (std::regex_match(line, m, kExpunge)) {
        const auto n = static_cast<std::size_t>(std::stoul(m[1]));
        RC_ASSERT(n >= 1 && n <= client.size());
        client.erase(client.begin() + static_cast<std::ptrdiff_t>(n - 1));
        ++expunges_seen;
      } else if (std::regex_match(line, m, kFetch)) {
        const auto n = static_cast<std::size_t>(std::stoul(m[1]));
        RC_ASSERT(n >= 1 && n <= client.size());
        const std::string items = m[2];
        std::smatch f;
        if (std::regex_search(items, f, kUid)) {
          if (client[n - 1].uid == 0) client[n - 1].uid = static_cast<std::uint32_t>(std::stoul(f[1]));
          RC_ASSERT(client[n - 1].uid == std::stoul(f[1]));
        }
        if (std::regex_search(items, f, kFlagList)) {
          std::set<std::string> flags;
          const std::string words = f[1];
          std::size_t p = 0;
          while (p < words.size()) {
            auto sp = words.find(' ', p);
            if (sp == std::string::npos) sp = words.size();
            if (sp > p && words.substr(p, sp - p) != "\\Recent") flags.insert(words.substr(p, sp - p));
            p = sp + 1;
          }
          client[n - 1].flags = std::move(flags);
        }
      }
    }
    // New messages whose UID no response named: a client would FETCH them; take the
    // server's word (the positions already agree if the counts do).
    if (client.size() == view.size()) {
      for (std::size_t i = 0; i < client.size(); ++i)
        if (client[i].uid == 0) client[i].uid = view.message(static_cast<std::uint32_t>(i + 1)).uid;
    }
  }

  io::AsioEnv env;
  std::string root;
  store::IndexedStore store;
  CommandConfig config;
  std::vector<std::unique_ptr<imap::ServerSession>> sessions;
  std::vector<std::unique_ptr<SessionContext>> contexts;
  std::array<std::vector<ClientEntry>, kSessions> clients;
  std::string last_untagged;
  std::uint64_t expunges_seen = 0;
  std::uint32_t highest_uidnext = 1;
};

// Every check that must hold after a command of session `s`.
void check_session(const Model& model, Sut& sut, int s) {
  const auto& client = sut.clients[static_cast<std::size_t>(s)];
  const auto& told = model.told[static_cast<std::size_t>(s)];
  const MailboxView& view = *sut.contexts[static_cast<std::size_t>(s)]->view;
  std::vector<std::uint32_t> client_uids, view_uids;
  for (const auto& e : client) client_uids.push_back(e.uid);
  for (std::uint32_t seq = 1; seq <= view.size(); ++seq) view_uids.push_back(view.message(seq).uid);
  RC_ASSERT(client_uids == told);
  RC_ASSERT(view_uids == told);
  RC_ASSERT(std::is_sorted(view_uids.begin(), view_uids.end()));
  RC_ASSERT(std::adjacent_find(view_uids.begin(), view_uids.end()) == view_uids.end());
  // Flags the client was told are the mailbox's flags (for messages still there).
  for (const auto& e : client) {
    const ModelMessage* m = model.find(e.uid);
    if (m != nullptr && e.flags) RC_ASSERT(*e.flags == m->flags);
  }
  // UIDNEXT never decreases and is past every UID.
  RC_ASSERT(view.uidnext() >= sut.highest_uidnext);
  sut.highest_uidnext = view.uidnext();
  if (!view_uids.empty()) RC_ASSERT(view.uidnext() > view_uids.back());
}

using ModelCommand = rc::state::Command<Model, Sut>;

// Another agent (SMTP delivery) appends to INBOX.
struct Deliver final : ModelCommand {
  void apply(Model& m) const override { m.inbox.push_back(ModelMessage{m.uidnext++, {}}); }
  void run(const Model& m, Sut& sut) const override {
    const std::string content = "Subject: model " + std::to_string(m.uidnext) + "\r\n\r\nbody\r\n";
    std::uint32_t uid = 0;  // RC_ASSERT throws: never inside a coroutine
    sut.run([&]() -> rt::Task<void> {
      auto r = co_await sut.store.append("alice", "INBOX", content, store::Flags{}, 0);
      if (r.ok()) uid = r->uid;
    });
    RC_ASSERT(uid == m.uidnext);  // §2.3.1.1: ascending, never reused (moves free none)
  }
  void show(std::ostream& os) const override { os << "Deliver"; }
};

struct SessionCommand : ModelCommand {
  int s = *rc::gen::inRange(0, kSessions);
};

struct Noop final : SessionCommand {
  void apply(Model& m) const override { m.sync(s, true); }
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.command(s, "NOOP").status == Response::Status::ok);
    Model after = m;
    apply(after);
    check_session(after, sut, s);
  }
  void show(std::ostream& os) const override { os << "NOOP by " << s; }
};

struct FetchAll final : SessionCommand {
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.told[static_cast<std::size_t>(s)].empty()); }
  void apply(Model& m) const override { m.sync(s, false); }
  void run(const Model& m, Sut& sut) const override {
    const auto before = sut.expunges_seen;
    RC_ASSERT(sut.command(s, "FETCH 1:* (UID FLAGS)").status == Response::Status::ok);
    RC_ASSERT(sut.expunges_seen == before);  // §7.5.1: no EXPUNGE during FETCH
    Model after = m;
    apply(after);
    check_session(after, sut, s);
  }
  void show(std::ostream& os) const override { os << "FETCH 1:* by " << s; }
};

struct StoreFlag final : SessionCommand {
  std::size_t pick = *rc::gen::inRange<std::size_t>(0, 64);
  bool add = *rc::gen::arbitrary<bool>();
  std::string flag = *rc::gen::elementOf(kFlags);

  std::uint32_t seq(const Model& m) const {
    return static_cast<std::uint32_t>(pick % m.told[static_cast<std::size_t>(s)].size()) + 1;
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.told[static_cast<std::size_t>(s)].empty()); }
  void apply(Model& m) const override {
    const std::uint32_t uid = m.told[static_cast<std::size_t>(s)][seq(m) - 1];
    if (ModelMessage* msg = m.find(uid)) {  // an expunge not yet told: nothing to change
      if (add) msg->flags.insert(flag);
      else msg->flags.erase(flag);
    }
    m.sync(s, false);
  }
  void run(const Model& m, Sut& sut) const override {
    const auto before = sut.expunges_seen;
    const std::string text = "STORE " + std::to_string(seq(m)) + (add ? " +FLAGS (" : " -FLAGS (") + flag + ")";
    RC_ASSERT(sut.command(s, text).status == Response::Status::ok);
    RC_ASSERT(sut.expunges_seen == before);  // §7.5.1: no EXPUNGE during STORE
    Model after = m;
    apply(after);
    check_session(after, sut, s);
  }
  void show(std::ostream& os) const override { os << "STORE seq#" << pick << (add ? " +" : " -") << flag << " by " << s; }
};

struct Expunge final : SessionCommand {
  void apply(Model& m) const override {
    std::erase_if(m.inbox, [](const ModelMessage& msg) { return msg.flags.count("\\Deleted") != 0; });
    m.sync(s, true);
  }
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.command(s, "EXPUNGE").status == Response::Status::ok);
    Model after = m;
    apply(after);
    check_session(after, sut, s);
  }
  void show(std::ostream& os) const override { os << "EXPUNGE by " << s; }
};

struct MoveToArchive final : SessionCommand {
  std::size_t pick = *rc::gen::inRange<std::size_t>(0, 64);

  void checkPreconditions(const Model& m) const override { RC_PRE(!m.told[static_cast<std::size_t>(s)].empty()); }
  // MOVE runs the resync that may tell expunges (it is not FETCH/STORE/SEARCH), so the
  // sequence number is resolved against what the client knew before the command.
  std::uint32_t uid(const Model& m) const {
    const auto& t = m.told[static_cast<std::size_t>(s)];
    return t[pick % t.size()];
  }
  void apply(Model& m) const override {
    const std::uint32_t u = uid(m);
    if (m.find(u) != nullptr) {
      std::erase_if(m.inbox, [u](const ModelMessage& msg) { return msg.uid == u; });
      ++m.archived;
    }
    m.sync(s, true);
  }
  void run(const Model& m, Sut& sut) const override {
    const auto& t = m.told[static_cast<std::size_t>(s)];
    const std::uint32_t seq = static_cast<std::uint32_t>(pick % t.size()) + 1;
    const Response r = sut.command(s, "MOVE " + std::to_string(seq) + " Archive");
    RC_ASSERT(r.status == Response::Status::ok);
    Model after = m;
    apply(after);
    check_session(after, sut, s);
    // The message is in Archive, with a COPYUID when it was still there (RFC 6851 §4.3).
    const bool moved = m.find(uid(m)) != nullptr;
    RC_ASSERT((sut.last_untagged.find("[COPYUID ") != std::string::npos) == moved);
    std::uint32_t archived = 999'999;
    sut.run([&]() -> rt::Task<void> {
      auto st = co_await sut.store.folder_status("alice", "Archive");
      if (st.ok()) archived = st->messages;
    });
    RC_ASSERT(archived == after.archived);
  }
  void show(std::ostream& os) const override { os << "MOVE seq#" << pick << " Archive by " << s; }
};

}  // namespace

// RFC 9051 §2.3.1, §7.4.1, §7.5.1 with three sessions and deliveries (issue 14).
RC_GTEST_PROP(ImapMailboxModel, ThreeSessionsAgreeWithTheReferenceModel, ()) {
  Model model;
  Sut sut;
  rc::state::check(model, sut,
                   rc::state::gen::execOneOfWithArgs<Deliver, Deliver, Noop, FetchAll, StoreFlag, StoreFlag, Expunge,
                                                     MoveToArchive>());
  // Finally every session NOOPs: all agree with the mailbox.
  for (int s = 0; s < kSessions; ++s) {
    RC_ASSERT(sut.command(s, "NOOP").status == Response::Status::ok);
    std::vector<std::uint32_t> uids;
    for (const auto& e : sut.clients[static_cast<std::size_t>(s)]) uids.push_back(e.uid);
    std::vector<std::uint32_t> store_uids = {0};
    sut.run([&]() -> rt::Task<void> {
      auto snap = co_await sut.store.open_folder("alice", "INBOX");
      if (!snap.ok()) co_return;
      store_uids.clear();
      for (const auto& m : snap->messages) store_uids.push_back(m.uid);
    });
    RC_ASSERT(uids == store_uids);
  }
}

}  // namespace mail::node::imapsrv
