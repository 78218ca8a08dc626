#include <atomic>
#include <cstdlib>
#include <thread>

#include "rdkafka_util.h"
#include "sf/kafka/client.h"

namespace sf::kafka {

struct Consumer::Impl {
  detail::KafkaHandle rk;
  ConsumerOptions options;  // as created (a time search makes a consumer like this one)
  bool closed = false;
  bool grouped = false;
  // The refetch kick (see poll()): the consumer queue, half of queued.min.messages, and whether
  // the queue reached it since the last kick.
  rd_kafka_queue_t* queue = nullptr;
  int64_t high_mark = 50'000;
  bool was_high = false;
  bool started = true;  // false from an assign until its first message
  std::chrono::steady_clock::time_point kicked, assigned_at;
  uint32_t polls = 0;
  std::atomic<bool> woken{false};  // wake() called; taken by the poll() it ends
  // The assignment changed: its new partitions wait for the broker thread (poll() kicks it).
  void assignment_changed() {
    started = false;
    assigned_at = std::chrono::steady_clock::now();
  }
  ~Impl() {
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
  }
};

namespace {

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

PartitionList positions_list(const std::string& topic,
                             const std::vector<PartitionOffset>& positions) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& p : positions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.partition)->offset = p.offset;
  }
  return list;
}

}  // namespace

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Consumer>> Consumer::create(const ConsumerOptions& options) {
  Properties props = {
      {"client.id", options.client_id},      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"}, {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},     {"session.timeout.ms", "6000"},
      {"socket.nagle.disable", "true"},  // TCP_NODELAY (see producer.cpp)
  };
  // librdkafka refuses assign() without a group.id; a group-less consumer gets a private one that
  // never joins (no subscribe, no commit).
  props["group.id"] =
      options.group_id.empty()
          ? options.client_id + "-assign-" + std::to_string(reinterpret_cast<uintptr_t>(&options))
          : options.group_id;
  for (const auto& [k, v] : options.properties) props[k] = v;
  for (const auto& [k, v] : connection_properties(options.settings)) props[k] = v;
  auto conf = detail::make_conf(props);
  if (!conf) return conf.error();
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return make_error(std::string("cannot create Kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk);
  auto impl = std::make_unique<Impl>();
  impl->rk.reset(rk);
  impl->options = options;
  impl->grouped = !options.group_id.empty();
  impl->queue = rd_kafka_queue_get_consumer(rk);
  if (auto it = props.find("queued.min.messages"); it != props.end()) {
    impl->high_mark = std::max<int64_t>(1, std::atoll(it->second.c_str()) / 2);
  }
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Consumer::~Consumer() {
  close();
}

void Consumer::close() {
  if (impl_->closed) return;
  impl_->closed = true;
  rd_kafka_consumer_close(impl_->rk.get());
}

Result<int32_t> Consumer::partition_count(const std::string& topic, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rd_kafka_topic_t* t = rd_kafka_topic_new(impl_->rk.get(), topic.c_str(), nullptr);
  std::string last = "no answer";
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_resp_err_t err = rd_kafka_metadata(
        impl_->rk.get(), 0, t, &md, static_cast<int>(std::max<int64_t>(left.count(), 100)));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
      const auto& tm = md->topics[0];
      const int32_t n = tm.partition_cnt;
      last = tm.err ? rd_kafka_err2str(tm.err) : "no partitions";
      rd_kafka_metadata_destroy(md);
      if (n > 0) {
        rd_kafka_topic_destroy(t);
        return n;
      }
    } else {
      last = rd_kafka_err2str(err);
      if (md) rd_kafka_metadata_destroy(md);
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  rd_kafka_topic_destroy(t);
  return make_error("Kafka topic '" + topic + "' is not available (" + last +
                        "). Hint: create it, or check KAFKA_BOOTSTRAP_SERVERS",
                    true);
}

Result<Watermarks> Consumer::watermarks(const std::string& topic, int32_t partition,
                                        milliseconds timeout) {
  Watermarks w;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(impl_->rk.get(), topic.c_str(), partition, &w.low, &w.high,
                                       static_cast<int>(timeout.count()));
  if (err) {
    return make_error("cannot read offsets of " + topic + "[" + std::to_string(partition) +
                          "]: " + rd_kafka_err2str(err),
                      true);
  }
  return w;
}

Result<std::vector<Watermarks>> Consumer::all_watermarks(const std::string& topic,
                                                         int32_t partitions, milliseconds timeout) {
  std::vector<Watermarks> out(static_cast<size_t>(partitions));
  // offsets_for_times with the logical timestamps -2 (earliest) and -1 (latest).
  for (const int64_t which : {int64_t{-2}, int64_t{-1}}) {
    PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = which;
    }
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), static_cast<int>(timeout.count()));
    if (err) {
      return make_error("cannot read the offsets of " + topic + ": " + rd_kafka_err2str(err), true);
    }
    for (int i = 0; i < list->cnt; ++i) {
      const auto& e = list->elems[i];
      if (e.err || e.partition < 0 || e.partition >= partitions) {
        return make_error("cannot read the offsets of " + topic + "[" +
                              std::to_string(e.partition) + "]: " + rd_kafka_err2str(e.err),
                          true);
      }
      auto& w = out[static_cast<size_t>(e.partition)];
      (which == -2 ? w.low : w.high) = e.offset;
    }
  }
  return out;
}

static Status assign_all(Consumer& c, const std::string& topic, milliseconds timeout,
                         bool from_end) {
  auto n = c.partition_count(topic, timeout);
  if (!n) return n.error();
  std::vector<PartitionOffset> positions;
  for (int32_t p = 0; p < *n; ++p) {
    int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
    if (from_end) {
      auto w = c.watermarks(topic, p, timeout);
      if (!w) return w.error();
      offset = w->high;
    }
    positions.push_back({p, offset});
  }
  return c.assign(topic, positions);
}

Status Consumer::assign_from_end(const std::string& topic, milliseconds timeout) {
  return assign_all(*this, topic, timeout, true);
}

Status Consumer::assign_from_beginning(const std::string& topic, milliseconds timeout) {
  return assign_all(*this, topic, timeout, false);
}

// A consumer like `c` for a time search: fetches answer at once (a long-polling fetch at a
// partition's end would hold the next step's fetch for up to fetch.wait.max.ms, 500 ms) and
// bring little (one message is read per step).
static Result<std::unique_ptr<Consumer>> searcher(const ConsumerOptions& like) {
  ConsumerOptions o = like;
  o.client_id += "-seek";
  o.group_id.clear();
  o.properties["fetch.wait.max.ms"] = "5";
  o.properties["max.partition.fetch.bytes"] = "65536";
  o.properties["queued.max.messages.kbytes"] = "256";
  o.properties.erase("queued.min.messages");
  return Consumer::create(o);
}

Result<int64_t> Consumer::offset_at_time(const std::string& topic, int32_t partition,
                                         int64_t since_ms, milliseconds timeout) {
  auto s = searcher(impl_->options);
  if (!s) return s.error();
  return (*s)->search_time(topic, partition, since_ms, std::chrono::steady_clock::now() + timeout);
}

Result<int64_t> Consumer::search_time(const std::string& topic, int32_t partition, int64_t since_ms,
                                      std::chrono::steady_clock::time_point deadline) {
  using SteadyClock = std::chrono::steady_clock;
  // At least 1 ms: librdkafka takes a negative timeout (a deadline already passed) for "forever".
  const auto timeout = std::max(
      milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()));
  auto w = watermarks(topic, partition, timeout);
  if (!w) return w.error();
  int64_t lo = w->low, hi = w->high;  // the answer is in [lo, hi]
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (auto st = assign(topic, {{partition, mid}}); !st) return st.error();
    // The first message at or after `mid` (offsets can have gaps: transaction markers,
    // compaction). Messages of an earlier step's fetch are dropped by librdkafka when the
    // assignment changes; the offset check keeps the search right if one were not.
    std::optional<Message> found;
    bool past_end = false;
    while (!found && !past_end) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) {
        return make_error("timed out looking for the messages of " + topic + "[" +
                              std::to_string(partition) + "] since " + std::to_string(since_ms),
                          true);
      }
      auto m = poll(std::min(left, milliseconds(200)));
      if (!m) return m.error();
      if (*m && (*m)->partition == partition && (*m)->offset >= mid) {
        found = std::move(*m);
      } else if (!*m) {
        // Nothing came: perhaps only gaps remain up to `hi`.
        auto now = watermarks(topic, partition, std::max(left, milliseconds(1)));
        if (now && now->high <= mid) past_end = true;
      }
    }
    if (past_end || found->offset >= hi || found->timestamp_ms >= since_ms) {
      hi = mid;
    } else {
      lo = found->offset + 1;
    }
  }
  (void)rd_kafka_assign(impl_->rk.get(), nullptr);
  return lo;
}

Status Consumer::assign_from_time(const std::string& topic, int64_t since_ms,
                                  milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto n = partition_count(topic, timeout);
  if (!n) return n.error();
  auto s = searcher(impl_->options);
  if (!s) return s.error();
  std::vector<PartitionOffset> at;
  for (int32_t p = 0; p < *n; ++p) {
    auto offset = (*s)->search_time(topic, p, since_ms, deadline);
    if (!offset) return offset.error();
    at.push_back({p, *offset});
  }
  return assign(topic, at);
}

Status Consumer::assign(const std::string& topic, const std::vector<PartitionOffset>& positions) {
  auto list = positions_list(topic, positions);
  rd_kafka_resp_err_t err = rd_kafka_assign(impl_->rk.get(), list.get());
  if (err) return make_error("cannot assign " + topic + ": " + rd_kafka_err2str(err));
  impl_->assignment_changed();
  return ok_status();
}

namespace {

Status incremental(rd_kafka_t* rk, const PartitionList& list, bool add, const std::string& topic) {
  rd_kafka_error_t* e = add ? rd_kafka_incremental_assign(rk, list.get())
                            : rd_kafka_incremental_unassign(rk, list.get());
  if (e == nullptr) return ok_status();
  const std::string why = rd_kafka_error_string(e);
  rd_kafka_error_destroy(e);
  return make_error(std::string("cannot ") +
                    (add ? "add partitions of " : "remove partitions of ") + topic +
                    (add ? " to" : " from") + " the assignment: " + why);
}

}  // namespace

Status Consumer::add_partitions(const std::string& topic,
                                const std::vector<PartitionOffset>& positions) {
  if (positions.empty()) return ok_status();
  if (auto st = incremental(impl_->rk.get(), positions_list(topic, positions), true, topic); !st) {
    return st;
  }
  impl_->assignment_changed();
  return ok_status();
}

Status Consumer::remove_partitions(const std::string& topic,
                                   const std::vector<int32_t>& partitions) {
  if (partitions.empty()) return ok_status();
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const int32_t p : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  return incremental(impl_->rk.get(), list, false, topic);
}

Result<std::vector<int64_t>> Consumer::committed(const std::string& topic, int32_t partitions,
                                                 milliseconds timeout) {
  PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  rd_kafka_resp_err_t err =
      rd_kafka_committed(impl_->rk.get(), list.get(), static_cast<int>(timeout.count()));
  if (err) {
    return make_error(
        "cannot read the committed offsets of " + topic + ": " + rd_kafka_err2str(err), true);
  }
  std::vector<int64_t> out(static_cast<size_t>(partitions), kNoOffset);
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err) {
      return make_error("cannot read the committed offset of " + topic + "[" +
                            std::to_string(e.partition) + "]: " + rd_kafka_err2str(e.err),
                        true);
    }
    if (e.partition >= 0 && e.partition < partitions)
      out[static_cast<size_t>(e.partition)] = e.offset;
  }
  return out;
}

Status Consumer::commit(const std::string& topic, const std::vector<PartitionOffset>& next) {
  if (next.empty()) return ok_status();
  auto list = positions_list(topic, next);
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), list.get(), 0);
  if (err) return make_error(std::string("Kafka commit failed: ") + rd_kafka_err2str(err), true);
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      return make_error("Kafka commit of " + topic + "[" +
                            std::to_string(list->elems[i].partition) +
                            "] failed: " + rd_kafka_err2str(list->elems[i].err),
                        true);
    }
  }
  return ok_status();
}

Status Consumer::subscribe(const std::vector<std::string>& topics) {
  if (!impl_->grouped) return make_error("subscribe() needs a group_id in ConsumerOptions");
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(impl_->rk.get(), list.get());
  if (err) return make_error(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
  return ok_status();
}

// librdkafka 2.0.2 stops fetching every partition once the consumer queue holds
// queued.min.messages (or queued.max.messages.kbytes), and looks again only when its broker
// thread wakes: with no request in flight, a second later (2.1 made this fetch.queue.backoff.ms).
// A reader slower than the fetcher (a store writer) then idled most of each second: 80,000
// documents/s where the store takes 340,000. So when the queue has been at least half that full
// and then runs dry, poll() sends one ListOffsets request to a partition's leader: the request
// wakes that broker thread, which decides again and fetches at once. A consumer that keeps up
// (a live tail) never fills its queue and never sends one.
void Consumer::kick() {
  impl_->was_high = false;
  impl_->kicked = std::chrono::steady_clock::now();
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(impl_->rk.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  PartitionList guard(assigned);
  if (assigned->cnt == 0) return;
  int64_t low = 0, high = 0;
  (void)rd_kafka_query_watermark_offsets(impl_->rk.get(), assigned->elems[0].topic,
                                         assigned->elems[0].partition, &low, &high, 100);
}

namespace {
constexpr std::string_view kNotAuthorized = "not authorized: ";
}  // namespace

bool not_authorized(const Error& e) {
  return e.message.rfind(kNotAuthorized, 0) == 0;
}

void Consumer::wake() {
  impl_->woken.store(true);
  rd_kafka_queue_yield(impl_->queue);  // a poll waiting in librdkafka returns with nothing
}

Result<std::optional<Message>> Consumer::poll(milliseconds timeout) {
  using SteadyClock = std::chrono::steady_clock;
  rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk.get(), 0);
  if (m == nullptr) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      // In the first 2 s of an assignment and until its first message, at most every 20 ms:
      // the partitions start fetching only once their offsets are set up, which a first kick
      // may precede.
      const auto now = SteadyClock::now();
      const bool starting =
          !impl_->started && timeout.count() > 0 && now - impl_->assigned_at < milliseconds(2000);
      if (impl_->was_high || (starting && now - impl_->kicked >= milliseconds(20))) kick();
      auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) break;
      if (starting) left = std::min(left, milliseconds(20));
      if (impl_->woken.exchange(false)) break;
      m = rd_kafka_consumer_poll(impl_->rk.get(), static_cast<int>(left.count()));
      if (m != nullptr) break;
    }
  }
  if (m != nullptr && !impl_->started) {
    impl_->started = true;
  } else if (m != nullptr && (++impl_->polls & 63) == 0) {
    // Kicked again once the queue is down to a quarter of queued.min.messages, so that the next
    // fetch lands before it runs dry.
    const auto queued = static_cast<int64_t>(rd_kafka_queue_length(impl_->queue));
    if (queued >= impl_->high_mark) {
      impl_->was_high = true;
    } else if (impl_->was_high && queued < impl_->high_mark / 2) {
      kick();
    }
  }
  if (m == nullptr) return std::optional<Message>();
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
      m, rd_kafka_message_destroy);
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::optional<Message>();
  if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
      m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
    const std::string topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
    return make_error("offset out of range: " + topic + "[" + std::to_string(m->partition) +
                      "] at offset " + std::to_string(m->offset) + ": " +
                      rd_kafka_message_errstr(m));
  }
  if (m->err) {
    std::string where = m->rkt ? std::string(rd_kafka_topic_name(m->rkt)) : std::string("consumer");
    const bool denied = m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                        m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
                        m->err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    return make_error(std::string(denied ? kNotAuthorized : "") + "Kafka consume error on " +
                          where + ": " + rd_kafka_message_errstr(m),
                      m->err != RD_KAFKA_RESP_ERR__FATAL && !denied);
  }
  Message out;
  out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  out.offset = m->offset;
  if (m->key) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) {
    // With room after it for a JSON parser's padding (simdjson reads up to 64 bytes past the
    // end, and copies a string without that room): values are parsed where they land.
    out.value.reserve(m->len + 64);
    out.value.assign(static_cast<const char*>(m->payload), m->len);
  }
  rd_kafka_timestamp_type_t tstype;
  out.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
  return std::optional<Message>(std::move(out));
}

Status Consumer::commit(const Message& m) {
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), m.topic.c_str(), m.partition)->offset =
      m.offset + 1;
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), list.get(), 0);
  if (err) return make_error(std::string("Kafka commit failed: ") + rd_kafka_err2str(err), true);
  return ok_status();
}

}  // namespace sf::kafka
