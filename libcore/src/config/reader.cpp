#include "pw/config/reader.h"

#include "pw/base/duration.h"
#include "pw/base/strings.h"

namespace pw::config {

std::string Context::pointer() const {
  std::string out;
  for (const auto& t : path_) {
    out += '/';
    out += t;
  }
  return out;
}

void Validation::error_at(std::initializer_list<PathPart> rel, std::string message) {
  std::string p = c_.pointer();
  for (const auto& part : rel) {
    p += '/';
    p += part.token;
  }
  c_.error_at(std::move(p), std::move(message));
}

const char* json_type_name(const Json& j) noexcept {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    case Json::value_t::string: return "string";
    case Json::value_t::array: return "array";
    case Json::value_t::object: return "object";
    default: return "value";
  }
}

std::string quote(std::string_view s) { return '"' + escape_for_log(s, 64) + '"'; }

std::string expected_one_of(const std::vector<std::string_view>& names) {
  std::string out = "expected one of ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += quote(names[i]);
  }
  return out;
}

bool decode_value(Context& c, const Json& j, bool& out) {
  if (!j.is_boolean()) {
    c.error(std::string("expected boolean, got ") + json_type_name(j));
    return false;
  }
  out = j.get<bool>();
  return true;
}

bool decode_value(Context& c, const Json& j, std::string& out) {
  if (!j.is_string()) {
    c.error(std::string("expected string, got ") + json_type_name(j));
    return false;
  }
  out = j.get<std::string>();
  return true;
}

bool decode_value(Context& c, const Json& j, double& out) {
  if (!j.is_number()) {
    c.error(std::string("expected number, got ") + json_type_name(j));
    return false;
  }
  out = j.get<double>();
  return true;
}

bool decode_value(Context& c, const Json& j, Duration& out) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    // A bare number was milliseconds in config files before the one grammar (pipeworks(7)).
    auto d = parse_duration(s, std::chrono::milliseconds(1));
    if (d) {
      if (!d->deprecation.empty()) c.warn(d->deprecation);
      out = d->value;
      return true;
    }
    c.error("expected duration like \"250ms\" or \"10s\", got " + quote(s));
  } else {
    c.error(std::string("expected duration like \"250ms\" or \"10s\", got ") + json_type_name(j));
  }
  return false;
}

bool decode_value(Context& c, const Json& j, ByteSize& out) {
  if (j.is_number_unsigned()) {
    out.bytes = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (auto n = parse_size(s)) {
      out.bytes = *n;
      return true;
    }
    c.error("expected size like \"64k\" or \"1MiB\", got " + quote(s));
  } else {
    c.error(std::string("expected size like \"64k\" or \"1MiB\", got ") + json_type_name(j));
  }
  return false;
}

namespace {
std::string to_string_i128(__int128 v) {
  if (v < 0) return "-" + to_string_i128(-v);
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return s;
}
}  // namespace

bool decode_integer(Context& c, const Json& j, __int128 lo, __int128 hi, bool show_range, __int128& out) {
  std::string expected = "expected integer";
  if (show_range) expected += " " + to_string_i128(lo) + ".." + to_string_i128(hi);
  __int128 v;
  if (j.is_number_unsigned()) {
    v = j.get<std::uint64_t>();
  } else if (j.is_number_integer()) {
    v = j.get<std::int64_t>();
  } else {
    c.error(expected + ", got " + json_type_name(j));
    return false;
  }
  if (v < lo || v > hi) {
    c.error(expected + ", got " + to_string_i128(v));
    return false;
  }
  out = v;
  return true;
}

bool apply_check(Context& c, const std::string& v, const OneOf& o) {
  for (auto name : o.values)
    if (name == v) return true;
  c.error(expected_one_of(o.values) + ", got " + quote(v));
  return false;
}

void ObjectReader::finish() {
  for (const auto& [key, value] : obj_.items()) {
    bool declared = false;
    for (auto k : known_) declared = declared || k == key;
    if (declared) continue;
    std::string msg = "unknown field " + quote(key);
    std::string near = suggest(key, known_);
    if (!near.empty()) msg += " (did you mean " + quote(near) + "?)";
    c_.error(std::move(msg));
  }
}

}  // namespace pw::config
