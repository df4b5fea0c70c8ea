// Test helpers for the HTTP parser: feed bytes split at given offsets, the way a connection
// would (one buffer of unconsumed bytes, parse until need_more), and record a transcript that
// does not depend on how the bytes were split.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pw/http/parser.h"

namespace pw::http::test {

struct Outcome {
  std::string transcript;
  bool error = false;
  Errc code = Errc::ok;
  int status = 0;
  std::string message;
};

inline void describe_head(std::string& t, const Head& h, Parser::Mode mode) {
  t += "H{";
  if (mode == Parser::Mode::request) {
    t += std::string(h.method_name) + " " + std::string(h.target) + " form=" +
         std::to_string(static_cast<int>(h.target_form));
  } else {
    t += std::to_string(h.status) + " '" + std::string(h.reason) + "'";
  }
  t += h.version == Version::http10 ? " 1.0" : " 1.1";
  for (const auto& f : h.headers) t += " [" + std::string(f.name) + "=" + std::string(f.value) + "]";
  t += " body=" + std::to_string(static_cast<int>(h.body)) + " cl=" + std::to_string(h.content_length);
  t += h.keep_alive ? " ka" : " close";
  if (h.upgrade) t += " upgrade";
  if (h.expect_continue) t += " expect";
  t += "}";
}

// Feeds `data` cut at the (sorted) offsets in `cuts`, then calls finish() if asked.
inline Outcome feed(Parser& p, std::string_view data, const std::vector<std::size_t>& cuts,
                    bool finish = true) {
  Outcome o;
  std::string buf;
  bool in_body = false;
  auto handle = [&](const Event& ev) {
    switch (ev.kind) {
      case EventKind::head:
        in_body = false;
        describe_head(o.transcript, p.head(), p.mode());
        break;
      case EventKind::body_data:
        if (!in_body) o.transcript += " B{";
        in_body = true;
        o.transcript.append(ev.data);
        break;
      case EventKind::message_complete:
        if (in_body) o.transcript += "}";
        in_body = false;
        o.transcript += " C";
        for (const auto& f : p.trailers()) o.transcript += " T[" + std::string(f.name) + "=" + std::string(f.value) + "]";
        o.transcript += "\n";
        break;
      case EventKind::error:
        o.error = true;
        o.code = p.error().code;
        o.status = p.error_status();
        o.message = p.error().message;
        break;
      case EventKind::need_more:
        break;
    }
  };
  std::size_t prev = 0;
  std::vector<std::size_t> all = cuts;
  all.push_back(data.size());
  for (std::size_t cut : all) {
    buf.append(data.substr(prev, cut - prev));
    prev = cut;
    for (;;) {
      Event ev = p.parse(buf);
      // Body data must be a view into the input, not a copy.
      if (ev.kind == EventKind::body_data && (ev.data.data() < buf.data() || ev.data.data() + ev.data.size() > buf.data() + buf.size()))
        o.transcript += "<COPY>";
      handle(ev);
      buf.erase(0, ev.consumed);
      if (ev.kind == EventKind::error) return o;
      if (ev.kind == EventKind::need_more) break;
    }
  }
  if (finish) {
    Event ev = p.finish();
    handle(ev);
    if (ev.kind == EventKind::need_more) o.transcript += " idle";
  }
  return o;
}

inline Outcome feed_once(Parser::Mode mode, std::string_view data, Method req = Method::get, Limits lim = {}) {
  Parser p(mode, lim);
  p.set_request_method(req);
  return feed(p, data, {});
}

}  // namespace pw::http::test
