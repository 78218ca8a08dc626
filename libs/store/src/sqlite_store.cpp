// The SQLite backend: one table per collection (_key TEXT PRIMARY KEY, t INTEGER, doc TEXT) with an
// index on (t, _key), WAL,
// one transaction per batch, prepared statements cached per collection. One connection guarded by
// a mutex: SQLite serialises writers anyway, and point reads take microseconds.
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "sf/store/store.h"

namespace sf::store {
namespace {

std::string quoted(const std::string& name) {
  return "\"" + name + "\"";  // names are validated: no quotes inside
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s); }
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, SqliteOptions options) : db_(db), options_(std::move(options)) {}
  ~SqliteStore() override {
    if (checkpointer_.joinable()) {
      {
        std::lock_guard lock(ckpt_mu_);
        ckpt_stop_ = true;
      }
      ckpt_cv_.notify_one();
      checkpointer_.join();
      sqlite3_close_v2(ckpt_db_);
    }
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  // SqliteOptions::background_checkpoint: `ckpt_db` is a second connection to the same file,
  // used by the checkpoint thread alone. The WAL hook replaces SQLite's auto-checkpoint.
  void start_checkpointer(sqlite3* ckpt_db) {
    ckpt_db_ = ckpt_db;
    sqlite3_wal_hook(db_, &SqliteStore::on_commit, this);
    // With every signal blocked (a thread inherits its creator's mask): a store opened before a
    // worker blocks SIGTERM for its own handling would otherwise have a thread that SIGTERM
    // kills the whole process on.
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
  }

  // The WAL's checkpoint interval, in pages of the file's own size.
  void set_checkpoint_interval() {
    int page = 4'096;
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA page_size", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      page = std::max(512, sqlite3_column_int(q, 0));
    }
    sqlite3_finalize(q);
    checkpoint_pages_ = static_cast<int>(
        std::max<int64_t>(1, int64_t{options_.wal_autocheckpoint_kib} * 1024 / page));
    sqlite3_wal_autocheckpoint(db_, checkpoint_pages_);
  }

  std::string describe() const override { return "sqlite:" + options_.path; }

  Status ping() override {
    std::lock_guard lock(mu_);
    return exec("SELECT 1");
  }

  Status ensure_collection(const std::string& collection) override {
    std::lock_guard lock(mu_);
    return ensure_locked(collection);
  }

  Result<WriteResult> upsert(const std::string& collection,
                             const std::vector<Document>& docs) override {
    std::lock_guard lock(mu_);
    if (auto st = ensure_locked(collection); !st) return st.error();
    auto* one = statement(collection, Op::upsert);
    auto* many = statement(collection, Op::upsert_many);
    if (one == nullptr || many == nullptr)
      return db_error("preparing the upsert into " + collection);
    if (auto st = exec("BEGIN IMMEDIATE"); !st) return st.error();
    WriteResult out;
    std::vector<size_t> rows;
    rows.reserve(kRowsPerStatement);
    bool refused = false;  // a document the store refused (its error is in out.errors)
    for (size_t i = 0; i < docs.size();) {
      rows.clear();
      for (; i < docs.size() && rows.size() < kRowsPerStatement; ++i) {
        if (valid_key(docs[i].key)) {
          rows.push_back(i);
        } else {
          out.errors.push_back({i, 1221, "illegal document key '" + docs[i].key + "'"});
          refused = true;
        }
      }
      if (rows.size() == kRowsPerStatement) {
        for (size_t r = 0; r < rows.size(); ++r) bind(many, static_cast<int>(3 * r), docs[rows[r]]);
        const int rc = sqlite3_step(many);
        sqlite3_reset(many);
        if (rc == SQLITE_DONE) {
          out.written += static_cast<int64_t>(rows.size());
          continue;
        }
        if (!refused_document(rc)) return abandon(collection, rc);
        // The statement undid its rows; one at a time, to name the document refused.
      }
      for (size_t r : rows) {
        bind(one, 0, docs[r]);
        const int rc = sqlite3_step(one);
        sqlite3_reset(one);
        if (rc == SQLITE_DONE) {
          ++out.written;
        } else if (refused_document(rc)) {
          out.errors.push_back({r, rc, sqlite3_errmsg(db_)});
          refused = true;
        } else {
          return abandon(collection, rc);
        }
      }
    }
    if (auto st = exec("COMMIT"); !st) {
      (void)exec("ROLLBACK");
      return st.error();
    }
    if (refused) {
      std::sort(out.errors.begin(), out.errors.end(),
                [](const DocumentError& a, const DocumentError& b) { return a.index < b.index; });
    }
    return out;
  }

  Result<std::optional<std::string>> get(const std::string& collection,
                                         const std::string& key) override {
    std::lock_guard lock(mu_);
    if (!exists_locked(collection)) return std::optional<std::string>();
    auto* stmt = statement(collection, Op::get);
    if (stmt == nullptr) return db_error("reading " + collection);
    sqlite3_bind_text(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    std::optional<std::string> out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) out = column_text(stmt, 0);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error("reading " + collection);
    return out;
  }

  Result<std::vector<std::string>> range_by_time(const std::string& collection, int64_t from_ms,
                                                 int64_t to_ms, int64_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    if (!exists_locked(collection)) return out;
    Stmt s;
    const std::string sql = "SELECT doc FROM " + quoted(collection) +
                            " WHERE t >= ?1 AND t <= ?2 ORDER BY t, _key LIMIT ?3";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.s, nullptr) != SQLITE_OK) {
      return db_error("range query on " + collection);
    }
    sqlite3_bind_int64(s.s, 1, from_ms);
    sqlite3_bind_int64(s.s, 2, to_ms);
    sqlite3_bind_int64(s.s, 3, limit);
    int rc;
    while ((rc = sqlite3_step(s.s)) == SQLITE_ROW) out.push_back(column_text(s.s, 0));
    if (rc != SQLITE_DONE) return db_error("range query on " + collection);
    return out;
  }

  Result<int64_t> count(const std::string& collection) override {
    std::lock_guard lock(mu_);
    if (!exists_locked(collection)) return int64_t{0};
    Stmt s;
    const std::string sql = "SELECT COUNT(*) FROM " + quoted(collection);
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.s, nullptr) != SQLITE_OK ||
        sqlite3_step(s.s) != SQLITE_ROW) {
      return db_error("counting " + collection);
    }
    return static_cast<int64_t>(sqlite3_column_int64(s.s, 0));
  }

  Result<Page> find(const std::string& collection, const Query& query) override {
    std::lock_guard lock(mu_);
    Page page;
    if (!exists_locked(collection)) return page;
    std::string where;
    for (const auto& [field, value] : query.equals) {
      if (!valid_collection_name(field)) return make_error("bad field name '" + field + "'");
      where += where.empty() ? " WHERE " : " AND ";
      where += "json_extract(doc, '$." + field + "') = ?";
    }
    auto bind_all = [&](sqlite3_stmt* s) {
      int i = 1;
      for (const auto& kv : query.equals) {
        sqlite3_bind_text(s, i++, kv.second.data(), static_cast<int>(kv.second.size()),
                          SQLITE_STATIC);
      }
      return i;
    };
    if (query.count) {
      Stmt s;
      const std::string sql = "SELECT COUNT(*) FROM " + quoted(collection) + where;
      if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.s, nullptr) != SQLITE_OK) {
        return db_error("query on " + collection);
      }
      bind_all(s.s);
      if (sqlite3_step(s.s) != SQLITE_ROW) return db_error("query on " + collection);
      page.total = sqlite3_column_int64(s.s, 0);
    }
    Stmt s;
    // (t, _key) < (?, ?): a seek in the (t, _key) index (in older WITHOUT ROWID collections the
    // (t) index, which holds the key there).
    const std::string after =
        query.after ? std::string(where.empty() ? " WHERE" : " AND") + " (t, _key) < (?, ?)" : "";
    const std::string sql = "SELECT doc, t, _key FROM " + quoted(collection) + where + after +
                            " ORDER BY t DESC, _key DESC LIMIT ? OFFSET ?";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.s, nullptr) != SQLITE_OK) {
      return db_error("query on " + collection);
    }
    int next = bind_all(s.s);
    if (query.after) {
      sqlite3_bind_int64(s.s, next++, query.after->t);
      sqlite3_bind_text(s.s, next++, query.after->key.data(),
                        static_cast<int>(query.after->key.size()), SQLITE_STATIC);
    }
    sqlite3_bind_int64(s.s, next, query.limit);
    sqlite3_bind_int64(s.s, next + 1, query.offset);
    int rc;
    while ((rc = sqlite3_step(s.s)) == SQLITE_ROW) {
      page.documents.push_back(column_text(s.s, 0));
      page.last = Cursor{sqlite3_column_int64(s.s, 1), column_text(s.s, 2)};
    }
    if (rc != SQLITE_DONE) return db_error("query on " + collection);
    return page;
  }

 private:
  enum class Op { upsert, upsert_many, get };

  // Documents per multi-row upsert: SQLite opens the table's and its indexes' cursors once per
  // statement, not once per document (a standalone insert of 1M candles with the store's table
  // and upsert: user CPU 1.67-1.82 us per document one at a time, 0.86-1.00 at 50 per statement;
  // 0.92 at 100 and 200).
  static constexpr size_t kRowsPerStatement = 100;

  // Binds a document to the parameters after `offset` (its key, time and text are kept by the
  // caller until the statement is reset).
  static void bind(sqlite3_stmt* stmt, int offset, const Document& d) {
    sqlite3_bind_text(stmt, offset + 1, d.key.data(), static_cast<int>(d.key.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, offset + 2, d.time_ms);
    sqlite3_bind_text(stmt, offset + 3, d.json.data(), static_cast<int>(d.json.size()),
                      SQLITE_STATIC);
  }

  // A failure that is the document's own (dead-lettered), not the store's.
  static bool refused_document(int rc) {
    return rc == SQLITE_CONSTRAINT || rc == SQLITE_TOOBIG || rc == SQLITE_MISMATCH;
  }

  // Rolls the batch back after a failure of the store itself (the message is SQLite's).
  Error abandon(const std::string& collection, int rc) {
    const std::string why = sqlite3_errmsg(db_);
    (void)exec("ROLLBACK");
    return make_error("SQLite write into " + collection + " failed: " + why, transient(rc));
  }

  // Errors that pass: another connection's lock, a full disk (freed later), an I/O error. The
  // same at a statement and at COMMIT (where WAL mode usually meets a full disk). Extended codes
  // (SQLITE_IOERR_WRITE, ...) count as their primary one.
  static bool transient(int rc) {
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
      case SQLITE_IOERR:
      case SQLITE_FULL:
        return true;
      default:
        return false;
    }
  }

  static std::string column_text(sqlite3_stmt* s, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, col)));
  }

  Error db_error(const std::string& what) const {
    const int rc = sqlite3_errcode(db_);
    return make_error("SQLite error " + what + " (" + options_.path + "): " + sqlite3_errmsg(db_),
                      transient(rc));
  }

  Status exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const int rc = sqlite3_errcode(db_);
      std::string why = err ? err : "unknown";
      sqlite3_free(err);
      return make_error(
          "SQLite '" + sql.substr(0, 60) + "' failed on " + options_.path + ": " + why,
          transient(rc));
    }
    return ok_status();
  }

  bool exists_locked(const std::string& collection) {
    if (known_.count(collection)) return true;
    Stmt s;
    if (sqlite3_prepare_v2(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1,
                           &s.s, nullptr) != SQLITE_OK) {
      return false;
    }
    sqlite3_bind_text(s.s, 1, collection.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s.s) == SQLITE_ROW) {
      known_.insert(collection);
      return true;
    }
    return false;
  }

  Status ensure_locked(const std::string& collection) {
    if (known_.count(collection)) return ok_status();
    if (!valid_collection_name(collection)) {
      return make_error("invalid collection name '" + collection +
                        "': expected a letter, then letters, digits, '_' or '-' (at most 64)");
    }
    const std::string q = quoted(collection);
    // A rowid table: a new document's row is appended at the table's right edge whatever its
    // key, so only the two small index entries land at the places the keys fall (a batch from
    // a topic's partitions meets each partition's run of keys at its own place). Collections made
    // before (WITHOUT ROWID, an index on t alone, which holds the key there) are used as they are:
    // every statement here reads both shapes.
    if (auto st = exec("CREATE TABLE IF NOT EXISTS " + q +
                       " (_key TEXT PRIMARY KEY NOT NULL, t INTEGER NOT NULL, doc TEXT NOT NULL)");
        !st) {
      return st;
    }
    if (auto st = exec("CREATE INDEX IF NOT EXISTS " + quoted(collection + "__t") + " ON " + q +
                       " (t, _key)");
        !st) {
      return st;
    }
    known_.insert(collection);
    return ok_status();
  }

  sqlite3_stmt* statement(const std::string& collection, Op op) {
    auto& slot = statements_[{collection, op}];
    if (slot && slot->s) return slot->s;
    slot = std::make_unique<Stmt>();
    const std::string q = quoted(collection);
    std::string sql;
    if (op == Op::get) {
      sql = "SELECT doc FROM " + q + " WHERE _key = ?1";
    } else {
      sql = "INSERT INTO " + q + " (_key, t, doc) VALUES (?, ?, ?)";
      if (op == Op::upsert_many) {
        for (size_t r = 1; r < kRowsPerStatement; ++r) sql += ", (?, ?, ?)";
      }
      sql += " ON CONFLICT(_key) DO UPDATE SET t = excluded.t, doc = excluded.doc";
    }
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &slot->s, nullptr) != SQLITE_OK) {
      slot.reset();
      return nullptr;
    }
    return slot->s;
  }

  // After each commit, on the writing thread, with the WAL's size in pages.
  static int on_commit(void* self, sqlite3* db, const char* name, int pages) {
    auto* store = static_cast<SqliteStore*>(self);
    const int every = store->checkpoint_pages_;
    store->wal_pages_.store(pages, std::memory_order_relaxed);
    if (pages < 8 * every) store->restart_at_ = 8 * every;  // the WAL started over
    if (pages >= store->restart_at_) {
      // Passive checkpoints beside a writer that commits all the time never copy the last frames,
      // and SQLite starts the WAL over only once all are copied: here the writer copies what the
      // thread left (little), after the thread's pass (a second checkpoint is refused at once,
      // not waited for), so that its next write starts the WAL over. A reader in a long
      // transaction (a graph build over a whole collection) keeps its frames: the wait for it is
      // 100 ms, not the 10 s busy timeout, and, refused, the next try is 8 intervals later.
      std::lock_guard copying(store->copy_mu_);
      sqlite3_busy_timeout(db, 100);
      const int rc =
          sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
      sqlite3_busy_timeout(db, static_cast<int>(store->options_.busy_timeout.count()));
      if (rc != SQLITE_OK) store->restart_at_ = pages + 8 * every;
    } else if (pages >= every) {
      store->ckpt_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void checkpoint_loop() {
    const int every = checkpoint_pages_;
    int copied_at = 0;  // the WAL's size when the last pass began
    std::unique_lock lock(ckpt_mu_);
    while (!ckpt_stop_) {
      int pages = 0;
      // A notify can come between the check and the wait: the timeout bounds that miss.
      ckpt_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] {
        pages = wal_pages_.load(std::memory_order_relaxed);
        if (pages < copied_at) copied_at = 0;  // the WAL started over
        return ckpt_stop_ || pages - copied_at >= every;
      });
      if (ckpt_stop_ || pages - copied_at < every) continue;
      copied_at = pages;
      lock.unlock();
      // Errors (BUSY while the writer copies, a full disk) leave the frames in the WAL, which is
      // durable; the writer's own commits report a disk that fails.
      {
        std::lock_guard copying(copy_mu_);
        sqlite3_wal_checkpoint_v2(ckpt_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  sqlite3* db_;
  SqliteOptions options_;
  int checkpoint_pages_ = 1'000;  // options_.wal_autocheckpoint_kib in the file's pages
  sqlite3* ckpt_db_ = nullptr;
  std::thread checkpointer_;
  std::mutex ckpt_mu_;
  std::mutex copy_mu_;  // held by whoever checkpoints: the thread, or the writer at 8 intervals
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;
  std::atomic<int> wal_pages_{0};
  int restart_at_ = 0;  // WAL pages at which the writer copies the rest (its thread only)
  std::mutex mu_;
  std::set<std::string> known_;
  std::map<std::pair<std::string, Op>, std::unique_ptr<Stmt>> statements_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return make_error("cannot open the SQLite store '" + options.path + "': " + why +
                      ". Hint: set STREAMFORGE_DB to a writable file path");
  }
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  auto store = std::make_unique<SqliteStore>(db, options);
  // Before the switch to WAL, which writes a new file's first page.
  const std::string page_size = "PRAGMA page_size=" + std::to_string(options.page_size);
  sqlite3_exec(db, page_size.c_str(), nullptr, nullptr, nullptr);
  for (const std::string& pragma :
       {std::string("PRAGMA journal_mode=WAL"),
        std::string("PRAGMA synchronous=") + (options.synchronous_full ? "FULL" : "NORMAL"),
        std::string("PRAGMA foreign_keys=OFF"),
        // The statement journal (the pages a multi-row upsert changed, to undo it alone) in
        // memory: SQLite spills it to a temporary file past 64 KiB, four pages of 16 KiB. Every
        // query here is ordered by an index, so no temporary B-tree grows in memory.
        std::string("PRAGMA temp_store=MEMORY"),
        // Keys arrive interleaved from many partitions, so upserts touch pages all over the
        // primary-key tree; a large page cache (SQLite's default is 2 MiB) keeps them from
        // re-reading.
        "PRAGMA cache_size=-" + std::to_string(options.cache_kib)}) {
    // Two programs opening a new file at once (make run's manager and visualizer) may both try
    // to switch it to WAL; SQLite answers BUSY at once there, without its busy handler: retry.
    const auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
    for (;;) {
      char* err = nullptr;
      const int prc = sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, &err);
      if (prc == SQLITE_OK) break;
      std::string why = err ? err : "unknown";
      sqlite3_free(err);
      if ((prc == SQLITE_BUSY || prc == SQLITE_LOCKED) &&
          std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      return make_error("cannot prepare the SQLite store '" + options.path + "' (" + pragma +
                        "): " + why);
    }
  }
  store->set_checkpoint_interval();
  if (options.background_checkpoint) {
    sqlite3* ckpt = nullptr;
    if (sqlite3_open_v2(options.path.c_str(), &ckpt, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string why = ckpt ? sqlite3_errmsg(ckpt) : "out of memory";
      sqlite3_close_v2(ckpt);
      return make_error("cannot open the SQLite store '" + options.path +
                        "' for its checkpoints: " + why);
    }
    // The checkpoint syncs as the writer would (FULL and NORMAL both sync the file it copied to).
    const std::string sync =
        std::string("PRAGMA synchronous=") + (options.synchronous_full ? "FULL" : "NORMAL");
    sqlite3_exec(ckpt, sync.c_str(), nullptr, nullptr, nullptr);
    store->start_checkpointer(ckpt);
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sf::store
