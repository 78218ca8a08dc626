#include "sf/graph/program.h"
#include "sf/log/log.h"
#include "writer.h"

namespace sf::graph {

int graph_builder_main() {
  auto env = config::process_env();
  log::init(log::options_from_env("graph-builder", env));
  auto loaded = config::load_analytics_config(env, {"gnn_graph", "realtime_graph"});
  if (auto* e = std::get_if<config::ConfigError>(&loaded)) config::exit_with_config_error(*e);
  const auto& cfg = std::get<config::WorkerConfig>(loaded);
  auto opts = builder_options_from_env(env, cfg);
  if (auto* e = std::get_if<config::ConfigError>(&opts)) config::exit_with_config_error(*e);
  const auto& options = std::get<BuilderOptions>(opts);
  // Reads are sequential pages and writes append: a small page cache serves them as well as a
  // large one, and keeps the builder's memory flat whatever the input size.
  auto store = store::open_store_or_exit(env, 8'192);
  if (cfg.type == "realtime_graph") {
    return worker::run_worker(
        cfg, [&](worker::WorkerContext& ctx) { return run_realtime_graph(ctx, *store, options); });
  }
  // Historical: the inputs are read once before the worker starts, so that an interval that
  // disagrees with the candles is a config error (exit 2). A store that cannot be read, or an
  // empty input, becomes the job's `error` below.
  auto inputs = with_retry(options.store_retry_budget, log::get(),
                           [&] { return probe_inputs(*store, options.inputs); });
  std::optional<records::Interval> interval;
  if (inputs) {
    auto iv = graph_interval(*inputs, cfg.interval);
    bool any_empty = false;
    for (const auto& in : *inputs) any_empty |= in.count == 0;
    if (!iv && !any_empty)
      config::exit_with_config_error({"COLLECTION_INPUTS", iv.error().message});
    if (iv) interval = *iv;
  }
  return worker::run_worker(cfg, [&](worker::WorkerContext& ctx) -> Status {
    if (!inputs) return inputs.error();
    if (!interval) {
      for (const auto& in : *inputs) {
        if (in.count == 0) {
          return make_error("input collection " + in.collection +
                            " is missing or empty: run its loader and connector first "
                            "(COLLECTION_INPUTS)");
        }
      }
      return make_error("no interval");
    }
    return run_gnn_graph(ctx, *store, options, *inputs, *interval);
  });
}

}  // namespace sf::graph
