#include "sf/store/store.h"

#include <simdjson.h>

#include <array>
#include <cmath>

#include "sf/log/log.h"

namespace sf::store {

namespace {

// The characters of ArangoDB's document keys (ASCII letters and digits, and _-:.@()+,=;$!*'%): a
// table, as every document's key is checked (twice on the connector's way: parsed and stored).
constexpr std::array<bool, 256> kKeyChars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (unsigned char c : std::string_view("_-:.@()+,=;$!*'%")) t[c] = true;
  return t;
}();

}  // namespace

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 254) return false;
  for (unsigned char c : key) {
    if (!kKeyChars[c]) return false;
  }
  return true;
}

bool valid_collection_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::isalpha(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

namespace {

int64_t to_ms(double v) {
  // Seconds (telemetry's fractional unix time) become ms; ms stay; µs (vision files) become ms.
  if (std::fabs(v) < 1e11) return static_cast<int64_t>(std::llround(v * 1000.0));
  if (std::fabs(v) >= 1e14) return static_cast<int64_t>(v / 1000.0);
  return static_cast<int64_t>(v);
}

}  // namespace

Result<Document> make_document(std::string json, std::string_view fallback_key) {
  return make_document_from(json, fallback_key);
}

Result<Document> make_document_from(std::string& json, std::string_view fallback_key) {
  // The DOM parser validates the whole text (the On-Demand one would not see trailing garbage).
  thread_local simdjson::dom::parser parser;
  Document d;
  std::optional<int64_t> open_time, timestamp, created_at;
  bool has_key = false;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return make_error("not valid JSON");
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return make_error("not a JSON object");
  for (auto field : obj) {
    const std::string_view name = field.key;
    if (name == "_key") {
      std::string_view k;
      if (field.value.get_string().get(k) != simdjson::SUCCESS) {
        return make_error("_key is not a string");
      }
      d.key = std::string(k);
      has_key = true;
    } else if (name == "open_time" || name == "timestamp" || name == "created_at") {
      double v;
      if (field.value.get_double().get(v) != simdjson::SUCCESS) continue;  // not a number
      (name == "open_time" ? open_time : name == "timestamp" ? timestamp : created_at) = to_ms(v);
    }
  }
  if (!has_key) d.key = std::string(fallback_key);
  if (!valid_key(d.key)) {
    return make_error(
        "invalid _key '" + d.key.substr(0, 80) +
        "': expected 1-254 characters of A-Z a-z 0-9 _ - : . @ ( ) + , = ; $ ! * ' %");
  }
  d.time_ms = open_time.value_or(timestamp.value_or(created_at.value_or(0)));
  if (!has_key) {
    // Keep the document and its key together: the stored JSON always carries its _key.
    const size_t brace = json.find('{');
    const bool empty = json.find_first_not_of(" \t\r\n", brace + 1) == json.find('}', brace + 1);
    json.insert(brace + 1, "\"_key\":\"" + d.key + "\"" + (empty ? "" : ","));
  }
  d.json = std::move(json);
  return d;
}

Result<StoreSettings> store_settings_from_env(const config::EnvLookup& env) {
  StoreSettings s;
  if (auto url = env("ARANGO_URL")) {
    s.arango = true;
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      return make_error("config error: ARANGO_URL='" + *url +
                        "' is invalid: expected http://host:port or https://host:port");
    }
    s.arango_options.url = *url;
    s.arango_options.database = env("ARANGO_DB").value_or("_system");
    s.arango_options.user = env("ARANGO_USER").value_or("root");
    s.arango_options.password = env("ARANGO_PASSWORD").value_or("");
    s.arango_options.ca_file = env("CA_PATH").value_or("");
    if (!valid_collection_name(s.arango_options.database) &&
        s.arango_options.database != "_system") {
      return make_error("config error: ARANGO_DB='" + s.arango_options.database +
                        "' is invalid: expected a database name of letters, digits, '_' or '-'");
    }
  } else {
    s.sqlite.path = env("STREAMFORGE_DB").value_or("streamforge.db");
  }
  return s;
}

Result<std::unique_ptr<Store>> open_store(const StoreSettings& settings) {
  return settings.arango ? open_arango(settings.arango_options) : open_sqlite(settings.sqlite);
}

std::unique_ptr<Store> open_store_or_exit(const config::EnvLookup& env, int sqlite_cache_kib,
                                          int background_checkpoint_kib) {
  auto settings = store_settings_from_env(env);
  if (!settings) config::exit_with_config_error({"ARANGO_URL", settings.error().message});
  if (settings->arango) log::add_secret(settings->arango_options.password);
  if (sqlite_cache_kib > 0) settings->sqlite.cache_kib = sqlite_cache_kib;
  if (background_checkpoint_kib > 0) {
    settings->sqlite.wal_autocheckpoint_kib = background_checkpoint_kib;
    settings->sqlite.background_checkpoint = true;
  }
  auto store = open_store(*settings);
  if (!store) {
    config::exit_with_config_error({settings->arango ? "ARANGO_URL" : "STREAMFORGE_DB",
                                    "config error: " + store.error().message});
  }
  return std::move(store).value();
}

}  // namespace sf::store
