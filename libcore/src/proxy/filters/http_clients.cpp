#include "pw/proxy/filters/http_clients.h"

#include <map>

#include "pw/tls/context.h"

namespace pw::proxy {

Result<SideEndpoint> make_side_endpoint(const std::string& url, const std::string& ca_file, Duration connect_timeout,
                                        std::size_t max_response_body) {
  auto u = http::parse_url(url);
  if (!u) return std::move(u).error();
  // Blocking, but only at config load (start-up, reload), never on a worker's data path.
  auto addrs = http::resolve_blocking(u->host, u->port);
  if (!addrs) return std::move(addrs).error();
  if (addrs->empty()) return make_error(Errc::not_found, "no address for " + u->host);
  SideEndpoint se;
  se.url = std::move(*u);
  se.pool.connect_timeout = connect_timeout;
  se.pool.max_response_body = max_response_body;
  se.pool.idle_timeout = std::chrono::seconds(30);
  if (se.url.is_tls()) {
    tls::ClientConfig cc;
    cc.ca_file = ca_file;  // empty: the system store; verification is never turned off here
    cc.alpn = {"http/1.1"};
    auto ctx = tls::ClientContext::create(cc);
    if (!ctx) return std::move(ctx).error();
    se.pool.tls = std::move(*ctx);
    se.endpoint = http::Endpoint::with_tls(addrs->front(), se.url.host);
  } else {
    se.endpoint = http::Endpoint::plain(addrs->front());
  }
  se.key = se.url.to_string() + "\n" + ca_file + "\n" + std::to_string(max_response_body) + "\n" +
           std::to_string(connect_timeout.count());
  return se;
}

namespace {
struct Registry {
  io::Loop* loop = nullptr;
  std::map<std::string, std::shared_ptr<SideClient>> clients;  // bounded by the configured endpoints
};
thread_local Registry tl_registry;
}  // namespace

std::shared_ptr<SideClient> filter_http_client(io::Loop& loop, const SideEndpoint& ep) {
  Registry& r = tl_registry;
  if (r.loop != &loop) {  // a thread runs one loop; a new loop (tests) starts afresh
    close_filter_clients();
    r.loop = &loop;
  }
  auto& slot = r.clients[ep.key];
  if (!slot) slot = std::make_shared<SideClient>(loop, ep);
  return slot;
}

void close_filter_clients() {
  Registry& r = tl_registry;
  for (auto& [key, c] : r.clients) c->pool.close_idle();
  r.clients.clear();
  r.loop = nullptr;
}

}  // namespace pw::proxy
