// The rate-limit API of envoyproxy/ratelimit (envoy.service.ratelimit.v3 RateLimitRequest and
// RateLimitResponse) in its JSON mapping, as their `POST /json` endpoint speaks it (protojson):
//
//   request   {"domain":"d","descriptors":[{"entries":[{"key":"k","value":"v"}]}],"hits_addend":1}
//   response  {"overallCode":"OVER_LIMIT","statuses":[{"code":"OVER_LIMIT",
//              "currentLimit":{"requestsPerUnit":10,"unit":"MINUTE"},"durationUntilReset":"30s"}]}
//
// Decoding follows protojson: a field may be named in proto (hits_addend) or JSON (hitsAddend)
// form, null means "not set", unknown fields and duplicate fields are errors, integers may be
// JSON numbers or decimal strings, enums are names or numbers. Encoding follows protojson's
// defaults: fields with their zero value are left out (limitRemaining 0, requestsPerUnit 0),
// enums as names, durations as "1.500s". Both are pure functions (fuzzed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"

namespace pw::limit {

// RateLimitResponse.RateLimit.Unit, with its proto numbers.
enum class Unit : std::uint8_t { unknown = 0, second = 1, minute = 2, hour = 3, day = 4, month = 5, year = 6, week = 7 };

std::string_view unit_name(Unit u) noexcept;                     // "SECOND"
std::optional<Unit> unit_from_name(std::string_view s) noexcept;  // "SECOND" or "second"
// envoyproxy/ratelimit's fixed lengths: a month is 30 days, a year 365 days. unknown: 0.
Duration unit_duration(Unit u) noexcept;

enum class Code : std::uint8_t { unknown = 0, ok = 1, over_limit = 2 };
std::string_view code_name(Code c) noexcept;  // "OK"

struct Entry {
  std::string key;
  std::string value;
};

struct RateLimitOverride {
  std::uint32_t requests_per_unit = 0;
  Unit unit = Unit::unknown;
};

struct Descriptor {
  std::vector<Entry> entries;
  std::optional<RateLimitOverride> limit;   // "limit": a limit chosen by the caller
  std::optional<std::uint64_t> hits_addend;  // per-descriptor hits (google.protobuf.UInt64Value)
};

struct Request {
  std::string domain;
  std::vector<Descriptor> descriptors;
  std::uint32_t hits_addend = 0;  // 0 means 1 (proto3 default)
};

struct CurrentLimit {
  std::uint32_t requests_per_unit = 0;
  Unit unit = Unit::unknown;
  std::string name;  // "name": the rule's name, left out when empty
};

struct DescriptorStatus {
  Code code = Code::unknown;
  std::optional<CurrentLimit> current_limit;
  std::uint32_t limit_remaining = 0;
  std::optional<Duration> duration_until_reset;
};

struct Response {
  Code overall_code = Code::unknown;
  std::vector<DescriptorStatus> statuses;
};

struct DecodeLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_descriptors = 64;
  std::size_t max_entries = 32;  // per descriptor
};

// Errors are Errc::parse_error (bad JSON, wrong shapes: "descriptors/0/entries/1/key: expected
// string") or Errc::limit_exceeded.
Result<Request> decode_request(std::string_view json, const DecodeLimits& limits = {});
std::string encode_request(const Request& r);
Result<Response> decode_response(std::string_view json, const DecodeLimits& limits = {});
std::string encode_response(const Response& r);

// protojson's google.protobuf.Duration form: "30s", "0.250s", "1.000000001s".
std::string format_proto_duration(Duration d);
std::optional<Duration> parse_proto_duration(std::string_view s) noexcept;

}  // namespace pw::limit
