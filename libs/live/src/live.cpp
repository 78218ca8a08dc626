#include "sf/live/live.h"

#include <algorithm>
#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <thread>

#include "connection.h"
#include "sf/core/backoff.h"
#include "sf/kafka/client.h"
#include "sf/log/log.h"
#include "sf/records/writer.h"

namespace sf::live {

namespace {

Result<int64_t> ms_var(const config::EnvLookup& env, const char* name, int64_t fallback,
                       int64_t lo) {
  auto v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0' || n < lo) {
    return make_error(
        std::string("config error: ") + name + "='" + *v +
        "' is invalid: expected a whole number of milliseconds >= " + std::to_string(lo));
  }
  return static_cast<int64_t>(n);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Which data records the broker did not take. Each delivery report names its record (its id is
// read back from the value: reports do not always come in send order, e.g. purged records are
// reported before those already on their way). Seen as it happens, not at stop. Once one fails,
// nothing more is sent and what waits in the local queue is failed at once (purged), so nothing
// newer lands after the gap; records already on their way to the broker may still land, which
// recovery finds (see wait_out_outage).
class DeliveryTracker {
 public:
  // `field`: the record's id in its JSON ("trade_id", "open_time").
  DeliveryTracker(kafka::Producer& p, const std::string& field)
      : producer_(p), key_("\"" + field + "\":"), candles_(field == "open_time") {
    listener_ = p.on_delivery([this](std::span<const kafka::DeliveryReport> r) { report(r); });
  }
  ~DeliveryTracker() { producer_.remove_on_delivery(listener_); }
  DeliveryTracker(const DeliveryTracker&) = delete;
  DeliveryTracker& operator=(const DeliveryTracker&) = delete;

  // Called just before records are handed to the producer, in this order, under one lock (a
  // report may come back before send() returns): false, and nothing noted, when records are
  // already lost (nothing more goes out until they are published again). unsend_run(ids, i)
  // undoes it for those from i on, which send() refused or which were not sent.
  bool sent_run(std::span<const int64_t> ids) {
    std::lock_guard lock(mu_);
    if (lost_) return false;
    if (pending_n_ == 0 && !ids.empty()) ++activity_;  // a wait for reports starts now
    run_max_before_ = max_sent_;
    for (const int64_t id : ids) {
      ++pending_[id];
      ++pending_n_;
      if (id >= 0 && (!max_sent_ || id > *max_sent_)) max_sent_ = id;
    }
    return true;
  }
  void unsend_run(std::span<const int64_t> ids, size_t from) {
    std::lock_guard lock(mu_);
    for (size_t i = from; i < ids.size(); ++i) take_pending(ids[i]);
    max_sent_ = run_max_before_;
    for (size_t i = 0; i < from; ++i) {
      if (ids[i] >= 0 && (!max_sent_ || ids[i] > *max_sent_)) max_sent_ = ids[i];
    }
  }
  // Records wait and no report came for `quiet`: the broker is away (before librdkafka gives
  // up on them, which may take its whole message.timeout.ms), or records were lost.
  bool outage(std::chrono::milliseconds quiet = std::chrono::milliseconds(2000)) const {
    std::lock_guard lock(mu_);
    if (lost_) return true;
    return stalled(quiet);
  }
  // Records have waited kStall without a single report: the broker is not taking them. Rather
  // than wait out message.timeout.ms (5 minutes by default), after which librdkafka fails the
  // oldest while newer ones may still land once the broker is back (a gap), the queue is purged
  // now: every record in it fails at once, certainly unwritten, and is published again later.
  void give_up_if_stalled() {
    bool purge = false;
    {
      std::lock_guard lock(mu_);
      purge = stalled(kStall) && std::chrono::steady_clock::now() - last_purge_ > kStall;
      if (purge) last_purge_ = std::chrono::steady_clock::now();
    }
    if (purge) {
      log::get().warn("Kafka has not acknowledged a record for {} s: failing the queued ones now",
                      kStall.count() / 1000);
      producer_.purge_queued();
    }
  }
  // While lost records wait for their reports: anything still queued goes at once.
  void purge_queued() { producer_.purge_queued(); }
  // A record the producer would not queue (its queue stayed full): lost from here on.
  void refused(int64_t id, const std::string& why) {
    std::lock_guard lock(mu_);
    if (id >= 0 && !lost_) {
      lost_ = id;
      any_lost_.store(true, std::memory_order_release);
      why_ = why;
      mark_scan_start();
    }
  }
  std::optional<int64_t> first_lost() const {
    // Asked for every record: no lock while nothing is lost.
    if (!any_lost_.load(std::memory_order_acquire)) return std::nullopt;
    std::lock_guard lock(mu_);
    return lost_;
  }
  size_t pending() const {
    std::lock_guard lock(mu_);
    return pending_n_;
  }
  // Once every report is back: the first id lost, the ids that failed (ascending) and whether
  // some may be written all the same, the largest id ever sent and delivered, where in the topic
  // to look for records that landed after the first failure, why. Reset for the next round.
  struct Loss {
    int64_t from = 0;
    std::vector<int64_t> failed_ids;
    int64_t failed_reports = 0;  // every data report that failed (open candles' updates too)
    bool possibly_written = false;
    std::optional<int64_t> max_sent, max_delivered;
    std::optional<kafka::PartitionOffset> scan_from;
    std::string why;
  };
  Loss take() {
    std::lock_guard lock(mu_);
    Loss l;
    l.from = lost_.value_or(0);
    l.failed_ids = std::move(failed_ids_);
    std::sort(l.failed_ids.begin(), l.failed_ids.end());
    l.failed_reports = failed_;
    l.possibly_written = possibly_written_;
    l.max_sent = max_sent_;
    l.max_delivered = max_delivered_;
    l.scan_from = scan_from_;
    l.why = why_;
    lost_.reset();
    any_lost_.store(false, std::memory_order_release);
    failed_ids_.clear();
    failed_ = 0;
    possibly_written_ = false;
    why_.clear();
    scan_from_.reset();
    return l;
  }

 private:
  static constexpr std::chrono::milliseconds kStall{5000};

  // Reports only count (no clock reading for each of them); the checks, every 100 ms or so, note
  // when the count last moved: a stall is seen at most one check late.
  bool stalled(std::chrono::milliseconds quiet) const {
    const auto now = std::chrono::steady_clock::now();
    if (activity_ != seen_activity_) {
      seen_activity_ = activity_;
      last_activity_ = now;
    }
    return pending_n_ > 0 && now - last_activity_ > quiet;
  }
  // Records that land after the first failure sit after the last record delivered before it; a
  // non-idempotent producer's retries can reorder records within its queue (at most
  // queue.buffering.max.messages of them), so the search starts that far back.
  void mark_scan_start() {
    if (scan_from_) return;
    if (last_ok_) {
      scan_from_ = kafka::PartitionOffset{
          last_ok_->partition, std::max(first_ok_offset_, last_ok_->offset - kReorderWindow)};
    } else {
      scan_from_ = kafka::PartitionOffset{-1, 0};  // nothing delivered yet: every partition
    }
  }
  static constexpr int64_t kReorderWindow = 100'000;

  // One record of `id` reported (or not sent after all); false when none was pending.
  bool take_pending(int64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    if (--it->second == 0) pending_.erase(it);
    --pending_n_;
    return true;
  }
  // A batch of reports (one produce request's, or a purge's), under one lock.
  void report(std::span<const kafka::DeliveryReport> reports) {
    bool purge = false;
    {
      std::lock_guard lock(mu_);
      for (const auto& r : reports) {
        if (r.tag < 0) continue;  // telemetry
        ++activity_;
        purge = note(r) || purge;
      }
    }
    if (purge) producer_.purge_queued();  // nothing newer lands after the gap
  }
  // True when this report is the first loss (the queue is purged then).
  bool note(const kafka::DeliveryReport& r) {
    const int64_t id = id_of(r.value);
    if (!take_pending(id)) return false;  // not a record this tracker sent
    if (r.ok) {
      if (!last_ok_) first_ok_offset_ = r.offset;
      last_ok_ = kafka::PartitionOffset{r.partition, r.offset};
      if (id >= 0 && (!max_delivered_ || id > *max_delivered_)) max_delivered_ = id;
      return false;
    }
    ++failed_;
    if (id < 0) return false;  // an open candle's update, superseded by its close
    failed_ids_.push_back(id);
    if (r.possibly_persisted) possibly_written_ = true;
    bool first = false;
    if (!lost_ || id < *lost_) {
      first = !lost_;
      mark_scan_start();
      lost_ = id;
      any_lost_.store(true, std::memory_order_release);
      why_ = r.error;
    }
    return first;
  }

  // The id in a record's JSON; -1 for an open candle's update (it says "closed":false).
  int64_t id_of(std::string_view value) const {
    if (candles_ && value.find("\"closed\":false") != std::string_view::npos) return -1;
    // Our records open with their id ({"trade_id":..., {"open_time":...): no search then.
    const size_t at = !value.empty() && value.substr(1, key_.size()) == key_ ? 1 : value.find(key_);
    if (at == std::string_view::npos) return INT64_MIN;
    int64_t v = 0;
    const char* p = value.data() + at + key_.size();
    const char* end = value.data() + value.size();
    if (std::from_chars(p, end, v).ec != std::errc()) return INT64_MIN;
    return v;
  }

  kafka::Producer& producer_;
  const std::string key_;
  const bool candles_;  // only candles have open updates ("closed":false) to tell apart
  uint64_t listener_ = 0;
  mutable std::mutex mu_;
  // Records sent and not reported yet: how many of each id (an open candle's updates share -1),
  // in a flat table (no allocation per record).
  boost::unordered_flat_map<int64_t, uint32_t> pending_;
  size_t pending_n_ = 0;
  std::optional<int64_t> lost_, max_sent_, run_max_before_, max_delivered_;
  std::atomic<bool> any_lost_{false};  // lost_ has a value
  std::vector<int64_t> failed_ids_;
  int64_t failed_ = 0;
  bool possibly_written_ = false;
  std::optional<kafka::PartitionOffset> last_ok_, scan_from_;
  int64_t first_ok_offset_ = 0;
  std::string why_;
  uint64_t activity_ = 0;  // reports, and waits for them begun
  mutable uint64_t seen_activity_ = 0;
  mutable std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_purge_{};
};

// send() refused ids[i] of a run noted with sent_run(): the rest are undone with the tracker; a
// queue that stayed full (retryable) is a loss from there on, anything else the Error returned.
Status refused_at(DeliveryTracker& tracker, std::span<const int64_t> ids, size_t i,
                  const Error& why) {
  tracker.unsend_run(ids, i);
  if (!why.retryable) return why;
  tracker.refused(ids[i], why.message);
  return ok_status();
}

// Publishes one record (tag = its timestamp, for last_loaded_timestamp) unless records are
// already lost: then nothing more goes out until recovery has published them again. A queue
// that stays full for a second pauses the stream (this call blocks) and then counts as a loss.
// True when the record was handed to the producer.
Result<bool> send_json(worker::WorkerContext& ctx, DeliveryTracker& tracker, int64_t id, int64_t ts,
                       std::string_view json) {
  const int64_t ids[] = {id};
  if (!tracker.sent_run(ids)) return false;
  auto st = ctx.producer.send(ctx.config.kafka_topic, ctx.config.symbol, json, ts,
                              std::chrono::milliseconds(1000));
  if (st) return true;
  if (auto undone = refused_at(tracker, ids, 0, st.error()); !undone) return undone.error();
  return false;
}

template <class Record>
Result<bool> publish(worker::WorkerContext& ctx, DeliveryTracker& tracker, const Record& r,
                     int64_t id, int64_t ts, std::string& buf) {
  buf.clear();
  records::append_json(r, buf);
  return send_json(ctx, tracker, id, ts, buf);
}

// Stream records that arrived together, handed to the producer together: while further frames
// are already buffered, records wait here (at most kMax), and go out in one call into the
// producer (Producer::send_run) when none is. With linger.ms 0, librdkafka's broker thread wakes
// for the first record and then finds the rest queued: one request for the run instead of one for
// every record or two. A record that arrives alone (the paced case) goes out at once, as before.
class Outbox {
 public:
  static constexpr size_t kMax = 512;

  template <class Record>
  void add(const Record& r, int64_t id, int64_t ts) {
    ids_.push_back(id);
    run_.add(ts, [&](std::string& out) { records::append_json(r, out); });
  }
  bool full() const { return ids_.size() >= kMax; }
  // After a loss: these were never handed to the producer, and recovery fetches everything after
  // the last record sent from REST again.
  void clear() {
    ids_.clear();
    run_.clear();
  }
  // Sends them in order, noted with the tracker all at once, in one call into the producer;
  // after a loss nothing is sent (recovery publishes them again, as it does every record that
  // came after the first one lost).
  Status flush(worker::WorkerContext& ctx, DeliveryTracker& tracker) {
    if (ids_.empty()) return ok_status();
    if (!tracker.sent_run(ids_)) {
      clear();
      return ok_status();
    }
    size_t sent = 0;
    const Status st = run_.send(ctx.producer, ctx.config.kafka_topic, ctx.config.symbol, sent,
                                std::chrono::milliseconds(1000));
    const Status result = st ? ok_status() : refused_at(tracker, ids_, sent, st.error());
    // A loss reported while the run went in: what of it is still queued fails now (the tracker
    // purged the queue at the first loss; this run may have come in after that) and is published
    // again in order, rather than landing after the gap.
    if (tracker.first_lost()) tracker.purge_queued();
    clear();
    return result;
  }

 private:
  std::vector<int64_t> ids_;
  kafka::RecordRun run_;
};

// What the topic holds: the `field` values of its records from `from` on (every partition from
// its start when from->partition < 0), read up to the ends the partitions have now. An Error when
// the broker does not answer within `timeout` (the caller waits and asks again).
Result<std::vector<int64_t>> ids_in_topic(worker::WorkerContext& ctx, const std::string& field,
                                          const kafka::PartitionOffset& from,
                                          std::chrono::milliseconds timeout) {
  kafka::ConsumerOptions co;
  co.settings = ctx.config.kafka;
  co.client_id = ctx.config.producer_id + "-tail";
  auto c = kafka::Consumer::create(co);
  if (!c) return c.error();
  auto n = (*c)->partition_count(ctx.config.kafka_topic, timeout);
  if (!n) return n.error();
  auto marks = (*c)->all_watermarks(ctx.config.kafka_topic, *n, timeout);
  if (!marks) return marks.error();
  std::vector<int64_t> ids;
  const std::string key = "\"" + field + "\":";
  for (int32_t p = 0; p < *n; ++p) {
    if (from.partition >= 0 && p != from.partition) continue;
    const auto& m = (*marks)[static_cast<size_t>(p)];
    const int64_t start = std::max(m.low, from.partition >= 0 ? from.offset : m.low);
    if (start >= m.high) continue;
    if (auto st = (*c)->assign(ctx.config.kafka_topic, {{p, start}}); !st) return st.error();
    auto quiet_since = std::chrono::steady_clock::now();
    for (int64_t next = start; next < m.high;) {
      auto msg = (*c)->poll(std::chrono::milliseconds(100));
      if (!msg) return msg.error();
      if (!*msg) {
        if (std::chrono::steady_clock::now() - quiet_since > timeout) {
          return make_error("reading " + ctx.config.kafka_topic + " timed out", true);
        }
        continue;
      }
      quiet_since = std::chrono::steady_clock::now();
      next = (*msg)->offset + 1;
      const size_t at = (*msg)->value.find(key);
      if (at != std::string::npos) {
        ids.push_back(std::atoll((*msg)->value.c_str() + at + key.size()));
      }
    }
  }
  return ids;
}

// Everything a loader owes the topic after losses, across rounds (a refill can fail again).
struct Recovery {
  std::set<int64_t> owed;          // sent, failed, not in the topic: published again, ascending
  std::set<int64_t> present;       // ids >= the first loss that the topic holds (never sent twice)
  int64_t top = INT64_MIN;         // the largest id the topic holds
  int64_t out_of_order = 0;        // owed records published after a larger one had landed
  int64_t failed_but_written = 0;  // reported failed, found in the topic (counted as written)
  int64_t possibly_twice = 0;      // published again unverified: the topic could not be read
  std::set<int64_t> counted_out_of_order;  // (a record that fails again is not counted twice)
  std::optional<int64_t> resume;  // nothing from here on was sent: the normal path goes on here
};

// Waits for the broker after a loss: every report back, then the data partitions' leader
// answering (a metadata answer alone can come from another broker). Folds the loss into `rec`
// (reading the topic when some failed records may have been written all the same) and says so in
// telemetry while it lasts. False when stopped.
bool wait_out_outage(worker::WorkerContext& ctx, DeliveryTracker& tracker, const char* what,
                     const std::string& field, int64_t& outages, Recovery& rec) {
  auto& lg = log::get();
  ++outages;
  ctx.set_metric("kafka_outage", 1);
  ctx.set_metric("kafka_outages", static_cast<double>(outages));
  for (int polls = 0; tracker.pending() > 0; ++polls) {
    if (ctx.stop.stop_requested()) return false;
    if (polls % 20 == 0) tracker.purge_queued();  // records retried back into the queue
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto loss = tracker.take();
  ctx.producer.acknowledge_failures(loss.failed_reports);
  lg.warn(
      "Kafka did not take the records from {} {} on ({} deliveries failed: {}); they are "
      "published again from REST once the broker answers",
      what, loss.from, loss.failed_reports, loss.why);
  ctx.set_metric("undelivered_since", static_cast<double>(loss.from));
  for (int attempt = 0;; ++attempt) {
    if (ctx.stop.stop_requested()) return false;
    std::this_thread::sleep_for(
        backoff_delay(std::chrono::milliseconds(250), std::chrono::milliseconds(5000), attempt));
    if (!ctx.producer.prepare(ctx.config.kafka_topic, std::chrono::milliseconds(2000))) continue;
    // Reading the topic needs its leader: the broker that lost the records is back.
    const auto from = loss.possibly_written && loss.scan_from
                          ? *loss.scan_from
                          : kafka::PartitionOffset{0, INT64_MAX};  // only probe the ends
    auto ids = ids_in_topic(ctx, field, from, std::chrono::milliseconds(3000));
    if (!ids && kafka::not_authorized(ids.error())) {
      // This loader may write the topic but not read it: which of the failed records were
      // written all the same cannot be known, so every one goes again. Nothing is lost; some
      // may be in the topic twice (the connector's upsert by _key stores each once).
      rec.possibly_twice += static_cast<int64_t>(loss.failed_ids.size());
      ctx.set_metric("possibly_published_twice", static_cast<double>(rec.possibly_twice));
      lg.warn(
          "cannot read {} to see which of the {} failed records were written all the same ({}): "
          "publishing them all again, so some may be there twice. Hint: grant this loader's "
          "Kafka user Read on the topic for an exact recovery",
          ctx.config.kafka_topic, loss.failed_ids.size(), ids.error().message);
      break;
    }
    if (!ids) {
      if (attempt % 8 == 7) lg.warn("Kafka does not answer yet: {}", ids.error().message);
      continue;
    }
    for (const int64_t id : *ids) {
      rec.top = std::max(rec.top, id);
      if (id >= loss.from) rec.present.insert(id);
    }
    break;
  }
  if (loss.max_delivered) rec.top = std::max(rec.top, *loss.max_delivered);
  int64_t landed = 0;  // reported failed, in the topic all the same
  for (const int64_t id : loss.failed_ids) {
    if (rec.present.count(id)) {
      ++landed;
      continue;
    }
    rec.owed.insert(id);
    if (rec.counted_out_of_order.erase(id)) --rec.out_of_order;  // counted when it lands
  }
  if (landed > 0) {
    ctx.producer.found_written(landed);
    rec.failed_but_written += landed;
    ctx.set_metric("failed_but_written", static_cast<double>(rec.failed_but_written));
    lg.info("{} records reported failed were written all the same (found in the topic)", landed);
  }
  if (loss.max_sent && (!rec.resume || *loss.max_sent >= *rec.resume)) {
    rec.resume = *loss.max_sent;  // the caller goes on after it
  } else if (!rec.resume) {
    rec.resume = loss.from - 1;  // nothing sent at all: from the first refused record
  }
  rec.present.erase(rec.present.begin(), rec.present.upper_bound(*rec.resume));
  lg.info("Kafka answers again: {} records to publish again, going on after {} {}", rec.owed.size(),
          what, *rec.resume);
  return true;
}

// The stream's figures go to telemetry at most every 100 ms while records flow (a metric costs a
// lock and a map look-up; at full speed that was a fifth of the loader's per-record work).
class ReportPace {
 public:
  // `now`: the last frame's arrival (the connection read the clock for it already).
  bool due(std::chrono::steady_clock::time_point now) {
    if (now - last_ < std::chrono::milliseconds(100)) return false;
    last_ = now;
    return true;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
};

void report(worker::WorkerContext& ctx, const StreamStats& s, int64_t backfilled, int64_t dropped,
            DeliveryTracker& tracker) {
  tracker.give_up_if_stalled();
  ctx.set_metric("kafka_outage", tracker.outage() ? 1 : 0);
  ctx.set_metric("reconnects", static_cast<double>(s.reconnects));
  ctx.set_metric("rotations", static_cast<double>(s.rotations));
  ctx.set_metric("garbage_frames", static_cast<double>(s.garbage));
  ctx.set_metric("backfilled", static_cast<double>(backfilled));
  ctx.set_metric("duplicates_dropped", static_cast<double>(dropped));
}

}  // namespace

Result<LiveOptions> live_options_from_env(const config::EnvLookup& env) {
  LiveOptions o;
  auto silence = ms_var(env, "WS_SILENCE_TIMEOUT_MS", o.silence_timeout.count(), 100);
  if (!silence) return silence.error();
  auto age = ms_var(env, "WS_MAX_CONNECTION_AGE_MS", o.max_connection_age.count(), 1000);
  if (!age) return age.error();
  o.silence_timeout = milliseconds(*silence);
  o.max_connection_age = milliseconds(*age);
  if (auto v = env("WS_LIVE_UPDATES")) {
    if (*v == "true" || *v == "1") {
      o.live_updates = true;
    } else if (*v != "false" && *v != "0") {
      return make_error("config error: WS_LIVE_UPDATES='" + *v +
                        "' is invalid: expected true or false");
    }
  }
  return o;
}

std::string stream_url(const std::string& ws_url, const std::string& stream) {
  std::string base = ws_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() >= 7 && base.compare(base.size() - 7, 7, "/stream") == 0) {
    return base + "?streams=" + stream;
  }
  return base + "/" + stream;
}

namespace {

// "Has the range ended by the exchange's clock?", asked of /api/v3/time at most every 2 s.
class RangeClock {
 public:
  RangeClock(binance::RestClient& rest, int64_t end_ms) : rest_(rest), end_ms_(end_ms) {}
  bool passed() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return false;
    next_check_ = now + std::chrono::seconds(2);
    auto t = rest_.server_time();
    if (!t) {
      log::get().warn("cannot read the exchange's clock: {}", t.error().message);
      return false;
    }
    return *t > end_ms_;
  }

 private:
  binance::RestClient& rest_;
  int64_t end_ms_;
  std::chrono::steady_clock::time_point next_check_{};
};

// Every data record sent has its delivery report. librdkafka gives up on records at
// message.timeout.ms, and while their broker is unreachable it reports them only once it reaches
// it again; the loader waits for that rather than guess (a record given up on too early may still
// be written, and then be published twice).
void await_reports(worker::WorkerContext& ctx, DeliveryTracker& tracker) {
  while (tracker.pending() > 0 && !ctx.stop.stop_requested()) {
    tracker.give_up_if_stalled();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// At the end: every report back, and whatever they say was lost published again.
template <class Recover>
Status finish_recovery(worker::WorkerContext& ctx, DeliveryTracker& tracker, Recover& recover) {
  for (;;) {
    await_reports(ctx, tracker);
    if (!tracker.first_lost() || ctx.stop.stop_requested()) return ok_status();
    if (auto st = recover(); !st) return st;
  }
}

// Publishes again, ascending, the records `rec` owes whose ids `page(from)` serves (REST pages
// starting at `from`, each record with its id and timestamp). Stops early at a new loss.
template <class Page, class IdOf>
Status republish_owed(worker::WorkerContext& ctx, DeliveryTracker& tracker, Recovery& rec,
                      std::string& buf, int64_t& backfilled, Page page, IdOf id_of) {
  while (!rec.owed.empty() && !tracker.first_lost() && !ctx.stop.stop_requested()) {
    const int64_t from = *rec.owed.begin();
    auto records = page(from);
    if (!records) return records.error();
    bool progressed = false;
    for (const auto& r : *records) {
      const auto [id, ts] = id_of(r);
      if (!rec.owed.count(id)) continue;
      auto sent = publish(ctx, tracker, r, id, ts, buf);
      if (!sent) return sent.error();
      if (!*sent) return ok_status();  // a new loss: the next round
      if (rec.top > id && rec.counted_out_of_order.insert(id).second) ++rec.out_of_order;
      rec.owed.erase(id);
      ++backfilled;
      progressed = true;
    }
    if (!progressed) {
      return make_error("REST no longer serves the record " + std::to_string(from));
    }
  }
  ctx.set_metric("republished_out_of_order", static_cast<double>(rec.out_of_order));
  return ok_status();
}

}  // namespace

Status run_live_trades(worker::WorkerContext& ctx, binance::RestClient& rest,
                       const LiveOptions& o) {
  const auto& cfg = ctx.config;
  const auto range = cfg.time_range;
  int64_t next_id = -1, backfilled = 0, dropped = 0, outages = 0;
  bool done = false;
  std::string buf;
  DeliveryTracker tracker(ctx.producer, "trade_id");
  Outbox outbox;  // the stream's records while more frames wait; REST's go out one by one

  Recovery rec;

  auto accept = [&](const records::Trade& t, bool batch = false) -> Status {
    if (t.trade_id < next_id || rec.present.count(t.trade_id)) {
      ++dropped;  // already published (reconnect or rotation overlap, or before a loss)
      return ok_status();
    }
    next_id = t.trade_id + 1;
    if (range && t.timestamp > range->end_ms) {
      done = true;
      return ok_status();
    }
    if (range && t.timestamp < range->start_ms) return ok_status();
    if (batch) {
      outbox.add(t, t.trade_id, t.timestamp);
      return ok_status();
    }
    auto sent = publish(ctx, tracker, t, t.trade_id, t.timestamp, buf);
    if (!sent) return sent.error();
    return ok_status();
  };
  // REST fills [next_id, until) (until < 0: as far as REST has trades). False: REST had nothing.
  // A loss seen meanwhile ends it early (the caller recovers).
  auto fill = [&](int64_t until) -> Result<bool> {
    if (auto st = outbox.flush(ctx, tracker); !st) return st.error();  // the stream's come first
    while (!done && !ctx.stop.stop_requested() && (until < 0 || next_id < until)) {
      if (tracker.first_lost()) return true;
      auto page = rest.historical_trades(cfg.symbol, next_id, 1000);
      if (!page) return page.error();
      if (page->empty()) return false;
      for (const auto& t : *page) {
        if (until >= 0 && t.trade_id >= until) break;
        if (t.trade_id > next_id) {
          return make_error("REST skipped trade ids " + std::to_string(next_id) + ".." +
                            std::to_string(t.trade_id - 1) + "; refusing to leave a gap");
        }
        const int64_t before = next_id;
        if (auto st = accept(t); !st) return st.error();
        if (next_id > before) ++backfilled;
        if (done) break;
      }
      if (until < 0 && page->size() < 1000) return true;  // caught up with the most recent
    }
    return true;
  };
  // After a loss: once the broker answers, the trades lost again from REST, then on from the
  // last one sent.
  auto recover = [&]() -> Status {
    for (;;) {
      if (!tracker.first_lost() || ctx.stop.stop_requested()) return ok_status();
      if (!wait_out_outage(ctx, tracker, "trade id", "trade_id", outages, rec)) {
        return ok_status();
      }
      const int64_t from = rec.owed.empty() ? *rec.resume + 1 : *rec.owed.begin();
      auto st = republish_owed(
          ctx, tracker, rec, buf, backfilled,
          [&](int64_t id) { return rest.historical_trades(cfg.symbol, id, 1000); },
          [](const records::Trade& t) {
            return std::pair{t.trade_id, t.timestamp};
          });
      Result<bool> r = true;
      if (st && !tracker.first_lost()) {
        next_id = *rec.resume + 1;
        done = false;
        r = fill(-1);
      }
      if (!st || !r) {
        return make_error("trades from id " + std::to_string(from) +
                          " did not reach Kafka and REST cannot serve them again: " +
                          (!st ? st.error().message : r.error().message));
      }
      if (tracker.first_lost()) continue;
      ctx.set_metric("kafka_outage", 0);
      ctx.set_metric("backfilled", static_cast<double>(backfilled));
    }
  };

  if (range && range->start_ms < ctx.clock.now_ms()) {
    auto first = rest.agg_trades_from(cfg.symbol, range->start_ms, 1);
    if (!first) return first.error();
    if (!first->empty()) {
      next_id = first->front().first_trade_id;
      log::get().info("catching up from trade id {} through REST", next_id);
      if (auto r = fill(-1); !r) return r.error();
      log::get().info("caught up: {} trades from REST", backfilled);
    }
  }
  StreamConnection conn(stream_url(cfg.binance_ws_url, lower(cfg.symbol) + "@trade"), o, ctx.clock,
                        ctx.stop);
  conn.on_reconnect([&]() -> Status {
    if (next_id < 0) return ok_status();
    auto r = fill(-1);  // everything REST has up to now; the stream's overlap is then dropped
    if (!r) return r.error();
    return ok_status();
  });
  std::optional<RangeClock> range_clock;
  if (range) range_clock.emplace(rest, range->end_ms);
  ReportPace pace;
  while (!done && !ctx.stop.stop_requested()) {
    if (tracker.first_lost()) {
      outbox.clear();
      if (auto st = recover(); !st) return st;
      continue;
    }
    if (range_clock && range_clock->passed()) {
      // The range is over by the exchange's clock: REST has every trade of it; none is to come.
      if (next_id < 0) {
        auto first = rest.agg_trades_from(cfg.symbol, range->start_ms, 1);
        if (!first) return first.error();
        if (first->empty()) break;  // not a single trade since the range start
        next_id = first->front().first_trade_id;
      }
      if (auto r = fill(-1); !r) return r.error();
      if (tracker.first_lost()) continue;
      log::get().info("the range ended by the exchange's clock and REST has caught up: done");
      done = true;
      break;
    }
    auto msg = conn.next(std::chrono::milliseconds(500));
    if (!msg) {
      if (auto st = outbox.flush(ctx, tracker); !st) return st;
      report(ctx, conn.stats(), backfilled, dropped, tracker);
      if (conn.error()) break;
      continue;
    }
    const auto* t = std::get_if<records::Trade>(&*msg);
    if (t == nullptr) continue;
    if (next_id < 0) next_id = t->trade_id;
    if (t->trade_id > next_id) {  // a gap: REST first, then this one
      if (auto r = fill(t->trade_id); !r) return r.error();
    }
    if (auto st = accept(*t, true); !st) return st;
    if (outbox.full() || done || !conn.frame_waiting()) {
      if (auto st = outbox.flush(ctx, tracker); !st) return st;
    }
    if (pace.due(conn.last_activity())) report(ctx, conn.stats(), backfilled, dropped, tracker);
  }
  if (auto st = outbox.flush(ctx, tracker); !st) return st;
  if (auto st = finish_recovery(ctx, tracker, recover); !st) return st;  // nothing left behind
  report(ctx, conn.stats(), backfilled, dropped, tracker);
  if (conn.error()) return *conn.error();
  return ok_status();
}

Status run_live_candles(worker::WorkerContext& ctx, binance::RestClient& rest,
                        const LiveOptions& o) {
  const auto& cfg = ctx.config;
  const auto range = cfg.time_range;
  const records::Interval interval = *cfg.interval;
  const std::string name(interval.name());
  int64_t next_open = -1, backfilled = 0, dropped = 0, outages = 0;
  bool done = false;
  std::string buf;
  DeliveryTracker tracker(ctx.producer, "open_time");

  Recovery rec;

  auto accept_closed = [&](const records::Candle& c) -> Status {
    if (c.open_time < next_open || rec.present.count(c.open_time)) {
      ++dropped;
      return ok_status();
    }
    next_open = interval.next_open(c.open_time);
    if (range && c.open_time > range->end_ms) {
      done = true;
      return ok_status();
    }
    if (range && c.open_time < range->start_ms) return ok_status();
    auto sent = publish(ctx, tracker, c, c.open_time, c.open_time, buf);
    if (!sent) return sent.error();
    return ok_status();
  };
  // REST fills the closed candles opening in [next_open, until].
  auto fill = [&](int64_t until) -> Status {
    while (!done && !ctx.stop.stop_requested() && next_open <= until) {
      if (tracker.first_lost()) return ok_status();
      auto page = rest.klines(cfg.symbol, name, next_open, until, 1000);
      if (!page) return page.error();
      bool progressed = false;
      for (const auto& c : *page) {
        if (!c.closed) return ok_status();  // the still-open one: the stream will close it
        const int64_t before = next_open;
        if (auto st = accept_closed(c); !st) return st;
        if (next_open > before) {
          ++backfilled;
          progressed = true;
        }
        if (done) break;
      }
      if (!progressed || page->size() < 1000) return ok_status();
    }
    return ok_status();
  };
  auto first_open = [&] {
    int64_t t = interval.open_time_of(range->start_ms);
    return t < range->start_ms ? interval.next_open(t) : t;
  };
  auto recover = [&]() -> Status {
    for (;;) {
      if (!tracker.first_lost() || ctx.stop.stop_requested()) return ok_status();
      if (!wait_out_outage(ctx, tracker, "candle open time", "open_time", outages, rec)) {
        return ok_status();
      }
      const int64_t from = rec.owed.empty() ? *rec.resume + 1 : *rec.owed.begin();
      auto st = republish_owed(
          ctx, tracker, rec, buf, backfilled,
          [&](int64_t open) {
            return rest.klines(cfg.symbol, name, open, *rec.owed.rbegin(), 1000);
          },
          [](const records::Candle& c) {
            return std::pair{c.closed ? c.open_time : int64_t{-1}, c.open_time};
          });
      if (st && !tracker.first_lost()) {
        next_open = interval.next_open(*rec.resume);
        done = false;
        const int64_t until =
            range ? std::min(range->end_ms, ctx.clock.now_ms()) : ctx.clock.now_ms();
        st = fill(until);
      }
      if (!st) {
        return make_error(
            "candles from open time " + std::to_string(from) +
            " did not reach Kafka and REST cannot serve them again: " + st.error().message);
      }
      if (tracker.first_lost()) continue;
      ctx.set_metric("kafka_outage", 0);
      ctx.set_metric("backfilled", static_cast<double>(backfilled));
    }
  };

  if (range && range->start_ms < ctx.clock.now_ms()) {
    next_open = first_open();
    if (auto st = fill(std::min(range->end_ms, ctx.clock.now_ms())); !st) return st;
    log::get().info("caught up: {} candles from REST", backfilled);
  }
  StreamConnection conn(stream_url(cfg.binance_ws_url, lower(cfg.symbol) + "@kline_" + name), o,
                        ctx.clock, ctx.stop);
  conn.on_reconnect([&]() -> Status {
    if (next_open < 0) return ok_status();
    // The closed candles missed while disconnected (the still-open one is left to the stream).
    const int64_t until = range ? std::min(range->end_ms, ctx.clock.now_ms()) : ctx.clock.now_ms();
    return fill(until);
  });
  // The range's last candle closes at the end of the period holding the range end.
  std::optional<RangeClock> range_clock;
  if (range) {
    range_clock.emplace(rest, interval.next_open(interval.open_time_of(range->end_ms)) - 1);
  }
  while (!done && !ctx.stop.stop_requested()) {
    if (tracker.first_lost()) {
      if (auto st = recover(); !st) return st;
      continue;
    }
    if (range_clock && range_clock->passed()) {
      if (next_open < 0) next_open = first_open();
      if (auto st = fill(range->end_ms); !st) return st;
      if (tracker.first_lost()) continue;
      log::get().info("the range ended by the exchange's clock and REST has caught up: done");
      done = true;
      break;
    }
    auto msg = conn.next(std::chrono::milliseconds(500));
    if (!msg) {
      report(ctx, conn.stats(), backfilled, dropped, tracker);
      if (conn.error()) break;
      continue;
    }
    const auto* c = std::get_if<records::Candle>(&*msg);
    if (c == nullptr || c->interval != name) continue;
    if (!c->closed) {
      if (o.live_updates && c->open_time >= next_open) {
        if (auto st = publish(ctx, tracker, *c, -1, c->open_time, buf); !st) return st.error();
      }
      continue;
    }
    if (next_open < 0) next_open = c->open_time;
    if (c->open_time > next_open) {  // periods were missed: REST first
      if (auto st = fill(c->open_time - 1); !st) return st;
    }
    if (auto st = accept_closed(*c); !st) return st;
    report(ctx, conn.stats(), backfilled, dropped, tracker);
  }
  if (auto st = finish_recovery(ctx, tracker, recover); !st) return st;
  report(ctx, conn.stats(), backfilled, dropped, tracker);
  if (conn.error()) return *conn.error();
  return ok_status();
}

}  // namespace sf::live
