// pipeworks HTTP/1.1 parser vs libhttp-parser 2.9 on the same input: a buffer holding many
// pipelined copies of one request. Both sides do equivalent work per request: record the method,
// target and every header as (name, value) views, and see every body byte. Each benchmark reports
// bytes/s and items/s (requests/s).
#include <benchmark/benchmark.h>
#include <http_parser.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pw/http/parser.h"

namespace {

constexpr int kCopies = 1000;

const std::string kSmallGet = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";

const std::string kBrowserGet =
    "GET /wiki/Special:Search?search=pipeworks&go=Go HTTP/1.1\r\n"
    "Host: en.wikipedia.org\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://en.wikipedia.org/wiki/Main_Page\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: enwikimwuser-sessionId=5a4b3c2d1e0f; WMF-Last-Access=26-Nov-2024; GeoIP=NL:NH:Amsterdam\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "\r\n";

std::string chunk(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = data.size(); n; n >>= 4) size.insert(size.begin(), kHex[n & 15]);
  return size + "\r\n" + std::string(data) + "\r\n";
}

const std::string kChunkedPost =
    "POST /api/v1/events HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "Content-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n" +
    chunk("[{\"event\":\"click\",\"target\":\"#buy\",\"ts\":1700000000123,\"user\":\"u-42\"}") +
    chunk(",{\"event\":\"view\",\"page\":\"/checkout\",\"ts\":1700000000456,\"user\":\"u-42\"}") +
    chunk(",{\"event\":\"scroll\",\"depth\":0.75}]") + "0\r\n\r\n";

std::string pipelined(const std::string& one) {
  std::string s;
  s.reserve(one.size() * kCopies);
  for (int i = 0; i < kCopies; ++i) s += one;
  return s;
}

// ---- pipeworks --------------------------------------------------------------------------------

void BM_pipeworks(benchmark::State& state, const std::string* one) {
  const std::string buf = pipelined(*one);
  pw::http::Parser p(pw::http::Parser::Mode::request);
  std::size_t sink = 0;
  for (auto _ : state) {
    p.reset();
    std::string_view in(buf);
    int done = 0;
    for (;;) {
      pw::http::Event ev = p.parse(in);
      in.remove_prefix(ev.consumed);
      if (ev.kind == pw::http::EventKind::head) {
        const auto& h = p.head();
        sink += h.target.size() + h.headers.size();
      } else if (ev.kind == pw::http::EventKind::body_data) {
        sink += ev.data.size();
      } else if (ev.kind == pw::http::EventKind::message_complete) {
        ++done;
      } else {
        break;  // need_more at the end of the buffer (or an error: checked below)
      }
    }
    if (done != kCopies) state.SkipWithError("pipeworks parser did not parse every request");
    benchmark::DoNotOptimize(sink);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(buf.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kCopies);
}

// ---- http-parser ------------------------------------------------------------------------------
// The usual callbacks: collect method, URL, header name/value views (joining split runs the way
// a real user must), body bytes, and count completed messages.

struct Collected {
  std::string_view url;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  bool in_value = false;
  std::size_t body = 0;
  int done = 0;
  std::size_t sink = 0;
};

// Extends a view when http-parser calls back twice for one run (it does at buffer edges).
inline void extend(std::string_view& v, const char* at, std::size_t len) {
  if (!v.empty() && v.data() + v.size() == at) v = std::string_view(v.data(), v.size() + len);
  else v = std::string_view(at, len);
}

int on_message_begin(http_parser* p) {
  auto* c = static_cast<Collected*>(p->data);
  c->url = {};
  c->headers.clear();
  c->in_value = false;
  return 0;
}
int on_url(http_parser* p, const char* at, std::size_t len) {
  extend(static_cast<Collected*>(p->data)->url, at, len);
  return 0;
}
int on_header_field(http_parser* p, const char* at, std::size_t len) {
  auto* c = static_cast<Collected*>(p->data);
  if (c->in_value || c->headers.empty()) {
    c->headers.emplace_back(std::string_view(at, len), std::string_view());
    c->in_value = false;
  } else {
    extend(c->headers.back().first, at, len);
  }
  return 0;
}
int on_header_value(http_parser* p, const char* at, std::size_t len) {
  auto* c = static_cast<Collected*>(p->data);
  extend(c->headers.back().second, at, len);
  c->in_value = true;
  return 0;
}
int on_headers_complete(http_parser* p) {
  auto* c = static_cast<Collected*>(p->data);
  c->sink += c->url.size() + c->headers.size() + p->method;
  return 0;
}
int on_body(http_parser* p, const char*, std::size_t len) {
  static_cast<Collected*>(p->data)->body += len;
  return 0;
}
int on_message_complete(http_parser* p) {
  ++static_cast<Collected*>(p->data)->done;
  return 0;
}

void BM_http_parser(benchmark::State& state, const std::string* one) {
  const std::string buf = pipelined(*one);
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_begin = on_message_begin;
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  Collected c;
  c.headers.reserve(32);
  http_parser p;
  for (auto _ : state) {
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &c;
    c.done = 0;
    std::size_t n = http_parser_execute(&p, &settings, buf.data(), buf.size());
    if (n != buf.size() || c.done != kCopies) state.SkipWithError("http-parser did not parse every request");
    benchmark::DoNotOptimize(c.sink);
    benchmark::DoNotOptimize(c.body);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(buf.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kCopies);
}

}  // namespace

BENCHMARK_CAPTURE(BM_pipeworks, small_get, &kSmallGet);
BENCHMARK_CAPTURE(BM_http_parser, small_get, &kSmallGet);
BENCHMARK_CAPTURE(BM_pipeworks, browser_get, &kBrowserGet);
BENCHMARK_CAPTURE(BM_http_parser, browser_get, &kBrowserGet);
BENCHMARK_CAPTURE(BM_pipeworks, chunked_post, &kChunkedPost);
BENCHMARK_CAPTURE(BM_http_parser, chunked_post, &kChunkedPost);

BENCHMARK_MAIN();
