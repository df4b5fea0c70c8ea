// Result<T>: a value or an Error, returned across the data path instead of throwing.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace pw {

// Error classes shared by every module. Values are stable: they appear in logs and JSON.
enum class Errc : std::uint8_t {
  ok = 0,
  invalid_argument,  // a caller passed something unusable
  parse_error,       // input did not follow its grammar (HTTP, JSON, PEM, ...)
  limit_exceeded,    // a configured limit (bytes, count, time) was hit
  io_error,          // the OS refused (errno in Error::sys)
  timeout,
  closed,            // the peer or the owner closed the stream
  tls_error,
  not_found,
  unsupported,
  internal,          // a bug: should not happen, counted and logged
};

const char* errc_name(Errc c) noexcept;

struct Error {
  Errc code = Errc::internal;
  std::string message;  // precise, human-readable: what, where (offset, path, file)
  int sys = 0;          // errno or libuv status when code == io_error, else 0

  Error() = default;
  Error(Errc c, std::string msg, int sys_code = 0) : code(c), message(std::move(msg)), sys(sys_code) {}

  // "parse_error: ..." form for logs.
  std::string to_string() const;
};

// Minimal std::expected for C++20.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT(implicit)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error err) : err_(std::move(err)), ok_(false) {}  // NOLINT(implicit)

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { assert(!ok_); return err_; }
  Error&& error() && { assert(!ok_); return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Error make_error(Errc c, std::string msg, int sys = 0) { return Error(c, std::move(msg), sys); }

}  // namespace pw
