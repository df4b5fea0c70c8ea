// tracecat's span store: compact records grouped by trace, bounded by a span count.
//
// Memory is the point: a span is a 56-byte record, its attributes 16 bytes each plus their
// bytes in the trace's text arena; operation names, services and attribute keys are interned
// (reference-counted: a string is freed when the last trace using it is evicted). Past
// max_spans or max_bytes (checked by trim() after each request or line), whole traces are
// evicted, oldest (first seen) first, and the ids of the last 65,536 evicted traces are
// remembered so that their late spans are dropped (and counted) instead of starting a partial
// trace. What one span can hold is capped at ingest (the limits below): longer text is cut at a
// UTF-8 boundary and ends with kTruncationMarker.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pw/base/clock.h"
#include "pw/telemetry/otlp_json.h"

namespace tracecat {

using pw::telemetry::SpanId;
using pw::telemetry::TraceId;

// Per-span limits applied at ingest (documented in tracecat(1)).
inline constexpr std::size_t kMaxNameBytes = 1024;          // span name, service name, attribute key
inline constexpr std::size_t kMaxAttrValueBytes = 4096;     // one attribute value as text
inline constexpr std::size_t kMaxStatusMessageBytes = 1024;
inline constexpr std::size_t kMaxAttributes = 128;          // per span (the OpenTelemetry SDK default)
inline constexpr std::string_view kTruncationMarker = "…[truncated]";

// s cut to at most `max` bytes (marker included) at a UTF-8 boundary, with kTruncationMarker.
std::string_view truncate_utf8(std::string_view s, std::size_t max, std::string& scratch);

// Strings seen many times (service and operation names, attribute keys), stored once, with a
// reference count: intern() and retain() add one, release() removes one and frees the string
// (its id is reused) at zero. Id 0 is "" and never freed.
class Interner {
 public:
  Interner();
  std::uint32_t intern(std::string_view s);
  void retain(std::uint32_t id) noexcept { ++refs_[id]; }
  void release(std::uint32_t id) noexcept;
  std::string_view get(std::uint32_t id) const noexcept { return *strings_[id]; }
  std::size_t size() const noexcept { return strings_.size() - free_.size(); }  // live strings
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint32_t refs(std::uint32_t id) const noexcept { return refs_[id]; }

 private:
  std::vector<std::unique_ptr<std::string>> strings_;
  std::vector<std::uint32_t> refs_;
  std::vector<std::uint32_t> free_;  // ids to reuse
  std::unordered_map<std::string_view, std::uint32_t> index_;
  std::size_t bytes_ = 0;
};

enum class ValueType : std::uint8_t { string, number, boolean, json };  // how --json writes it

struct Attr {
  std::uint32_t key;    // interned
  std::uint32_t off;    // value text in Trace::text
  std::uint32_t len;
  ValueType type;
};

struct Span {
  SpanId span_id;
  SpanId parent;  // all zeros: none
  std::uint64_t start = 0, end = 0;  // unix nanoseconds
  std::uint32_t name = 0, service = 0;  // interned
  std::uint32_t attr_begin = 0;      // in Trace::attrs
  std::uint32_t status_off = 0;      // status message in Trace::text
  std::uint16_t attr_count = 0;
  std::uint16_t status_len = 0;
  std::uint8_t kind = 0;
  std::uint8_t status = 0;           // 0 unset, 1 ok, 2 error
  std::uint64_t duration() const noexcept { return end > start ? end - start : 0; }
  bool error() const noexcept { return status == 2; }
};

struct Trace {
  TraceId id;
  std::uint64_t seq = 0;  // arrival order of its first span
  std::vector<Span> spans;
  std::vector<Attr> attrs;
  std::string text;
  // Span ids seen, once the trace is past kLinearIds spans (below, a scan is cheaper): an
  // exporter's retry delivers spans twice, and the second copy is dropped.
  struct IdHash {  // span ids come from clients: mixed, so chosen ids cannot share one bucket
    std::size_t operator()(std::uint64_t v) const noexcept;
  };
  std::unique_ptr<std::unordered_set<std::uint64_t, IdHash>> ids;
  pw::MonoTime last_update{};
  bool emitted = false;  // --follow: already printed

  std::string_view str(std::uint32_t off, std::uint32_t len) const noexcept {
    return std::string_view(text).substr(off, len);
  }
  std::uint64_t start() const noexcept;
  std::uint64_t end() const noexcept;
  std::size_t memory() const noexcept;
};

struct TraceIdHash {
  std::size_t operator()(const TraceId& id) const noexcept {
    std::uint64_t h;
    std::memcpy(&h, id.bytes.data() + 8, 8);  // the random half
    return static_cast<std::size_t>(h);
  }
};

struct StoreStats {
  std::uint64_t spans = 0;           // in the store now
  std::uint64_t traces = 0;
  std::uint64_t ingested = 0;        // ever
  std::uint64_t evicted_traces = 0;
  std::uint64_t evicted_spans = 0;
  std::uint64_t late_spans = 0;      // dropped: their trace had been evicted
  std::uint64_t duplicate_spans = 0; // dropped: a span with that trace and span id was stored already
};

class Store final : public pw::telemetry::SpanSink {
 public:
  static constexpr std::uint64_t kDefaultMaxBytes = 512ull << 20;
  explicit Store(std::uint64_t max_spans, pw::Clock& clock = pw::SystemClock::instance(),
                 std::uint64_t max_bytes = kDefaultMaxBytes);
  ~Store() override;

  void on_span(const pw::telemetry::ResourceView& r, const pw::telemetry::ScopeView& s,
               const pw::telemetry::SpanView& v) override;

  // Call before each document: its spans are stamped with this arrival time (one clock read
  // per document, not per span).
  void begin_document() { now_ = clock_.now(); }
  // Evicts whole traces, oldest first, until at most max_spans remain and memory() is at most
  // max_bytes.
  void trim();

  const Trace* find(const TraceId& id) const;
  // Every trace, in arrival order.
  std::vector<const Trace*> traces() const;
  // Traces not emitted yet whose last span arrived at least `quiet` ago (or all, when `all`).
  std::vector<Trace*> settled(pw::Duration quiet, bool all);

  Interner& strings() noexcept { return strings_; }
  const Interner& strings() const noexcept { return strings_; }
  const StoreStats& stats() const noexcept { return stats_; }
  std::size_t memory() const noexcept;  // bytes held by records, arenas and the interner (approximate, O(1))

 private:
  void evict_front();
  bool seen(Trace& t, const SpanId& id);  // records id; true when it was there already

  std::uint64_t max_spans_;
  std::uint64_t max_bytes_;
  std::size_t trace_bytes_ = 0;  // sum of Trace::memory()
  pw::Clock& clock_;
  Interner strings_;
  std::unordered_map<TraceId, std::unique_ptr<Trace>, TraceIdHash> traces_;
  std::deque<std::pair<std::uint64_t, TraceId>> order_;  // (seq, id), oldest first
  std::uint64_t next_seq_ = 0;
  std::unordered_map<TraceId, bool, TraceIdHash> evicted_;  // recently evicted ids
  std::deque<TraceId> evicted_order_;
  StoreStats stats_;
  // The last resource seen, so that service.name is interned once per resource, not per span.
  std::string last_service_text_;
  std::uint32_t last_service_ = 0;
  pw::MonoTime now_{};
};

}  // namespace tracecat
