// JSON codec of the rate-limit API with protojson's rules (see api.h). nlohmann's DOM parser with
// a callback that refuses duplicate keys (nlohmann would keep the last one silently).
#include "pw/limit/api.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/base/strings.h"
#include "pw/telemetry/json_text.h"

namespace pw::limit {

using Json = nlohmann::json;

std::string_view unit_name(Unit u) noexcept {
  switch (u) {
    case Unit::unknown: return "UNKNOWN";
    case Unit::second: return "SECOND";
    case Unit::minute: return "MINUTE";
    case Unit::hour: return "HOUR";
    case Unit::day: return "DAY";
    case Unit::month: return "MONTH";
    case Unit::year: return "YEAR";
    case Unit::week: return "WEEK";
  }
  return "UNKNOWN";
}

std::optional<Unit> unit_from_name(std::string_view s) noexcept {
  for (int i = 0; i <= 7; ++i) {
    auto u = static_cast<Unit>(i);
    if (iequals(unit_name(u), s)) return u;
  }
  return std::nullopt;
}

Duration unit_duration(Unit u) noexcept {
  using std::chrono::seconds;
  switch (u) {
    case Unit::unknown: return Duration(0);
    case Unit::second: return seconds(1);
    case Unit::minute: return seconds(60);
    case Unit::hour: return seconds(3600);
    case Unit::day: return seconds(86400);
    case Unit::week: return seconds(7 * 86400);
    case Unit::month: return seconds(30 * 86400);
    case Unit::year: return seconds(365 * 86400);
  }
  return Duration(0);
}

std::string_view code_name(Code c) noexcept {
  switch (c) {
    case Code::unknown: return "UNKNOWN";
    case Code::ok: return "OK";
    case Code::over_limit: return "OVER_LIMIT";
  }
  return "UNKNOWN";
}

std::string format_proto_duration(Duration d) {
  std::int64_t ns = d.count();
  std::string out;
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  out += std::to_string(ns / 1'000'000'000);
  std::int64_t frac = ns % 1'000'000'000;
  if (frac != 0) {
    char buf[16];
    if (frac % 1'000'000 == 0) std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac / 1'000'000));
    else if (frac % 1'000 == 0) std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac / 1'000));
    else std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(frac));
    out += buf;
  }
  out += 's';
  return out;
}

std::optional<Duration> parse_proto_duration(std::string_view s) noexcept {
  if (s.size() < 2 || s.back() != 's') return std::nullopt;
  s.remove_suffix(1);
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  auto dot = s.find('.');
  auto secs = parse_u64(s.substr(0, dot), 315'576'000'000ULL);
  if (!secs) return std::nullopt;
  std::int64_t ns = static_cast<std::int64_t>(*secs) * 1'000'000'000;
  if (dot != std::string_view::npos) {
    auto frac = s.substr(dot + 1);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
    auto f = parse_u64(frac);
    if (!f) return std::nullopt;
    std::int64_t v = static_cast<std::int64_t>(*f);
    for (std::size_t i = frac.size(); i < 9; ++i) v *= 10;
    ns += v;
  }
  return Duration(neg ? -ns : ns);
}

namespace {

// Parses with duplicate keys refused. Returns a discarded value on error, with `err` set.
Json parse_strict(std::string_view text, std::string& err) {
  std::vector<std::vector<std::string>> keys;  // per open object, the keys seen
  bool dup = false;
  auto cb = [&](int /*depth*/, Json::parse_event_t ev, Json& parsed) -> bool {
    switch (ev) {
      case Json::parse_event_t::object_start: keys.emplace_back(); break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string()) {
          const auto& k = parsed.get_ref<const std::string&>();
          for (const auto& seen : keys.back()) {
            if (seen == k && !dup) {
              dup = true;
              err = "duplicate field \"" + escape_for_log(k) + "\"";
            }
          }
          keys.back().push_back(k);
        }
        break;
      default: break;
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    err = "invalid JSON";
    return j;
  }
  if (dup) return Json(Json::value_t::discarded);
  return j;
}

// Walks one object's fields, naming errors by path.
class Fields {
 public:
  Fields(const Json& obj, std::string path, std::string& err) : obj_(obj), path_(std::move(path)), err_(err) {}

  // The field under its proto name or JSON name (both may not be present); nullptr if absent/null.
  const Json* get(std::string_view proto_name, std::string_view json_name = {}) {
    const Json* found = nullptr;
    for (auto name : {proto_name, json_name}) {
      if (name.empty()) continue;
      auto it = obj_.find(name);
      if (it == obj_.end()) continue;
      ++used_;
      if (found != nullptr) return fail(std::string(proto_name), "duplicate field (both names given)");
      found = &*it;
    }
    if (found != nullptr && found->is_null()) return nullptr;
    return found;
  }
  // After every get(): unknown fields are errors.
  bool finish() {
    if (!err_.empty()) return false;
    if (used_ != obj_.size()) {
      err_ = at("") + "unknown field";
      return false;
    }
    return true;
  }
  std::string at(std::string_view name) const {
    std::string p = path_;
    if (!name.empty()) p += (p.empty() ? "" : "/") + std::string(name);
    return p.empty() ? "" : p + ": ";
  }
  const Json* fail(const std::string& name, std::string_view msg) {
    if (err_.empty()) err_ = at(name) + std::string(msg);
    return nullptr;
  }

 private:
  const Json& obj_;
  std::string path_;
  std::string& err_;
  std::size_t used_ = 0;
};

bool read_uint(const Json& j, std::uint64_t max, std::uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return out <= max;
  }
  if (j.is_number_integer()) return false;  // negative
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (!(d >= 0) || d != std::floor(d) || d > static_cast<double>(max)) return false;
    out = static_cast<std::uint64_t>(d);
    return true;
  }
  if (j.is_string()) {
    auto v = parse_u64(j.get_ref<const std::string&>(), max);
    if (!v) return false;
    out = *v;
    return true;
  }
  return false;
}

template <class E, class NameFn>
bool read_enum(const Json& j, int max, NameFn from_name, E& out) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    // protojson takes the exact enum value name.
    for (int i = 0; i <= max; ++i) {
      auto u = static_cast<E>(i);
      if (from_name(u) == s) {
        out = u;
        return true;
      }
    }
    return false;
  }
  std::uint64_t v = 0;
  if (!j.is_number() || !read_uint(j, static_cast<std::uint64_t>(max), v)) return false;
  out = static_cast<E>(v);
  return true;
}

bool read_string(Fields& f, const char* name, const char* json_name, std::string& out) {
  const Json* j = f.get(name, json_name);
  if (j == nullptr) return true;
  if (!j->is_string()) {
    f.fail(name, "expected string");
    return false;
  }
  out = j->get<std::string>();
  return true;
}

template <class I>
bool read_int_field(Fields& f, const char* name, const char* json_name, std::uint64_t max, I& out) {
  const Json* j = f.get(name, json_name);
  if (j == nullptr) return true;
  std::uint64_t v = 0;
  if (!read_uint(*j, max, v)) {
    f.fail(name, "expected an unsigned integer up to " + std::to_string(max));
    return false;
  }
  out = static_cast<I>(v);
  return true;
}

template <class T, class Fn>
bool read_array(Fields& f, const char* name, const char* json_name, std::size_t max, const std::string& path,
                std::vector<T>& out, Fn each) {
  const Json* j = f.get(name, json_name);
  if (j == nullptr) return true;
  if (!j->is_array()) {
    f.fail(name, "expected array");
    return false;
  }
  if (j->size() > max) {
    f.fail(name, "more than " + std::to_string(max) + " elements");
    return false;
  }
  out.reserve(j->size());
  for (std::size_t i = 0; i < j->size(); ++i) {
    std::string p = (path.empty() ? "" : path + "/") + name + "/" + std::to_string(i);
    if (!(*j)[i].is_object()) {
      f.fail(std::string(name) + "/" + std::to_string(i), "expected object");
      return false;
    }
    out.emplace_back();
    if (!each((*j)[i], p, out.back())) return false;
  }
  return true;
}

Status finish(std::string& err) {
  if (err.empty()) return {};
  return make_error(Errc::parse_error, err);
}

}  // namespace

Result<Request> decode_request(std::string_view text, const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes)
    return make_error(Errc::limit_exceeded, "request larger than " + std::to_string(limits.max_bytes) + " bytes");
  std::string err;
  Json j = parse_strict(text, err);
  if (!err.empty()) return make_error(Errc::parse_error, err);
  if (!j.is_object()) return make_error(Errc::parse_error, "expected a JSON object");
  Request r;
  Fields top(j, "", err);
  read_string(top, "domain", "", r.domain);
  read_int_field(top, "hits_addend", "hitsAddend", UINT32_MAX, r.hits_addend);
  read_array(top, "descriptors", "", limits.max_descriptors, "", r.descriptors,
             [&](const Json& dj, const std::string& path, Descriptor& d) {
               Fields df(dj, path, err);
               read_array(df, "entries", "", limits.max_entries, path, d.entries,
                          [&](const Json& ej, const std::string& epath, Entry& e) {
                            Fields ef(ej, epath, err);
                            read_string(ef, "key", "", e.key);
                            read_string(ef, "value", "", e.value);
                            return ef.finish();
                          });
               if (const Json* lj = df.get("limit"); lj != nullptr) {
                 if (!lj->is_object()) {
                   df.fail("limit", "expected object");
                   return false;
                 }
                 RateLimitOverride o;
                 Fields lf(*lj, path + "/limit", err);
                 read_int_field(lf, "requests_per_unit", "requestsPerUnit", UINT32_MAX, o.requests_per_unit);
                 if (const Json* uj = lf.get("unit"); uj != nullptr && !read_enum(*uj, 7, unit_name, o.unit))
                   lf.fail("unit", "expected a unit name (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR)");
                 if (!lf.finish()) return false;
                 d.limit = o;
               }
               if (const Json* hj = df.get("hits_addend", "hitsAddend"); hj != nullptr) {
                 std::uint64_t hits = 0;
                 if (!read_uint(*hj, UINT64_MAX, hits)) df.fail("hits_addend", "expected an unsigned integer");
                 else d.hits_addend = hits;
               }
               return df.finish();
             });
  top.finish();
  if (auto st = finish(err); !st.ok()) return std::move(st).error();
  return r;
}

Result<Response> decode_response(std::string_view text, const DecodeLimits& limits) {
  if (text.size() > limits.max_bytes)
    return make_error(Errc::limit_exceeded, "response larger than " + std::to_string(limits.max_bytes) + " bytes");
  std::string err;
  Json j = parse_strict(text, err);
  if (!err.empty()) return make_error(Errc::parse_error, err);
  if (!j.is_object()) return make_error(Errc::parse_error, "expected a JSON object");
  Response r;
  Fields top(j, "", err);
  if (const Json* c = top.get("overall_code", "overallCode"); c != nullptr && !read_enum(*c, 2, code_name, r.overall_code))
    top.fail("overallCode", "expected OK or OVER_LIMIT");
  read_array(top, "statuses", "", limits.max_descriptors, "", r.statuses,
             [&](const Json& sj, const std::string& path, DescriptorStatus& s) {
               Fields sf(sj, path, err);
               if (const Json* c = sf.get("code"); c != nullptr && !read_enum(*c, 2, code_name, s.code))
                 sf.fail("code", "expected OK or OVER_LIMIT");
               if (const Json* lj = sf.get("current_limit", "currentLimit"); lj != nullptr) {
                 if (!lj->is_object()) {
                   sf.fail("currentLimit", "expected object");
                   return false;
                 }
                 CurrentLimit cl;
                 Fields lf(*lj, path + "/currentLimit", err);
                 read_int_field(lf, "requests_per_unit", "requestsPerUnit", UINT32_MAX, cl.requests_per_unit);
                 if (const Json* uj = lf.get("unit"); uj != nullptr && !read_enum(*uj, 7, unit_name, cl.unit))
                   lf.fail("unit", "expected a unit name");
                 read_string(lf, "name", "", cl.name);
                 if (!lf.finish()) return false;
                 s.current_limit = cl;
               }
               read_int_field(sf, "limit_remaining", "limitRemaining", UINT32_MAX, s.limit_remaining);
               if (const Json* dj = sf.get("duration_until_reset", "durationUntilReset"); dj != nullptr) {
                 auto d = dj->is_string() ? parse_proto_duration(dj->get_ref<const std::string&>()) : std::nullopt;
                 if (!d) sf.fail("durationUntilReset", "expected a duration such as \"1.5s\"");
                 else s.duration_until_reset = *d;
               }
               // Fields of newer protos we do not use (quota, headers) are tolerated in responses.
               for (const char* extra : {"quota", "response_headers_to_add", "responseHeadersToAdd",
                                         "request_headers_to_add", "requestHeadersToAdd", "raw_body", "rawBody",
                                         "dynamic_metadata", "dynamicMetadata"})
                 (void)sf.get(extra);
               return sf.finish();
             });
  for (const char* extra : {"response_headers_to_add", "responseHeadersToAdd", "request_headers_to_add",
                            "requestHeadersToAdd", "raw_body", "rawBody", "dynamic_metadata", "dynamicMetadata", "quota"})
    (void)top.get(extra);
  top.finish();
  if (auto st = finish(err); !st.ok()) return std::move(st).error();
  return r;
}

std::string encode_request(const Request& r) {
  using telemetry::append_json_string;
  std::string out = "{\"domain\":";
  append_json_string(out, r.domain);
  out += ",\"descriptors\":[";
  for (std::size_t i = 0; i < r.descriptors.size(); ++i) {
    const auto& d = r.descriptors[i];
    if (i) out += ',';
    out += "{\"entries\":[";
    for (std::size_t k = 0; k < d.entries.size(); ++k) {
      if (k) out += ',';
      out += "{\"key\":";
      append_json_string(out, d.entries[k].key);
      if (!d.entries[k].value.empty()) {
        out += ",\"value\":";
        append_json_string(out, d.entries[k].value);
      }
      out += '}';
    }
    out += ']';
    if (d.limit) {
      out += ",\"limit\":{";
      if (d.limit->requests_per_unit) out += "\"requestsPerUnit\":" + std::to_string(d.limit->requests_per_unit) + ",";
      out += "\"unit\":\"";
      out += unit_name(d.limit->unit);
      out += "\"}";
    }
    if (d.hits_addend) out += ",\"hitsAddend\":\"" + std::to_string(*d.hits_addend) + "\"";
    out += '}';
  }
  out += ']';
  if (r.hits_addend) out += ",\"hitsAddend\":" + std::to_string(r.hits_addend);
  out += '}';
  return out;
}

std::string encode_response(const Response& r) {
  std::string out;
  out.reserve(96 + 128 * r.statuses.size());
  out += "{\"overallCode\":\"";
  out += code_name(r.overall_code);
  out += "\",\"statuses\":[";
  for (std::size_t i = 0; i < r.statuses.size(); ++i) {
    const auto& s = r.statuses[i];
    if (i) out += ',';
    out += "{\"code\":\"";
    out += code_name(s.code);
    out += '"';
    if (s.current_limit) {
      out += ",\"currentLimit\":{";
      bool first = true;
      if (!s.current_limit->name.empty()) {
        out += "\"name\":";
        telemetry::append_json_string(out, s.current_limit->name);
        first = false;
      }
      if (s.current_limit->requests_per_unit) {
        out += first ? "" : ",";
        out += "\"requestsPerUnit\":" + std::to_string(s.current_limit->requests_per_unit);
        first = false;
      }
      if (s.current_limit->unit != Unit::unknown) {
        out += first ? "\"unit\":\"" : ",\"unit\":\"";
        out += unit_name(s.current_limit->unit);
        out += '"';
      }
      out += '}';
    }
    if (s.limit_remaining) out += ",\"limitRemaining\":" + std::to_string(s.limit_remaining);
    if (s.duration_until_reset) {
      out += ",\"durationUntilReset\":\"";
      out += format_proto_duration(*s.duration_until_reset);
      out += '"';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace pw::limit
