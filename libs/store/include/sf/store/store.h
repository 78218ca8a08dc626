// The document store of StreamForge (SPEC §2): one interface, two backends.
//
//   SQLite   (embedded default, STREAMFORGE_DB): one table per collection, `_key` primary key, the
//            document as JSON text, an indexed time column, WAL, one transaction per batch.
//   ArangoDB (ARANGO_URL set): documents over ArangoDB's HTTP API, batched upserts with
//            overwriteMode=replace, basic auth, TLS, retries on 503 and timeouts.
//
// Writes are upserts by `_key`: writing the same documents twice leaves the same collection. Every
// call is thread-safe. Collections are created on first use by ensure_collection().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sf/config/env.h"
#include "sf/core/result.h"

namespace sf::store {

// One document: its key, its JSON text (an object that contains "_key": key) and its time in epoch
// ms (0 when it has none), which range_by_time() reads.
struct Document {
  std::string key;
  std::string json;
  int64_t time_ms = 0;
};

// Why one document of a batch was refused (the others were written).
struct DocumentError {
  size_t index = 0;  // position in the batch
  int code = 0;      // ArangoDB errorNum, or an SQLite result code
  std::string message;
};

struct WriteResult {
  int64_t written = 0;  // documents the store confirmed
  std::vector<DocumentError> errors;
};

// A document's place in a query's order: its time, then its key (both descending).
struct Cursor {
  int64_t t = 0;
  std::string key;
};

// Top-level string fields that must be equal, newest first (by time, then key), paged.
struct Query {
  std::map<std::string, std::string> equals;
  int64_t limit = 100;
  int64_t offset = 0;
  // Keyset paging: only the documents after `after` in the order, from there (`offset` then
  // counts from it). A walk over a whole collection costs one index seek per page instead of
  // re-reading every document before the page (OFFSET is quadratic: 200,000 documents, 30 s).
  std::optional<Cursor> after;
  bool count = true;  // fill Page::total (a pass over every matching document)
};

struct Page {
  std::vector<std::string> documents;  // JSON texts
  int64_t total = 0;                   // matching documents, ignoring limit/offset (if counted)
  std::optional<Cursor> last;          // the last document's place: `after` for the next page
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::string describe() const = 0;  // "sqlite:/path/file.db", "arangodb:http://.../db"
  // Reachable and usable (for health checks).
  virtual Status ping() = 0;
  virtual Status ensure_collection(const std::string& collection) = 0;
  // Upserts by key. An Error means nothing of the batch can be assumed written (retry it whole);
  // per-document refusals come back in WriteResult::errors.
  virtual Result<WriteResult> upsert(const std::string& collection,
                                     const std::vector<Document>& docs) = 0;
  virtual Result<std::optional<std::string>> get(const std::string& collection,
                                                 const std::string& key) = 0;
  // Documents with from_ms <= time <= to_ms, oldest first, at most `limit`.
  virtual Result<std::vector<std::string>> range_by_time(const std::string& collection,
                                                         int64_t from_ms, int64_t to_ms,
                                                         int64_t limit) = 0;
  virtual Result<int64_t> count(const std::string& collection) = 0;
  virtual Result<Page> find(const std::string& collection, const Query& query) = 0;
};

// ArangoDB's rules for `_key`: 1-254 characters of [A-Za-z0-9_-:.@()+,=;$!*'%].
bool valid_key(std::string_view key);
// Collection names: a letter first, then letters, digits, '_' or '-', at most 64 characters
// (valid for ArangoDB and used as a quoted SQLite table name).
bool valid_collection_name(std::string_view name);

// Reads `_key` and the time of one JSON object: open_time (candles), else timestamp (trades,
// telemetry), else created_at; numbers below 1e11 are taken as seconds and converted to ms. A
// document without `_key` gets `fallback_key`. Errors: not a JSON object, `_key` not a valid key.
Result<Document> make_document(std::string json, std::string_view fallback_key);
// The same, taking `json` into the document (no copy) only when it succeeds: after an error it
// is unchanged (a consumer dead-letters it as it came).
Result<Document> make_document_from(std::string& json, std::string_view fallback_key);

struct SqliteOptions {
  std::string path = "streamforge.db";
  // FULL: a committed batch survives power loss as well as a crash (the connector commits Kafka
  // offsets after it); NORMAL: survives a crash of the process only.
  bool synchronous_full = true;
  std::chrono::milliseconds busy_timeout{10'000};
  // Page cache: the connector's batches touch pages all over a table; the queue-manager keeps its
  // states in memory anyway and needs little.
  int cache_kib = 32'768;
  // The page size of a file this creates (an existing file keeps its own). SQLite's default is
  // 4 KiB; with 16 KiB a B-tree of ~400-byte documents splits and rebalances a quarter as often:
  // a plain insert of 1M candles in time order went 1.3x as fast, the connector's CPU per
  // document 3.9 -> 3.2 us.
  int page_size = 16'384;
  // WAL after which a commit copies it into the database file (SQLite's default: 1,000 pages of
  // 4 KiB); with background_checkpoint, the thread's interval. In pages of the file's own size.
  int wal_autocheckpoint_kib = 4'000;
  // Checkpoints on a thread of their own (a second connection; PASSIVE, so the writer never waits
  // for the copy) each time the WAL has grown by `wal_autocheckpoint_kib`; the writer itself
  // copies the rest once the WAL holds 8 times that, so that SQLite starts it over (passive
  // checkpoints beside a busy writer never get to the end), which bounds the file. For a writer
  // that commits all the time (the connector: its checkpoints were ~40% of its write time, each a
  // stall of ~160 ms).
  bool background_checkpoint = false;
};

struct ArangoOptions {
  std::string url = "http://127.0.0.1:8529";
  std::string database = "_system";
  std::string user = "root";
  std::string password;
  std::string ca_file;  // https: the CA to verify the server with (empty: system CAs)
  std::chrono::milliseconds timeout{30'000};
  int max_attempts = 6;  // per request, on 503 / network errors, with capped backoff
  std::chrono::milliseconds backoff{200};
  bool wait_for_sync = true;  // a confirmed write is on disk
};

Result<std::unique_ptr<Store>> open_sqlite(const SqliteOptions& options);
Result<std::unique_ptr<Store>> open_arango(const ArangoOptions& options);

// From the environment: ArangoDB when ARANGO_URL is set (ARANGO_DB, ARANGO_USER, ARANGO_PASSWORD,
// CA_PATH), otherwise SQLite at STREAMFORGE_DB (default streamforge.db).
struct StoreSettings {
  bool arango = false;
  SqliteOptions sqlite;
  ArangoOptions arango_options;
};
Result<StoreSettings> store_settings_from_env(const config::EnvLookup& env);
Result<std::unique_ptr<Store>> open_store(const StoreSettings& settings);

// A worker's start: the store its environment names, or exit 2 with one line naming the variable
// (config::exit_with_config_error). The ArangoDB password is registered with the log scrubber.
// `sqlite_cache_kib` > 0 replaces SQLite's page cache size (readers that page through need little);
// `background_checkpoint_kib` > 0 checkpoints on a thread of its own at that interval
// (SqliteOptions::background_checkpoint).
std::unique_ptr<Store> open_store_or_exit(const config::EnvLookup& env, int sqlite_cache_kib = 0,
                                          int background_checkpoint_kib = 0);

}  // namespace sf::store
