// streamforge-store: read what the connectors wrote (SQLite by default, ArangoDB with ARANGO_URL).
//   streamforge-store [--db FILE] count COLLECTION
//   streamforge-store [--db FILE] get COLLECTION KEY
//   streamforge-store [--db FILE] range COLLECTION FROM_MS TO_MS [--limit N]
#include <CLI/CLI.hpp>
#include <cstdio>

#include "sf/config/env.h"
#include "sf/store/store.h"

int main(int argc, char** argv) {
  CLI::App app{"streamforge-store: read collections of the StreamForge store"};
  app.require_subcommand(1);
  std::string db, collection, key;
  int64_t from = 0, to = 0, limit = 100;
  app.add_option("--db", db, "SQLite file (default STREAMFORGE_DB, or ARANGO_URL's ArangoDB)");
  auto* count = app.add_subcommand("count", "documents in a collection");
  count->add_option("collection", collection)->required();
  auto* get = app.add_subcommand("get", "one document by _key");
  get->add_option("collection", collection)->required();
  get->add_option("key", key)->required();
  auto* range = app.add_subcommand("range", "documents by time (epoch ms, inclusive)");
  range->add_option("collection", collection)->required();
  range->add_option("from", from)->required();
  range->add_option("to", to)->required();
  range->add_option("--limit", limit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  auto settings = sf::store::store_settings_from_env(sf::config::process_env());
  if (!settings) {
    std::fprintf(stderr, "%s\n", settings.error().message.c_str());
    return 2;
  }
  if (!db.empty()) {
    settings->arango = false;
    settings->sqlite.path = db;
  }
  auto store = sf::store::open_store(*settings);
  if (!store) {
    std::fprintf(stderr, "streamforge-store: %s\n", store.error().message.c_str());
    return 2;
  }
  if (count->parsed()) {
    auto n = (*store)->count(collection);
    if (!n) {
      std::fprintf(stderr, "streamforge-store: %s\n", n.error().message.c_str());
      return 1;
    }
    std::printf("%lld\n", static_cast<long long>(*n));
    return 0;
  }
  if (get->parsed()) {
    auto d = (*store)->get(collection, key);
    if (!d) {
      std::fprintf(stderr, "streamforge-store: %s\n", d.error().message.c_str());
      return 1;
    }
    if (!*d) {
      std::fprintf(stderr, "streamforge-store: no document %s in %s\n", key.c_str(),
                   collection.c_str());
      return 4;
    }
    std::printf("%s\n", (*d)->c_str());
    return 0;
  }
  auto docs = (*store)->range_by_time(collection, from, to, limit);
  if (!docs) {
    std::fprintf(stderr, "streamforge-store: %s\n", docs.error().message.c_str());
    return 1;
  }
  for (const auto& d : *docs) std::printf("%s\n", d.c_str());
  return 0;
}
