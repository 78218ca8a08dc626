// The WebSocket wire format (RFC 6455 section 5) as a client sees it, free of any I/O: a
// receiver that turns the bytes read from a server into messages and control frames, and the
// masked frames a client sends. The client in transport.cpp reads the socket in large chunks into
// the receiver, so a burst of small frames (a live trade stream at full speed) costs one read for
// many frames, not an asynchronous operation for each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sf::net::detail {

enum class WsOpcode : uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10
};

class WsReceiver {
 public:
  struct Event {
    enum class Kind { need_more, message, ping, pong, close, error };
    Kind kind = Kind::need_more;
    std::string data;    // the message; a ping's or pong's payload; close: its reason;
                         // error: what was wrong
    int close_code = 0;  // close: the status code sent (1005 when none)
  };

  // Messages (after reassembly) above `max_message` bytes are an error, so a hostile server
  // cannot make the client buffer without bound.
  explicit WsReceiver(size_t max_message) : max_message_(max_message) {}

  // Room for at least `min` more bytes at the end of the buffered data; read into it, then
  // commit() what was read. The room stays valid until the next prepare() or next().
  char* prepare(size_t min, size_t* room);
  void commit(size_t n) { end_ += n; }
  // Bytes buffered and not yet taken by next().
  size_t buffered() const { return end_ - begin_; }
  // next() has an event without another read: the first buffered frame is whole and a control
  // frame or a message's last (a first fragment may wait for more; then false), or an error.
  bool frame_ready() const;

  // The next complete event from what is buffered, or need_more. After an error the receiver
  // only repeats it.
  Event next();

 private:
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  size_t max_message_;
  std::string partial_;  // a fragmented message's frames so far
  bool in_message_ = false;
  std::string error_;
};

// Appends one server frame (FIN set, unmasked).
void append_server_frame(std::string& out, WsOpcode op, std::string_view payload);

// Appends one client frame (FIN set, masked with `mask` as RFC 6455 requires of clients).
void append_client_frame(std::string& out, WsOpcode op, std::string_view payload, uint32_t mask);

}  // namespace sf::net::detail
