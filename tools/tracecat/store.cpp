#include "store.h"

#include <random>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tracecat {

using namespace pw::telemetry;

namespace {
constexpr std::size_t kStringOverhead = sizeof(std::string) + 48 + 8;  // the string, its index node, its slot
constexpr std::size_t kTraceOverhead = sizeof(TraceId) + 32 + 24;      // map node, order_ entry
}  // namespace

std::string_view truncate_utf8(std::string_view s, std::size_t max, std::string& scratch) {
  if (s.size() <= max) return s;
  std::size_t keep = max > kTruncationMarker.size() ? max - kTruncationMarker.size() : 0;
  // Back up to the start of a UTF-8 sequence (not onto a continuation byte 10xxxxxx).
  while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80) --keep;
  scratch.assign(s.substr(0, keep));
  scratch += kTruncationMarker;
  return scratch;
}

Interner::Interner() {
  strings_.push_back(std::make_unique<std::string>());
  refs_.push_back(1);  // id 0: "", never freed
  index_.emplace(*strings_.back(), 0);
}

std::uint32_t Interner::intern(std::string_view s) {
  auto it = index_.find(s);
  if (it != index_.end()) {
    ++refs_[it->second];
    return it->second;
  }
  std::uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    strings_[id] = std::make_unique<std::string>(s);
    refs_[id] = 1;
  } else {
    strings_.push_back(std::make_unique<std::string>(s));
    refs_.push_back(1);
    id = static_cast<std::uint32_t>(strings_.size() - 1);
  }
  index_.emplace(*strings_[id], id);
  bytes_ += s.size() + kStringOverhead;
  return id;
}

void Interner::release(std::uint32_t id) noexcept {
  if (id == 0 || refs_[id] == 0) return;
  if (--refs_[id] > 0) return;
  bytes_ -= strings_[id]->size() + kStringOverhead;
  index_.erase(std::string_view(*strings_[id]));
  strings_[id].reset(new std::string());  // keeps get() valid (empty) for a stale id
  free_.push_back(id);
}

std::uint64_t Trace::start() const noexcept {
  std::uint64_t t = UINT64_MAX;
  for (const auto& s : spans) t = std::min(t, s.start);
  return spans.empty() ? 0 : t;
}

std::uint64_t Trace::end() const noexcept {
  std::uint64_t t = 0;
  for (const auto& s : spans) t = std::max(t, s.end);
  return t;
}

std::size_t Trace::memory() const noexcept {
  // An unordered_set node is about a pointer, the value and its hash; plus the bucket array.
  const std::size_t id_bytes = ids ? ids->size() * 3 * sizeof(void*) + ids->bucket_count() * sizeof(void*) : 0;
  return sizeof(Trace) + spans.capacity() * sizeof(Span) + attrs.capacity() * sizeof(Attr) + text.capacity() + id_bytes;
}

namespace {
// A per-process random key: the ids are the client's choice (murmur3's 64-bit finaliser over the
// id xor the key).
const std::uint64_t kIdHashKey = std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32) | 1;
}  // namespace

std::size_t Trace::IdHash::operator()(std::uint64_t v) const noexcept {
  v ^= kIdHashKey;
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ULL;
  v ^= v >> 33;
  return static_cast<std::size_t>(v);
}

namespace {
constexpr std::size_t kLinearIds = 32;
std::uint64_t id_bits(const SpanId& id) {
  std::uint64_t v;
  std::memcpy(&v, id.bytes.data(), 8);
  return v;
}
}  // namespace

bool Store::seen(Trace& t, const SpanId& id) {
  if (!t.ids) {
    for (const Span& s : t.spans)
      if (s.span_id == id) return true;
    if (t.spans.size() < kLinearIds) return false;
    t.ids = std::make_unique<std::unordered_set<std::uint64_t, Trace::IdHash>>();
    for (const Span& s : t.spans) t.ids->insert(id_bits(s.span_id));
  }
  return !t.ids->insert(id_bits(id)).second;
}

Store::Store(std::uint64_t max_spans, pw::Clock& clock, std::uint64_t max_bytes)
    : max_spans_(max_spans), max_bytes_(max_bytes), clock_(clock) {}

Store::~Store() = default;

void Store::on_span(const ResourceView& r, const ScopeView&, const SpanView& v) {
  auto [it, fresh] = traces_.try_emplace(v.trace_id);
  if (fresh && !evicted_.empty() && evicted_.count(v.trace_id)) {
    traces_.erase(it);
    ++stats_.late_spans;
    return;
  }
  if (fresh) {
    it->second = std::make_unique<Trace>();
    trace_bytes_ += it->second->memory();
    it->second->id = v.trace_id;
    it->second->seq = next_seq_++;
    order_.emplace_back(it->second->seq, v.trace_id);
    ++stats_.traces;
  }
  Trace& t = *it->second;
  trace_bytes_ -= t.memory();
  if (!fresh && seen(t, v.span_id)) {  // an exporter's retry: the first copy stays
    trace_bytes_ += t.memory();
    ++stats_.duplicate_spans;
    return;
  }
  std::string scratch;
  if (r.service_name != last_service_text_) {
    // The cache holds its own reference, so the id cannot be freed and reused under it.
    std::uint32_t old = last_service_;
    last_service_text_ = r.service_name;
    last_service_ = strings_.intern(truncate_utf8(r.service_name, kMaxNameBytes, scratch));
    strings_.release(old);
  }
  strings_.retain(last_service_);
  Span s;
  s.span_id = v.span_id;
  s.parent = v.parent_span_id;
  s.start = v.start_time_unix_nano;
  s.end = v.end_time_unix_nano;
  s.name = strings_.intern(truncate_utf8(v.name, kMaxNameBytes, scratch));
  s.service = last_service_;
  s.kind = static_cast<std::uint8_t>(v.kind);
  s.status = static_cast<std::uint8_t>(v.status_code);
  s.attr_begin = static_cast<std::uint32_t>(t.attrs.size());
  std::size_t n = std::min<std::size_t>(v.attributes.size(), kMaxAttributes);
  s.attr_count = static_cast<std::uint16_t>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& kv = v.attributes[i];
    Attr a{strings_.intern(truncate_utf8(kv.key, kMaxNameBytes, scratch)), static_cast<std::uint32_t>(t.text.size()), 0,
           ValueType::string};
    char buf[32];
    switch (kv.value.type) {
      case AnyValue::Type::string:
      case AnyValue::Type::bytes: t.text.append(truncate_utf8(kv.value.s, kMaxAttrValueBytes, scratch)); break;
      case AnyValue::Type::int64: {
        auto r2 = std::to_chars(buf, buf + sizeof buf, kv.value.i);
        t.text.append(buf, r2.ptr);
        a.type = ValueType::number;
        break;
      }
      case AnyValue::Type::double_: {
        auto r2 = std::to_chars(buf, buf + sizeof buf, kv.value.d);
        t.text.append(buf, r2.ptr);
        a.type = std::isfinite(kv.value.d) ? ValueType::number : ValueType::string;
        break;
      }
      case AnyValue::Type::boolean:
        t.text.append(kv.value.b ? "true" : "false");
        a.type = ValueType::boolean;
        break;
      case AnyValue::Type::empty:
        t.text.append("null");
        a.type = ValueType::json;
        break;
      default: {
        std::string j = value_text(kv.value);
        if (j.size() > kMaxAttrValueBytes) {
          // Cut JSON is no longer JSON: it is written as a string then.
          t.text.append(truncate_utf8(j, kMaxAttrValueBytes, scratch));
        } else {
          t.text.append(j);
          a.type = ValueType::json;
        }
      }
    }
    a.len = static_cast<std::uint32_t>(t.text.size() - a.off);
    t.attrs.push_back(a);
  }
  if (!v.status_message.empty()) {
    s.status_off = static_cast<std::uint32_t>(t.text.size());
    std::string_view msg = truncate_utf8(v.status_message, kMaxStatusMessageBytes, scratch);
    s.status_len = static_cast<std::uint16_t>(msg.size());
    t.text.append(msg);
  }
  t.spans.push_back(s);
  t.last_update = now_;
  trace_bytes_ += t.memory();
  ++stats_.spans;
  ++stats_.ingested;
}

void Store::trim() {
  while ((stats_.spans > max_spans_ || memory() > max_bytes_) && !order_.empty()) evict_front();
}

void Store::evict_front() {
  {
    auto [seq, id] = order_.front();
    order_.pop_front();
    auto it = traces_.find(id);
    if (it == traces_.end() || it->second->seq != seq) return;
    const Trace& t = *it->second;
    for (const auto& sp : t.spans) {
      strings_.release(sp.name);
      strings_.release(sp.service);
    }
    for (const auto& a : t.attrs) strings_.release(a.key);
    trace_bytes_ -= t.memory();
    stats_.spans -= it->second->spans.size();
    stats_.evicted_spans += it->second->spans.size();
    ++stats_.evicted_traces;
    --stats_.traces;
    traces_.erase(it);
    evicted_.emplace(id, true);
    evicted_order_.push_back(id);
    if (evicted_order_.size() > 65536) {
      evicted_.erase(evicted_order_.front());
      evicted_order_.pop_front();
    }
  }
}

const Trace* Store::find(const TraceId& id) const {
  auto it = traces_.find(id);
  return it == traces_.end() ? nullptr : it->second.get();
}

std::vector<const Trace*> Store::traces() const {
  std::vector<const Trace*> out;
  out.reserve(traces_.size());
  for (const auto& [seq, id] : order_) {
    auto it = traces_.find(id);
    if (it != traces_.end() && it->second->seq == seq) out.push_back(it->second.get());
  }
  return out;
}

std::vector<Trace*> Store::settled(pw::Duration quiet, bool all) {
  std::vector<Trace*> out;
  auto now = clock_.now();
  for (const auto& [seq, id] : order_) {
    auto it = traces_.find(id);
    if (it == traces_.end() || it->second->seq != seq || it->second->emitted) continue;
    if (all || now - it->second->last_update >= quiet) out.push_back(it->second.get());
  }
  return out;
}

std::size_t Store::memory() const noexcept {
  return strings_.bytes() + trace_bytes_ + traces_.bucket_count() * sizeof(void*) + traces_.size() * kTraceOverhead +
         evicted_order_.size() * (sizeof(TraceId) * 2 + 32);
}

}  // namespace tracecat
