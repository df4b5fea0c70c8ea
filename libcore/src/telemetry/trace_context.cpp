#include "pw/telemetry/trace_context.h"

#include <random>

#include "pw/base/strings.h"

namespace pw::telemetry {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Digit values by byte, 0xff for "not a hex digit": one table for W3C (lowercase only), one
// for OTLP/JSON (either case). Span ingest decodes three ids per span, so this is hot.
struct HexTables {
  std::uint8_t lower[256], any[256];
  constexpr HexTables() : lower{}, any{} {
    for (int i = 0; i < 256; ++i) lower[i] = any[i] = 0xff;
    for (int i = 0; i < 10; ++i) lower['0' + i] = any['0' + i] = static_cast<std::uint8_t>(i);
    for (int i = 0; i < 6; ++i) {
      lower['a' + i] = any['a' + i] = static_cast<std::uint8_t>(10 + i);
      any['A' + i] = static_cast<std::uint8_t>(10 + i);
    }
  }
};
constexpr HexTables kHexTables;

std::optional<std::uint8_t> hex_byte(std::string_view s, bool lowercase_only = true) noexcept {
  const std::uint8_t* t = lowercase_only ? kHexTables.lower : kHexTables.any;
  std::uint8_t hi = t[static_cast<unsigned char>(s[0])], lo = t[static_cast<unsigned char>(s[1])];
  if (hi > 15 || lo > 15) return std::nullopt;
  return static_cast<std::uint8_t>(hi << 4 | lo);
}

Error tp_error(std::string what) { return Error(Errc::parse_error, "traceparent: " + std::move(what)); }

bool lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool key_char(char c) noexcept { return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/'; }
bool nblk_chr(char c) noexcept { return c >= 0x21 && c <= 0x7e && c != ',' && c != '='; }

template <std::size_t N>
Id<N> random_id() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  Id<N> id;
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t r = rng();
      for (std::size_t k = 0; k < 8 && i + k < N; ++k) id.bytes[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
    }
  } while (!id.valid());
  return id;
}

}  // namespace

template <std::size_t N>
std::string Id<N>::hex() const {
  std::string s;
  append_hex(s);
  return s;
}

template <std::size_t N>
void Id<N>::append_hex(std::string& out) const {
  std::size_t at = out.size();
  out.resize(at + 2 * N);
  write_hex(std::span<char, 2 * N>(out.data() + at, 2 * N));
}

template <std::size_t N>
void Id<N>::write_hex(std::span<char, 2 * N> out) const noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
}

template <std::size_t N>
std::optional<Id<N>> Id<N>::from_hex(std::string_view s, bool lowercase_only) noexcept {
  if (s.size() != 2 * N) return std::nullopt;
  const std::uint8_t* t = lowercase_only ? kHexTables.lower : kHexTables.any;
  Id<N> id;
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < N; ++i) {
    std::uint8_t hi = t[static_cast<unsigned char>(s[2 * i])], lo = t[static_cast<unsigned char>(s[2 * i + 1])];
    bad |= static_cast<std::uint8_t>((hi | lo) & 0xf0);  // any invalid digit (0xff) sets high bits
    id.bytes[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 15));
  }
  if (bad) return std::nullopt;
  return id;
}

template struct Id<16>;
template struct Id<8>;

TraceId random_trace_id() { return random_id<16>(); }
SpanId random_span_id() { return random_id<8>(); }

// §3.2.2 and §4.3 (versioning): version 00 is exactly 55 characters; a higher version is
// parsed with the version 00 layout and may continue after the flags only behind a '-'.
Result<TraceParent> parse_traceparent(std::string_view v) {
  if (v.size() < 2) return tp_error("too short");
  auto version = hex_byte(v.substr(0, 2));
  if (!version) return tp_error("version: expected 2 lowercase hex digits at offset 0");
  if (*version == 0xff) return tp_error("version: ff is invalid");
  if (v.size() < 55) return tp_error("expected 55 characters, got " + std::to_string(v.size()));
  if (*version == 0 && v.size() != 55) return tp_error("version 00: expected 55 characters, got " + std::to_string(v.size()));
  if (v.size() > 55 && v[55] != '-') return tp_error("expected '-' after trace-flags at offset 55");
  if (v[2] != '-') return tp_error("expected '-' at offset 2");
  if (v[35] != '-') return tp_error("expected '-' at offset 35");
  if (v[52] != '-') return tp_error("expected '-' at offset 52");
  TraceParent tp;
  tp.version = *version;
  auto trace = TraceId::from_hex(v.substr(3, 32));
  if (!trace) return tp_error("trace-id: expected 32 lowercase hex digits at offset 3");
  if (!trace->valid()) return tp_error("trace-id: all zeros is invalid");
  auto parent = SpanId::from_hex(v.substr(36, 16));
  if (!parent) return tp_error("parent-id: expected 16 lowercase hex digits at offset 36");
  if (!parent->valid()) return tp_error("parent-id: all zeros is invalid");
  auto flags = hex_byte(v.substr(53, 2));
  if (!flags) return tp_error("trace-flags: expected 2 lowercase hex digits at offset 53");
  tp.trace_id = *trace;
  tp.parent_id = *parent;
  tp.flags = *flags;
  return tp;
}

std::string format_traceparent(const TraceId& trace, const SpanId& span, std::uint8_t flags) {
  std::string s(kTraceparentSize, '\0');
  write_traceparent(std::span<char, kTraceparentSize>(s.data(), kTraceparentSize), trace, span, flags);
  return s;
}

void write_traceparent(std::span<char, kTraceparentSize> out, const TraceId& trace, const SpanId& span,
                       std::uint8_t flags) noexcept {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  trace.write_hex(out.subspan<3, 32>());
  out[35] = '-';
  span.write_hex(out.subspan<36, 16>());
  out[52] = '-';
  out[53] = kHex[flags >> 4];
  out[54] = kHex[flags & 15];
}

// simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// multi-tenant-key = tenant-id "@" system-id
// tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
bool valid_tracestate_key(std::string_view key) noexcept {
  auto at = key.find('@');
  auto rest_ok = [](std::string_view s) {
    for (std::size_t i = 1; i < s.size(); ++i) if (!key_char(s[i])) return false;
    return true;
  };
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && lcalpha(key[0]) && rest_ok(key);
  }
  std::string_view tenant = key.substr(0, at), system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 && (lcalpha(tenant[0]) || digit(tenant[0])) && rest_ok(tenant) &&
         !system.empty() && system.size() <= 14 && lcalpha(system[0]) && rest_ok(system);
}

// value = 0*255(chr) nblk-chr;  chr = %x20 / nblk-chr;  nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
bool valid_tracestate_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256 || !nblk_chr(value.back())) return false;
  for (char c : value) if (c != ' ' && !nblk_chr(c)) return false;
  return true;
}

Result<TraceState> TraceState::parse(std::string_view value) {
  TraceState ts;
  std::size_t index = 0;
  while (true) {
    auto comma = value.find(',');
    std::string_view member = pw::trim_ows(value.substr(0, comma));  // OWS around list-members (§3.3.1.1)
    if (!member.empty()) {  // §3.3.1.1: empty list-members are allowed
      auto eq = member.find('=');
      if (eq == std::string_view::npos)
        return Error(Errc::parse_error, "tracestate: list-member " + std::to_string(index) + ": missing '='");
      std::string_view k = member.substr(0, eq), v = member.substr(eq + 1);
      if (!valid_tracestate_key(k))
        return Error(Errc::parse_error, "tracestate: list-member " + std::to_string(index) + ": invalid key");
      if (!valid_tracestate_value(v))
        return Error(Errc::parse_error, "tracestate: list-member " + std::to_string(index) + ": invalid value");
      if (ts.get(k))
        return Error(Errc::parse_error, "tracestate: list-member " + std::to_string(index) + ": duplicate key");
      if (ts.m_.size() == kMaxMembers)
        return Error(Errc::parse_error, "tracestate: more than 32 list-members");
      ts.m_.emplace_back(std::string(k), std::string(v));
    }
    ++index;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return ts;
}

std::optional<std::string_view> TraceState::get(std::string_view key) const noexcept {
  for (const auto& [k, v] : m_) if (k == key) return std::string_view(v);
  return std::nullopt;
}

Status TraceState::put(std::string_view key, std::string_view value) {
  if (!valid_tracestate_key(key)) return Error(Errc::invalid_argument, "tracestate: invalid key");
  if (!valid_tracestate_value(value)) return Error(Errc::invalid_argument, "tracestate: invalid value");
  erase(key);
  m_.insert(m_.begin(), {std::string(key), std::string(value)});
  if (m_.size() > kMaxMembers) m_.resize(kMaxMembers);
  return {};
}

void TraceState::erase(std::string_view key) {
  std::erase_if(m_, [&](const auto& kv) { return kv.first == key; });
}

std::string TraceState::to_string() const {
  std::string s;
  for (const auto& [k, v] : m_) {
    if (!s.empty()) s += ',';
    s += k;
    s += '=';
    s += v;
  }
  return s;
}

}  // namespace pw::telemetry
