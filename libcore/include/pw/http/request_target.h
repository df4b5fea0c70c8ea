// What a received request-target names (RFC 9112 §3.2), whatever its form: the path a server
// routes on and the authority (host[:port]) the request is for. Pure functions of the request.
#pragma once

#include <string_view>

#include "pw/http/server.h"

namespace pw::http {

// The request-target's path (before '?'): the origin-form's own, or the path part of an
// absolute-form target ("http://h/p?q" -> "/p"; "/" when it has none), RFC 9112 §3.2.2.
// Asterisk- and authority-form targets are returned as they are.
std::string_view target_path(const ServerRequest& req) noexcept;

// The authority the request is for: an absolute-form target's authority, which wins over Host
// (RFC 9112 §3.2.2), else the Host field's value, else empty (an HTTP/1.0 request without Host).
// Not validated here.
std::string_view target_authority(const ServerRequest& req) noexcept;

// "https" on a TLS connection, else "http" (RFC 9110 §4.2).
constexpr std::string_view scheme_name(bool tls) noexcept { return tls ? "https" : "http"; }

}  // namespace pw::http
