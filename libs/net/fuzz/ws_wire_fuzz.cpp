// libFuzzer target: any bytes as what a WebSocket server sent, fed to detail::WsReceiver in
// chunks whose sizes the input's first byte picks. Must never crash (ASan, UBSan), never hold a
// message over its limit, never buffer much past what it was fed, and agree with itself:
// frame_ready() promises an event from next(), an error stays an error.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "sf/net/detail/ws_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sf::net::detail::WsReceiver;
  using Kind = WsReceiver::Event::Kind;
  if (size == 0) return 0;
  constexpr size_t kMax = 1024;
  const size_t step = 1 + data[0] % 64;
  WsReceiver rx(kMax);
  bool failed = false;
  size_t fed = 0;
  for (size_t at = 1; at < size; at += step) {
    const size_t n = std::min(step, size - at);
    size_t room = 0;
    char* to = rx.prepare(n, &room);
    if (room < n) std::abort();
    std::memcpy(to, data + at, n);
    rx.commit(n);
    fed += n;
    for (;;) {
      const bool ready = rx.frame_ready();
      auto e = rx.next();
      if (ready && e.kind == Kind::need_more) std::abort();
      if (failed && e.kind != Kind::error) std::abort();
      if (e.kind == Kind::error) {
        failed = true;
        break;
      }
      if (e.kind == Kind::need_more) break;
      if (e.kind == Kind::message && e.data.size() > kMax) std::abort();
      if ((e.kind == Kind::ping || e.kind == Kind::pong) && e.data.size() > 125) std::abort();
    }
    if (rx.buffered() > fed) std::abort();
  }
  return 0;
}
