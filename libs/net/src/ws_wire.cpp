#include "sf/net/detail/ws_wire.h"

#include <cstring>

namespace sf::net::detail {

using Kind = WsReceiver::Event::Kind;

char* WsReceiver::prepare(size_t min, size_t* room) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // A large message's buffer is not kept for the small ones that follow.
    if (buf_.capacity() > (size_t{1} << 20)) std::string().swap(buf_);
  }
  if (buf_.size() - end_ < min) {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < min) buf_.resize(end_ + min);
  }
  *room = buf_.size() - end_;
  return buf_.data() + end_;
}

namespace {
// A frame's header as far as `avail` bytes at `p` hold it: false while it is not all there.
struct Header {
  bool fin, control;
  int op;
  size_t size;      // of the header
  uint64_t length;  // of the payload
};
bool read_header(const uint8_t* p, size_t avail, Header* h) {
  if (avail < 2) return false;
  h->fin = (p[0] & 0x80) != 0;
  h->op = p[0] & 0x0f;
  h->control = (h->op & 0x8) != 0;
  h->length = p[1] & 0x7f;
  h->size = 2;
  if (h->length == 126) {
    if (avail < 4) return false;
    h->length = uint64_t{p[2]} << 8 | p[3];
    h->size = 4;
  } else if (h->length == 127) {
    if (avail < 10) return false;
    h->length = 0;
    for (int i = 0; i < 8; ++i) h->length = h->length << 8 | p[2 + i];
    h->size = 10;
  }
  return true;
}
}  // namespace

bool WsReceiver::frame_ready() const {
  if (!error_.empty()) return true;
  const size_t avail = end_ - begin_;
  Header h{};
  if (!read_header(reinterpret_cast<const uint8_t*>(buf_.data() + begin_), avail, &h)) {
    return false;
  }
  // A fragment that is not the last may need frames not here yet: not ready (conservative).
  return avail - h.size >= h.length && (h.fin || h.control);
}

WsReceiver::Event WsReceiver::next() {
  auto fail = [&](std::string what) {
    error_ = "WebSocket protocol error: " + what;
    return Event{Kind::error, error_, 0};
  };
  if (!error_.empty()) return {Kind::error, error_, 0};
  for (;;) {
    const size_t avail = end_ - begin_;
    const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + begin_);
    Header h{};
    if (!read_header(p, avail, &h)) return {};
    const bool fin = h.fin, control = h.control;
    const int op = h.op;
    const uint64_t len = h.length;
    const size_t header = h.size;
    if ((p[0] & 0x70) != 0) return fail("reserved bits set (no extension was negotiated)");
    if ((p[1] & 0x80) != 0) return fail("a masked frame from the server");
    if (control) {
      if (op != 8 && op != 9 && op != 10) return fail("unknown opcode " + std::to_string(op));
      if (!fin) return fail("a fragmented control frame");
      if (len > 125)
        return fail("a control frame of " + std::to_string(len) + " bytes (at most 125)");
    } else {
      if (op > 2) return fail("unknown opcode " + std::to_string(op));
      if (op == 0 && !in_message_) return fail("a continuation frame outside a message");
      if (op != 0 && in_message_) return fail("a new message inside a fragmented one");
      if (len > max_message_ - partial_.size()) {
        return fail("a message of more than " + std::to_string(max_message_) + " bytes");
      }
    }
    if (avail - header < len) return {};
    const std::string_view payload(buf_.data() + begin_ + header, len);
    begin_ += header + len;
    if (control) {
      if (op == 9) return {Kind::ping, std::string(payload), 0};
      if (op == 10) return {Kind::pong, std::string(payload), 0};
      if (payload.empty()) return {Kind::close, "", 1005};
      if (payload.size() == 1) return fail("a close frame of 1 byte");
      const auto* c = reinterpret_cast<const uint8_t*>(payload.data());
      return {Kind::close, std::string(payload.substr(2)), c[0] << 8 | c[1]};
    }
    if (fin && !in_message_) return {Kind::message, std::string(payload), 0};
    partial_.append(payload);
    in_message_ = !fin;
    if (fin) {
      Event e{Kind::message, std::move(partial_), 0};
      partial_.clear();
      return e;
    }
  }
}

namespace {
void append_header(std::string& out, WsOpcode op, uint64_t len, bool masked) {
  const char m = masked ? static_cast<char>(0x80) : 0;
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  if (len < 126) {
    out.push_back(static_cast<char>(m | len));
  } else if (len <= 0xffff) {
    out.push_back(static_cast<char>(m | 126));
    for (int s = 8; s >= 0; s -= 8) out.push_back(static_cast<char>(len >> s & 0xff));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>(len >> s & 0xff));
  }
}
}  // namespace

void append_server_frame(std::string& out, WsOpcode op, std::string_view payload) {
  append_header(out, op, payload.size(), false);
  out.append(payload);
}

void append_client_frame(std::string& out, WsOpcode op, std::string_view payload, uint32_t mask) {
  append_header(out, op, payload.size(), true);
  const char key[4] = {static_cast<char>(mask >> 24), static_cast<char>(mask >> 16),
                       static_cast<char>(mask >> 8), static_cast<char>(mask)};
  out.append(key, 4);
  const size_t at = out.size();
  out.append(payload);
  for (size_t i = 0; i < payload.size(); ++i) out[at + i] ^= key[i & 3];
}

}  // namespace sf::net::detail
