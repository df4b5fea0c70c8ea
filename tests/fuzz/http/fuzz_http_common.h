// Shared driver of the HTTP fuzz targets. Each input is parsed twice: in one feed and split into
// pieces whose size comes from the first input byte. Both runs must give the same transcript
// (the parser's incremental contract) and every view must lie inside the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pw/http/parser.h"

namespace pw::http::fuzz {

inline void require(bool ok) {
  if (!ok) __builtin_trap();
}

inline bool inside(std::string_view v, std::string_view buf) {
  return v.empty() || (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
}

// Runs a decoder-like object (parse(std::string_view) -> Event) over data in pieces of `step`
// bytes (0: all at once). `on_event` may inspect views while the buffer is intact.
template <class Step, class OnEvent>
std::string drive(std::string_view data, std::size_t step, Step&& parse, OnEvent&& on_event) {
  std::string transcript, buf;
  std::size_t fed = 0;
  bool body = false;
  while (true) {
    std::size_t take = step == 0 ? data.size() - fed : std::min(step, data.size() - fed);
    buf.append(data.substr(fed, take));
    fed += take;
    for (int guard = 0;; ++guard) {
      require(guard < 1'000'000);
      Event ev = parse(std::string_view(buf));
      require(ev.consumed <= buf.size());
      switch (ev.kind) {
        case EventKind::body_data:
          require(!ev.data.empty() && inside(ev.data, buf));
          require(ev.data.data() + ev.data.size() == buf.data() + ev.consumed);
          if (!body) transcript += "B:";
          body = true;
          transcript.append(ev.data);
          break;
        case EventKind::need_more:
          break;
        default:
          body = false;
          transcript += "|" + std::to_string(static_cast<int>(ev.kind)) + ":";
          transcript += on_event(ev, std::string_view(buf));
          break;
      }
      buf.erase(0, ev.consumed);
      if (ev.kind == EventKind::error) return transcript;
      if (ev.kind == EventKind::need_more) break;
    }
    if (fed == data.size()) return transcript;
  }
}

inline std::string describe(const Head& h, std::string_view buf) {
  std::string s;
  s += h.method_name;
  s += ' ';
  s += h.target;
  s += ' ' + std::to_string(h.status) + ' ';
  s += h.reason;
  for (const auto& f : h.headers) {
    require(inside(f.name, buf) && inside(f.value, buf));
    require(!f.name.empty());
    s += '[';
    s += f.name;
    s += '=';
    s += f.value;
    s += ']';
  }
  s += " b" + std::to_string(static_cast<int>(h.body)) + " cl" + std::to_string(h.content_length) +
       (h.keep_alive ? "k" : "") + (h.upgrade ? "u" : "") + (h.expect_continue ? "e" : "");
  return s;
}

inline std::string describe_fields(const HeaderList& t, std::string_view buf) {
  std::string s;
  for (const auto& f : t) {
    require(inside(f.name, buf) && inside(f.value, buf));
    s += '[';
    s += f.name;
    s += '=';
    s += f.value;
    s += ']';
  }
  return s;
}

inline int run_parser(Parser::Mode mode, const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = data[0] % 17 + 1;  // 1..17 bytes per piece
  const Method methods[] = {Method::get, Method::head, Method::connect, Method::post};
  const Method req = methods[(data[0] >> 5) & 3];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Limits lim;
  lim.max_head_bytes = 4096;  // small limits so the fuzzer reaches them
  lim.max_line_bytes = 1024;
  lim.max_headers = 20;
  lim.max_trailer_bytes = 1024;
  lim.max_chunk_line_bytes = 64;
  std::string out[2];
  for (int pass = 0; pass < 2; ++pass) {
    Parser p(mode, lim);
    p.set_request_method(req);
    auto on_event = [&](const Event& ev, std::string_view buf) -> std::string {
      if (ev.kind == EventKind::head) return describe(p.head(), buf);
      if (ev.kind == EventKind::message_complete) return describe_fields(p.trailers(), buf);
      if (ev.kind == EventKind::error) {
        require(!p.error().message.empty());
        require(p.error().message.find(" at offset ") != std::string::npos);
        require(p.error_status() >= 400 && p.error_status() < 600);
        return p.error().message;
      }
      return {};
    };
    out[pass] = drive(in, pass == 0 ? 0 : step, [&](std::string_view b) { return p.parse(b); }, on_event);
    Event fin = p.finish();
    out[pass] += "|fin" + std::to_string(static_cast<int>(fin.kind));
  }
  require(out[0] == out[1]);
  return 0;
}

}  // namespace pw::http::fuzz
