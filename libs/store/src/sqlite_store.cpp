// The SQLite backend: one table per collection (_key TEXT PRIMARY KEY, t INTEGER, doc TEXT), WAL,
// one transaction per batch, prepared statements cached per collection. One connection guarded by
// a mutex: SQLite serialises writers anyway, and point reads take microseconds.
#include <sqlite3.h>

#include <chrono>
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
    statements_.clear();
    sqlite3_close_v2(db_);
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
    auto* stmt = statement(collection, Op::upsert);
    if (stmt == nullptr) return db_error("preparing the upsert into " + collection);
    if (auto st = exec("BEGIN IMMEDIATE"); !st) return st.error();
    WriteResult out;
    for (size_t i = 0; i < docs.size(); ++i) {
      const auto& d = docs[i];
      if (!valid_key(d.key)) {
        out.errors.push_back({i, 1221, "illegal document key '" + d.key + "'"});
        continue;
      }
      sqlite3_bind_text(stmt, 1, d.key.data(), static_cast<int>(d.key.size()), SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 2, d.time_ms);
      sqlite3_bind_text(stmt, 3, d.json.data(), static_cast<int>(d.json.size()), SQLITE_STATIC);
      const int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      if (rc != SQLITE_DONE) {
        const std::string why = sqlite3_errmsg(db_);
        if (rc == SQLITE_CONSTRAINT || rc == SQLITE_TOOBIG || rc == SQLITE_MISMATCH) {
          out.errors.push_back({i, rc, why});
          continue;
        }
        (void)exec("ROLLBACK");
        return make_error("SQLite write into " + collection + " failed: " + why, transient(rc));
      }
      ++out.written;
    }
    if (auto st = exec("COMMIT"); !st) {
      (void)exec("ROLLBACK");
      return st.error();
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
    // (t, _key) < (?, ?): a seek in the (t) index, which holds the key (WITHOUT ROWID).
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
  enum class Op { upsert, get };

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
    if (auto st = exec("CREATE TABLE IF NOT EXISTS " + q +
                       " (_key TEXT PRIMARY KEY NOT NULL, t INTEGER NOT NULL, doc TEXT NOT NULL)"
                       " WITHOUT ROWID");
        !st) {
      return st;
    }
    if (auto st =
            exec("CREATE INDEX IF NOT EXISTS " + quoted(collection + "__t") + " ON " + q + " (t)");
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
    const std::string sql = op == Op::upsert
                                ? "INSERT INTO " + q +
                                      " (_key, t, doc) VALUES (?1, ?2, ?3) ON CONFLICT(_key) DO "
                                      "UPDATE SET t = excluded.t, doc = excluded.doc"
                                : "SELECT doc FROM " + q + " WHERE _key = ?1";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &slot->s, nullptr) != SQLITE_OK) {
      slot.reset();
      return nullptr;
    }
    return slot->s;
  }

  sqlite3* db_;
  SqliteOptions options_;
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
  for (const std::string& pragma :
       {std::string("PRAGMA journal_mode=WAL"),
        std::string("PRAGMA synchronous=") + (options.synchronous_full ? "FULL" : "NORMAL"),
        std::string("PRAGMA foreign_keys=OFF"),
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
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sf::store
