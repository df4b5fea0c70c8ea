#include "pw/http/message.h"

#include "pw/base/strings.h"

namespace pw::http {

Method method_from_name(std::string_view n) noexcept {
  switch (n.size()) {
    case 3:
      if (n == "GET") return Method::get;
      if (n == "PUT") return Method::put;
      break;
    case 4:
      if (n == "POST") return Method::post;
      if (n == "HEAD") return Method::head;
      break;
    case 5:
      if (n == "PATCH") return Method::patch;
      if (n == "TRACE") return Method::trace;
      break;
    case 6:
      if (n == "DELETE") return Method::delete_;
      break;
    case 7:
      if (n == "OPTIONS") return Method::options;
      if (n == "CONNECT") return Method::connect;
      break;
    default:
      break;
  }
  return Method::other;
}

std::string_view method_name(Method m) noexcept {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::delete_: return "DELETE";
    case Method::connect: return "CONNECT";
    case Method::options: return "OPTIONS";
    case Method::trace: return "TRACE";
    case Method::patch: return "PATCH";
    case Method::other: break;
  }
  return "";
}

std::string_view version_name(Version v) noexcept {
  return v == Version::http10 ? "HTTP/1.0" : "HTTP/1.1";
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

std::optional<std::string_view> HeaderList::get(std::string_view name) const noexcept {
  for (const Header& h : v_)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::size_t HeaderList::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const Header& h : v_)
    if (iequals(h.name, name)) ++n;
  return n;
}

}  // namespace pw::http
