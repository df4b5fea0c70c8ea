// The numbers of a run: counters, latency histograms, a per-second timeline and the client's
// own diagnosis. One Summary is built per run (from the threads' statistics, merged after the
// run without locks), and `loadgen report` builds one by merging summaries and per-request
// result lines. Both paths count an ended request with the same rules (count(), has_latency(),
// is_failed(), second_of() below), so merging the summaries of two runs gives what merging
// their result streams gives.
//
// The JSON form is documented in loadgen.json(5); its "format" field is bumped on any
// incompatible change.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hdr_histogram.h"
#include "pw/base/result.h"

namespace loadgen {

inline constexpr int kSummaryFormat = 1;
// Times are epoch microseconds below this (the year 2255), so that they fit nanosecond clocks.
inline constexpr std::int64_t kMaxEpochUs = 9'000'000'000'000'000;

enum class ErrorClass : std::uint8_t { none, connect, timeout, reset, parse, tls, other };
inline constexpr std::size_t kErrorClasses = 7;
std::string_view error_class_name(ErrorClass c) noexcept;  // "" for none
ErrorClass error_class_from_name(std::string_view name) noexcept;  // other when unknown

// Requests sent later than this after their intended time count as late in the diagnosis.
inline constexpr std::int64_t kLateSendUs = 5000;
// The open loop's send lag is called a noticeable share of the latencies when its p50 is more
// than this fraction of the corrected latency's p50.
inline constexpr double kSendLagShareWarn = 0.10;
// An error message kept is cut to this many bytes.
inline constexpr std::size_t kMaxErrorMessage = 256;

struct Counters {
  std::uint64_t requests = 0;   // ended: a response or an error
  std::uint64_t responses = 0;  // a complete response, any status
  std::uint64_t failed = 0;     // an error, or a status >= 400
  std::array<std::uint64_t, kErrorClasses> errors{};
  // The first error message seen in each class ("connect: connection refused", "tls handshake:
  // certificate verify failed: self-signed certificate", the parser's reason), at most
  // kMaxErrorMessage bytes each: why the errors happened, next to how many.
  std::array<std::string, kErrorClasses> first_error{};
  std::array<std::uint64_t, 1000> status{};
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint64_t conns_opened = 0, conns_failed = 0, reused = 0;
  // Open loop.
  std::uint64_t sent = 0;          // requests written (or given to a connection being opened)
  std::uint64_t late_sends = 0;    // sent > kLateSendUs late while a connection was free
  std::uint64_t waited_sends = 0;  // sent > kLateSendUs late because every connection was busy
  std::uint64_t unsent = 0;        // due before the end but never sent

  void add(const Counters& o) noexcept;
  std::uint64_t error_total() const noexcept;
};

// One second of the timeline (epoch seconds), with the latencies of the requests that ended in
// it, as sparse histogram counts (index -> count).
struct Bucket {
  std::uint64_t requests = 0;
  std::uint64_t failed = 0;
  std::int64_t max_us = 0;
  std::map<std::uint32_t, std::uint64_t> counts;
  void add(const Bucket& o);
  Histogram histogram() const;
  void add_histogram(const Histogram& h);
};

// Time spans [from, to) in epoch microseconds, sorted and disjoint: when runs were running.
// Merging the summaries of runs that followed each other keeps the gap between them out of
// the durations (and so out of the rates); runs side by side (several machines) overlap and
// count once. At most kMaxSpans: beyond, the two spans closest to each other are joined.
using Span = std::pair<std::int64_t, std::int64_t>;
inline constexpr std::size_t kMaxSpans = 4096;
void add_span(std::vector<Span>& spans, Span s);
// Sorts, joins overlaps and bounds any list of spans: O(n log n).
void normalize_spans(std::vector<Span>& spans);
double spans_seconds(const std::vector<Span>& spans) noexcept;
// Microseconds of [from, to) covered by the spans.
std::int64_t covered_us(const std::vector<Span>& spans, std::int64_t from, std::int64_t to) noexcept;

// One request's outcome in the units both paths share: epoch microseconds.
struct Outcome {
  std::int64_t intended_us = 0, sent_us = 0, end_us = 0;
  int status = 0;  // 0 when no response
  ErrorClass error = ErrorClass::none;
  std::string_view error_message;  // why, when error is set (may be empty); valid during record()
  bool reused = false;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
};

inline bool has_latency(const Outcome& o) noexcept { return o.status != 0 || o.error == ErrorClass::timeout; }
inline bool is_failed(const Outcome& o) noexcept { return o.error != ErrorClass::none || o.status >= 400; }
inline std::int64_t second_of(std::int64_t epoch_us) noexcept {
  return epoch_us >= 0 ? epoch_us / 1'000'000 : -((-epoch_us + 999'999) / 1'000'000);
}
// The counters' part of recording an outcome.
void count(Counters& c, const Outcome& o) noexcept;

struct Summary {
  std::string version;
  std::string mode;  // "closed", "open", or "mixed" after merging both
  std::vector<std::string> targets;
  std::vector<std::string> labels;
  unsigned threads = 0, connections = 0;
  std::uint64_t runs = 0;
  std::int64_t started_us = 0, ended_us = 0;  // epoch µs; 0 when unknown
  std::vector<Span> spans;       // when the runs ran (one span per run, overlaps joined)
  std::vector<Span> send_spans;  // open loop: the runs' send windows

  Counters c;
  Histogram latency;      // corrected: from the intended send time (= actual send, closed loop)
  Histogram uncorrected;  // from the actual send
  Histogram send_lag;     // actual - intended send, open loop
  double target_rate = 0;    // requests/s offered by the schedule on average (open loop)
  double send_window_s = 0;  // the time during which the schedule was sending (of send_spans)
  std::vector<double> thread_cpu;  // busy fraction of each client thread
  bool behind = false;
  std::vector<std::string> diagnosis;
  std::map<std::int64_t, Bucket> timeline;

  // The single place where an ended request is counted (summaries from runs and from result
  // lines agree because both call it).
  void record(const Outcome& o);
  void merge(const Summary& o);

  // The time the runs ran: the length of `spans` (started to ended when there are none).
  double duration_s() const noexcept;
  double rps() const noexcept;         // responses per second of duration_s()
  // A run's spans from its started/ended times and send window (run_load, old summaries).
  void set_run_spans();
  double error_rate() const noexcept;  // failed / requests
  double achieved_rate() const noexcept;  // open loop: sent per second of the send window
  // Open loop: send lag p50 / corrected latency p50 (0 without both); the client's own delay
  // as a share of what it reports as the server's latency.
  double send_lag_share() const noexcept;
  bool send_lag_noticeable() const noexcept;
  // The warning sentence when send_lag_noticeable(), else "".
  std::string send_lag_warning() const;
  // After merging: the send-lag sentence of the diagnosis is the merged numbers', not one per run.
  void refresh_send_lag_warning();
  // Fills behind/diagnosis from the counters (run time only).
  void diagnose();

  nlohmann::ordered_json to_json() const;
  static pw::Result<Summary> from_json(const nlohmann::json& j, std::string_view where);
  // A result line (--results). Errors name `where`.
  pw::Status add_result(const nlohmann::json& j, std::string_view where);
};

// Latency figures of a histogram in milliseconds, as they appear in JSON and text.
nlohmann::ordered_json latency_json(const Histogram& h);

inline constexpr std::array<double, 6> kPercentiles{50, 90, 99, 99.9, 99.99, 99.999};
inline constexpr std::array<const char*, 6> kPercentileNames{"p50", "p90", "p99", "p99.9", "p99.99", "p99.999"};

}  // namespace loadgen
