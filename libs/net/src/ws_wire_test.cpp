#include "sf/net/detail/ws_wire.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace sf::net::detail {
namespace {

using Kind = WsReceiver::Event::Kind;

// A server frame (unmasked) as bytes.
std::string server_frame(int op, std::string_view payload, bool fin = true, uint8_t extra = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | extra | op));
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    f.push_back(126);
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(127);
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>(n >> s & 0xff));
  }
  f.append(payload);
  return f;
}

void feed(WsReceiver& rx, std::string_view bytes) {
  size_t room = 0;
  char* at = rx.prepare(bytes.size(), &room);
  ASSERT_GE(room, bytes.size());
  std::memcpy(at, bytes.data(), bytes.size());
  rx.commit(bytes.size());
}

std::vector<WsReceiver::Event> drain(WsReceiver& rx) {
  std::vector<WsReceiver::Event> out;
  for (auto e = rx.next(); e.kind != Kind::need_more; e = rx.next()) {
    out.push_back(e);
    if (e.kind == Kind::error) break;
  }
  return out;
}

TEST(WsWire, EveryFrameKindReassemblesWhateverTheReadBoundaries) {
  const std::string mid(300, 'm'), big(70'000, 'b');
  std::string wire = server_frame(1, "{\"e\":\"trade\"}") + server_frame(1, mid) +
                     server_frame(2, big) + server_frame(9, "are you there") +
                     server_frame(1, "frag", false) + server_frame(9, "") +
                     server_frame(0, "men", false) + server_frame(0, "ted") + server_frame(1, "") +
                     server_frame(10, "p") + server_frame(8, std::string("\x03\xe8", 2) + "bye");
  // The same bytes in one read, a byte at a time, and in reads of 7 bytes.
  for (size_t step : {wire.size(), size_t{1}, size_t{7}}) {
    WsReceiver rx(1 << 20);
    std::vector<WsReceiver::Event> got;
    for (size_t at = 0; at < wire.size(); at += step) {
      feed(rx, std::string_view(wire).substr(at, step));
      for (auto& e : drain(rx)) got.push_back(e);
    }
    ASSERT_EQ(got.size(), 9u) << "read step " << step;
    EXPECT_EQ(got[0].kind, Kind::message);
    EXPECT_EQ(got[0].data, "{\"e\":\"trade\"}");
    EXPECT_EQ(got[1].data, mid);
    EXPECT_EQ(got[2].data, big);
    EXPECT_EQ(got[3].kind, Kind::ping);
    EXPECT_EQ(got[3].data, "are you there");
    EXPECT_EQ(got[4].kind, Kind::ping) << "a control frame between fragments";
    EXPECT_EQ(got[5].kind, Kind::message);
    EXPECT_EQ(got[5].data, "fragmented");
    EXPECT_EQ(got[6].kind, Kind::message);
    EXPECT_EQ(got[6].data, "");
    EXPECT_EQ(got[7].kind, Kind::pong);
    EXPECT_EQ(got[7].data, "p");
    EXPECT_EQ(got[8].kind, Kind::close);
    EXPECT_EQ(got[8].close_code, 1000);
    EXPECT_EQ(got[8].data, "bye");
    EXPECT_EQ(rx.buffered(), 0u);
  }
}

TEST(WsWire, AFrameIsReadyOnlyOnceItIsWhole) {
  WsReceiver rx(1 << 20);
  const std::string a = server_frame(1, std::string(300, 'a')), b = server_frame(1, "b");
  EXPECT_FALSE(rx.frame_ready());
  feed(rx, a.substr(0, 3));
  EXPECT_FALSE(rx.frame_ready()) << "half a 16-bit length";
  feed(rx, a.substr(3, 100));
  EXPECT_FALSE(rx.frame_ready()) << "the payload not all there";
  feed(rx, a.substr(103) + b.substr(0, 1));
  EXPECT_TRUE(rx.frame_ready());
  EXPECT_EQ(rx.next().data.size(), 300u);
  EXPECT_FALSE(rx.frame_ready()) << "one byte of the next frame";
  feed(rx, b.substr(1));
  EXPECT_TRUE(rx.frame_ready());
  EXPECT_EQ(rx.next().data, "b");
  EXPECT_FALSE(rx.frame_ready());
  // A first fragment, whole, is not an event yet; its last one makes it one.
  feed(rx, server_frame(1, "fr", false));
  EXPECT_FALSE(rx.frame_ready());
  EXPECT_EQ(rx.next().kind, Kind::need_more);
  feed(rx, server_frame(0, "ag"));
  EXPECT_TRUE(rx.frame_ready());
  EXPECT_EQ(rx.next().data, "frag");
}

TEST(WsWire, CloseFramesCarryTheirCodeAndReason) {
  WsReceiver rx(1024);
  feed(rx, server_frame(8, std::string("\x03\xe9", 2) + "going away"));
  auto e = rx.next();
  EXPECT_EQ(e.kind, Kind::close);
  EXPECT_EQ(e.close_code, 1001);
  EXPECT_EQ(e.data, "going away");
  feed(rx, server_frame(8, ""));
  e = rx.next();
  EXPECT_EQ(e.kind, Kind::close);
  EXPECT_EQ(e.close_code, 1005) << "no code sent";
}

TEST(WsWire, WhatAServerMustNotSendIsAnErrorThatStays) {
  struct Case {
    std::string bytes;
    std::string says;
  };
  std::string masked = server_frame(1, "x");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  const std::vector<Case> cases = {
      {masked, "masked"},
      {server_frame(1, "x", true, 0x40), "reserved bits"},
      {server_frame(3, "x"), "unknown opcode 3"},
      {server_frame(11, "x"), "unknown opcode 11"},
      {server_frame(9, "x", false), "fragmented control"},
      {server_frame(9, std::string(126, 'x')), "control frame of 126 bytes"},
      {server_frame(0, "x"), "continuation frame outside"},
      {server_frame(1, "a", false) + server_frame(1, "b"), "new message inside"},
      {server_frame(8, "\x03"), "close frame of 1 byte"},
      // Declared larger than the limit: refused from its header, before any payload is read.
      {server_frame(2, std::string(2000, 'x')).substr(0, 4), "more than 1024 bytes"},
      {server_frame(1, std::string(600, 'a'), false) + server_frame(0, std::string(600, 'b')),
       "more than 1024 bytes"},
  };
  for (const auto& c : cases) {
    WsReceiver rx(1024);
    feed(rx, c.bytes);
    auto events = drain(rx);
    ASSERT_FALSE(events.empty()) << c.says;
    EXPECT_EQ(events.back().kind, Kind::error) << c.says;
    EXPECT_NE(events.back().data.find(c.says), std::string::npos) << events.back().data;
    feed(rx, server_frame(1, "fine"));
    EXPECT_EQ(rx.next().kind, Kind::error) << "after an error, nothing more is taken";
  }
  // A 64-bit length with the top bit set is more than any limit.
  WsReceiver rx(1024);
  feed(rx, std::string("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10));
  EXPECT_EQ(rx.next().kind, Kind::error);
}

TEST(WsWire, ClientFramesAreMaskedAndDecodeToTheirPayload) {
  for (size_t n : {size_t{0}, size_t{5}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 31 + 7);
    std::string f;
    append_client_frame(f, WsOpcode::text, payload, 0xa1b2c3d4);
    const auto* p = reinterpret_cast<const uint8_t*>(f.data());
    EXPECT_EQ(p[0], 0x81);
    ASSERT_TRUE(p[1] & 0x80) << "a client frame is masked";
    uint64_t len = p[1] & 0x7f;
    size_t at = 2;
    if (len == 126) {
      len = uint64_t{p[2]} << 8 | p[3];
      at = 4;
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | p[2 + i];
      at = 10;
    }
    EXPECT_EQ(len, n);
    EXPECT_EQ(p[at], 0xa1);
    EXPECT_EQ(p[at + 3], 0xd4);
    const uint8_t* key = p + at;
    ASSERT_EQ(f.size(), at + 4 + n);
    std::string back(n, '\0');
    for (size_t i = 0; i < n; ++i) back[i] = static_cast<char>(p[at + 4 + i] ^ key[i & 3]);
    EXPECT_EQ(back, payload) << n << " bytes";
    if (n >= 8) {
      EXPECT_NE(f.substr(at + 4), payload) << "the payload is not sent in the clear";
    }
  }
}

TEST(WsWire, ABigMessagesBufferIsNotKeptForTheSmallOnesAfterIt) {
  WsReceiver rx(8 << 20);
  feed(rx, server_frame(2, std::string(4 << 20, 'x')));
  EXPECT_EQ(rx.next().data.size(), size_t{4} << 20);
  size_t room = 0;
  rx.prepare(64 * 1024, &room);
  EXPECT_LT(room, size_t{1} << 20);
}

}  // namespace
}  // namespace sf::net::detail
