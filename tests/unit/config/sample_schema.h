// A small gateway-like schema shared by the config tests and the fuzz_config target.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pw/config/reader.h"
#include "pw/config/writer.h"

namespace sample {

using namespace std::chrono_literals;
using pw::config::ByteSize;
using pw::config::check;
using pw::config::non_empty;
using pw::config::one_of;
using pw::config::range;

enum class Protocol { http, tcp };
inline constexpr pw::config::EnumName<Protocol> kProtocolNames[] = {{"http", Protocol::http},
                                                                   {"tcp", Protocol::tcp}};
constexpr std::span<const pw::config::EnumName<Protocol>> config_enum_names(Protocol) { return kProtocolNames; }

struct Listener {
  std::uint32_t port = 0;
  std::string address = "0.0.0.0";
  Protocol protocol = Protocol::http;
  bool tls = false;
  pw::Duration idle_timeout = 60s;
};
template <class F>
void config_fields(F& f, Listener& l) {
  f.required("port", l.port, range(0, 65535));
  f.optional("address", l.address, non_empty);
  f.optional("protocol", l.protocol);
  f.optional("tls", l.tls);
  f.optional("idle_timeout", l.idle_timeout);
}

struct Limits {
  ByteSize max_header_bytes{64 * 1024};
  std::uint32_t max_headers = 100;
  ByteSize max_body_bytes{1024 * 1024};
  pw::Duration header_timeout = 10s;
};
template <class F>
void config_fields(F& f, Limits& l) {
  f.optional("max_header_bytes", l.max_header_bytes);
  f.optional("max_headers", l.max_headers, range(1, 10000));
  f.optional("max_body_bytes", l.max_body_bytes);
  f.optional("header_timeout", l.header_timeout);
}

struct Cluster {
  std::vector<std::string> endpoints;
  std::string lb = "round_robin";
  std::optional<pw::Duration> connect_timeout;
};
template <class F>
void config_fields(F& f, Cluster& c) {
  f.required("endpoints", c.endpoints, non_empty);
  f.optional("lb", c.lb, one_of({"round_robin", "least_request", "random"}));
  f.optional("connect_timeout", c.connect_timeout);
}

struct Route {
  std::string prefix = "/";
  std::string upstream;
  std::optional<std::string> host;
};
template <class F>
void config_fields(F& f, Route& r) {
  f.optional("prefix", r.prefix,
             check([](const std::string& s) { return s.starts_with("/") ? "" : "must start with \"/\""; }));
  f.required("upstream", r.upstream);
  f.optional("host", r.host);
}

struct Gateway {
  std::vector<Listener> listeners;
  Limits limits;
  std::map<std::string, Cluster> clusters;
  std::vector<Route> routes;
};
template <class F>
void config_fields(F& f, Gateway& g) {
  f.required("listeners", g.listeners, non_empty);
  f.optional("limits", g.limits);
  f.optional("clusters", g.clusters);
  f.optional("routes", g.routes);
  f.validate([&](pw::config::Validation& v) {
    for (std::size_t i = 0; i < g.routes.size(); ++i)
      if (!g.clusters.contains(g.routes[i].upstream))
        v.error_at({"routes", i, "upstream"}, "unknown cluster " + pw::config::quote(g.routes[i].upstream));
  });
}

}  // namespace sample
