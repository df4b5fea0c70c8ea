#include "summary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "pw/base/clock.h"
#include "pw/base/rfc3339.h"

namespace loadgen {

using pw::Errc;
using pw::make_error;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {
constexpr std::array<std::string_view, kErrorClasses> kErrorNames{"", "connect", "timeout", "reset", "parse", "tls", "other"};

double ms(std::int64_t us) { return static_cast<double>(us) / 1000.0; }
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }
}  // namespace

std::string_view error_class_name(ErrorClass c) noexcept { return kErrorNames[static_cast<std::size_t>(c)]; }

ErrorClass error_class_from_name(std::string_view name) noexcept {
  for (std::size_t i = 1; i < kErrorClasses; ++i)
    if (kErrorNames[i] == name) return static_cast<ErrorClass>(i);
  return ErrorClass::other;
}

void Counters::add(const Counters& o) noexcept {
  requests += o.requests;
  responses += o.responses;
  failed += o.failed;
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += o.errors[i];
  for (std::size_t i = 0; i < first_error.size(); ++i)
    if (first_error[i].empty()) first_error[i] = o.first_error[i];
  for (std::size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  conns_opened += o.conns_opened;
  conns_failed += o.conns_failed;
  reused += o.reused;
  sent += o.sent;
  late_sends += o.late_sends;
  waited_sends += o.waited_sends;
  unsent += o.unsent;
}

std::uint64_t Counters::error_total() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 1; i < errors.size(); ++i) n += errors[i];
  return n;
}

void count(Counters& c, const Outcome& o) noexcept {
  ++c.requests;
  if (o.status != 0) {
    ++c.responses;
    if (o.status > 0 && o.status < 1000) ++c.status[static_cast<std::size_t>(o.status)];
  }
  if (o.error != ErrorClass::none) {
    const auto i = static_cast<std::size_t>(o.error);
    ++c.errors[i];
    if (c.first_error[i].empty() && !o.error_message.empty())
      c.first_error[i] = std::string(o.error_message.substr(0, kMaxErrorMessage));
  }
  if (is_failed(o)) ++c.failed;
  if (o.reused) ++c.reused;
  c.bytes_sent += o.bytes_sent;
  c.bytes_received += o.bytes_received;
}

void Bucket::add(const Bucket& o) {
  requests += o.requests;
  failed += o.failed;
  max_us = std::max(max_us, o.max_us);
  for (const auto& [i, n] : o.counts) counts[i] += n;
}

Histogram Bucket::histogram() const {
  Histogram h;
  for (const auto& [i, n] : counts) h.record_index(i, n);
  if (!h.empty()) h.set_extremes(h.min(), max_us);
  return h;
}

void Bucket::add_histogram(const Histogram& h) {
  if (h.empty()) return;
  for (std::size_t i = 0; i < Histogram::kCountsLength; ++i)
    if (auto n = h.count_at_index(i)) counts[static_cast<std::uint32_t>(i)] += n;
  max_us = std::max(max_us, h.max());
}

void Summary::record(const Outcome& o) {
  count(c, o);
  Bucket& b = timeline[second_of(o.end_us)];
  ++b.requests;
  if (is_failed(o)) ++b.failed;
  if (has_latency(o)) {
    std::int64_t lat = o.end_us - o.intended_us;
    latency.record(lat);
    uncorrected.record(o.end_us - o.sent_us);
    std::int64_t clamped = std::clamp<std::int64_t>(lat, 0, Histogram::kHighest);
    ++b.counts[static_cast<std::uint32_t>(Histogram::index_of(clamped))];
    b.max_us = std::max(b.max_us, clamped);
  }
  // The client's own lag (a closed loop's is 0: parse_report_input drops it there).
  send_lag.record(std::max<std::int64_t>(o.sent_us - o.intended_us, 0));
  if (started_us == 0 || o.intended_us < started_us) started_us = o.intended_us;
  ended_us = std::max(ended_us, o.end_us);
}

void add_span(std::vector<Span>& spans, Span s) {
  if (s.second < s.first) std::swap(s.first, s.second);
  auto it = std::lower_bound(spans.begin(), spans.end(), s);
  it = spans.insert(it, s);
  // Join with the neighbours it touches or overlaps.
  if (it != spans.begin() && std::prev(it)->second >= it->first) {
    auto p = std::prev(it);
    p->second = std::max(p->second, it->second);
    it = spans.erase(it) - 1;
  }
  while (std::next(it) != spans.end() && std::next(it)->first <= it->second) {
    it->second = std::max(it->second, std::next(it)->second);
    spans.erase(std::next(it));
  }
  if (spans.size() > kMaxSpans) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < spans.size(); ++i)
      if (spans[i + 1].first - spans[i].second < spans[best + 1].first - spans[best].second) best = i;
    spans[best].second = spans[best + 1].second;
    spans.erase(spans.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
}

void normalize_spans(std::vector<Span>& spans) {
  for (auto& sp : spans)
    if (sp.second < sp.first) std::swap(sp.first, sp.second);
  std::sort(spans.begin(), spans.end());
  std::vector<Span> out;
  out.reserve(spans.size());
  for (const auto& sp : spans) {
    if (!out.empty() && sp.first <= out.back().second) out.back().second = std::max(out.back().second, sp.second);
    else out.push_back(sp);
  }
  while (out.size() > kMaxSpans) {
    // Join the gaps up to the (size - kMaxSpans)-th smallest (ties may join a few more).
    std::vector<std::int64_t> gaps;
    gaps.reserve(out.size() - 1);
    for (std::size_t i = 0; i + 1 < out.size(); ++i) gaps.push_back(out[i + 1].first - out[i].second);
    auto nth = gaps.begin() + static_cast<std::ptrdiff_t>(out.size() - kMaxSpans - 1);
    std::nth_element(gaps.begin(), nth, gaps.end());
    const std::int64_t limit = *nth;
    std::vector<Span> joined;
    joined.reserve(kMaxSpans);
    for (const auto& sp : out) {
      if (!joined.empty() && sp.first - joined.back().second <= limit) joined.back().second = sp.second;
      else joined.push_back(sp);
    }
    out = std::move(joined);
  }
  spans = std::move(out);
}

double spans_seconds(const std::vector<Span>& spans) noexcept {
  std::int64_t us = 0;
  for (const auto& [a, b] : spans) us += b - a;
  return static_cast<double>(us) / 1e6;
}

std::int64_t covered_us(const std::vector<Span>& spans, std::int64_t from, std::int64_t to) noexcept {
  std::int64_t us = 0;
  for (const auto& [a, b] : spans) {
    if (a >= to) break;
    std::int64_t lo = std::max(a, from), hi = std::min(b, to);
    if (hi > lo) us += hi - lo;
  }
  return us;
}

void Summary::set_run_spans() {
  spans.clear();
  send_spans.clear();
  if (ended_us > started_us && started_us > 0) add_span(spans, {started_us, ended_us});
  if (send_window_s > 0 && started_us > 0)
    add_span(send_spans, {started_us, started_us + std::llround(send_window_s * 1e6)});
}

void Summary::refresh_send_lag_warning() {
  const std::string prefix = "the client's send lag ";
  diagnosis.erase(std::remove_if(diagnosis.begin(), diagnosis.end(), [&](const std::string& d) { return d.rfind(prefix, 0) == 0; }),
                  diagnosis.end());
  if (send_lag_noticeable()) diagnosis.push_back(send_lag_warning());
}

void Summary::merge(const Summary& o) {
  if (version.empty()) version = o.version;
  if (mode.empty()) mode = o.mode;
  else if (!o.mode.empty() && mode != o.mode) mode = "mixed";
  for (const auto& t : o.targets)
    if (std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);
  for (const auto& l : o.labels)
    if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
  threads += o.threads;
  connections += o.connections;
  runs += o.runs;
  if (o.started_us != 0 && (started_us == 0 || o.started_us < started_us)) started_us = o.started_us;
  ended_us = std::max(ended_us, o.ended_us);
  c.add(o.c);
  latency.add(o.latency);
  uncorrected.add(o.uncorrected);
  send_lag.add(o.send_lag);
  // The offered rate: every run's due requests over the union of their send windows (runs one
  // after the other do not add up their rates; runs side by side do).
  const double due = target_rate * send_window_s + o.target_rate * o.send_window_s;
  spans.insert(spans.end(), o.spans.begin(), o.spans.end());
  normalize_spans(spans);
  send_spans.insert(send_spans.end(), o.send_spans.begin(), o.send_spans.end());
  normalize_spans(send_spans);
  send_window_s = send_spans.empty() ? std::max(send_window_s, o.send_window_s) : spans_seconds(send_spans);
  target_rate = send_window_s > 0 ? due / send_window_s : 0;
  thread_cpu.insert(thread_cpu.end(), o.thread_cpu.begin(), o.thread_cpu.end());
  behind = behind || o.behind;
  for (const auto& d : o.diagnosis)
    if (std::find(diagnosis.begin(), diagnosis.end(), d) == diagnosis.end()) diagnosis.push_back(d);
  for (const auto& [t, b] : o.timeline) timeline[t].add(b);
}

double Summary::duration_s() const noexcept {
  if (!spans.empty()) return spans_seconds(spans);
  return ended_us > started_us ? static_cast<double>(ended_us - started_us) / 1e6 : 0.0;
}
double Summary::rps() const noexcept {
  double d = duration_s();
  return d > 0 ? static_cast<double>(c.responses) / d : 0.0;
}
double Summary::error_rate() const noexcept {
  return c.requests ? static_cast<double>(c.failed) / static_cast<double>(c.requests) : 0.0;
}
double Summary::achieved_rate() const noexcept {
  return send_window_s > 0 ? static_cast<double>(c.sent) / send_window_s : 0.0;
}

double Summary::send_lag_share() const noexcept {
  if (send_lag.empty() || latency.empty()) return 0;
  const auto lat = latency.value_at_percentile(50);
  return lat > 0 ? static_cast<double>(send_lag.value_at_percentile(50)) / static_cast<double>(lat) : 0;
}

bool Summary::send_lag_noticeable() const noexcept {
  return (mode == "open" || mode == "mixed") && send_lag_share() > kSendLagShareWarn;
}

std::string Summary::send_lag_warning() const {
  if (!send_lag_noticeable()) return {};
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "the client's send lag (p50 %.3f ms) is %.0f%% of the corrected latency p50 (%.3f ms): the corrected "
                "latencies include the client's own delay in sending (a busy client thread, or every connection busy)",
                static_cast<double>(send_lag.value_at_percentile(50)) / 1000.0, send_lag_share() * 100,
                static_cast<double>(latency.value_at_percentile(50)) / 1000.0);
  return buf;
}

void Summary::diagnose() {
  diagnosis.clear();
  behind = false;
  auto pct = [](std::uint64_t a, std::uint64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  for (std::size_t i = 0; i < thread_cpu.size(); ++i) {
    if (thread_cpu[i] >= 0.95) {
      behind = true;
      diagnosis.push_back("client thread " + std::to_string(i) + " was busy " +
                          std::to_string(static_cast<int>(std::lround(thread_cpu[i] * 100))) +
                          "% of the time: the client, not the server, may be the limit (add -t threads)");
    }
  }
  if (mode != "open") return;
  if (c.sent > 0 && pct(c.late_sends, c.sent) > 1.0) {
    behind = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f%%", pct(c.late_sends, c.sent));
    diagnosis.push_back(std::string(buf) + " of requests were sent more than " + std::to_string(kLateSendUs / 1000) +
                        " ms late although a connection was free: the client fell behind its schedule");
  }
  if (c.sent > 0 && pct(c.waited_sends, c.sent) > 1.0) {
    behind = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f%%", pct(c.waited_sends, c.sent));
    diagnosis.push_back(std::string(buf) + " of requests waited more than " + std::to_string(kLateSendUs / 1000) +
                        " ms for a free connection (all busy): latency counts the wait, but the offered rate "
                        "needs more connections (-c) or a faster server");
  }
  if (c.unsent > 0) {
    behind = true;
    diagnosis.push_back(std::to_string(c.unsent) + " requests due before the end were never sent");
  }
  if (send_lag_noticeable()) diagnosis.push_back(send_lag_warning());
  if (target_rate > 0 && achieved_rate() < 0.99 * target_rate) {
    behind = true;
    char buf[128];
    std::snprintf(buf, sizeof buf, "achieved %.1f requests/s of the %.1f scheduled", achieved_rate(), target_rate);
    diagnosis.push_back(buf);
  }
}

ojson latency_json(const Histogram& h) {
  ojson j;
  j["unit"] = "ms";
  j["count"] = h.total_count();
  j["min"] = ms(h.min());
  j["mean"] = round3(h.mean() / 1000.0);
  j["stdev"] = round3(h.stddev() / 1000.0);
  for (std::size_t i = 0; i < kPercentiles.size(); ++i) j[kPercentileNames[i]] = ms(h.value_at_percentile(kPercentiles[i]));
  j["max"] = ms(h.max());
  j["hist"] = h.to_base64();
  return j;
}

ojson Summary::to_json() const {
  ojson j;
  j["format"] = kSummaryFormat;
  j["kind"] = "summary";
  j["version"] = version;
  j["mode"] = mode;
  j["labels"] = labels;
  j["targets"] = targets;
  j["threads"] = threads;
  j["connections"] = connections;
  j["runs"] = runs;
  j["started"] = started_us > 0 && started_us < kMaxEpochUs ? pw::format_rfc3339(pw::WallTime(std::chrono::microseconds(started_us))) : "";
  j["started_us"] = started_us;
  j["ended_us"] = ended_us;
  j["duration_s"] = round3(duration_s());
  ojson sp = ojson::array();
  for (const auto& [a, b] : spans) sp.push_back({a, b});
  j["spans"] = std::move(sp);
  j["requests"] = c.requests;
  j["responses"] = c.responses;
  j["rps"] = round3(rps());
  j["error_rate"] = std::round(error_rate() * 1e6) / 1e6;
  j["latency"] = latency_json(latency);
  j["latency_uncorrected"] = latency_json(uncorrected);
  ojson st = ojson::object();
  for (std::size_t i = 0; i < c.status.size(); ++i)
    if (c.status[i]) st[std::to_string(i)] = c.status[i];
  j["status"] = st;
  ojson er;
  for (std::size_t i = 1; i < kErrorClasses; ++i) er[std::string(kErrorNames[i])] = c.errors[i];
  er["total"] = c.error_total();
  j["errors"] = er;
  ojson em = ojson::object();
  for (std::size_t i = 1; i < kErrorClasses; ++i)
    if (!c.first_error[i].empty()) em[std::string(kErrorNames[i])] = c.first_error[i];
  j["error_messages"] = em;
  j["failed"] = c.failed;
  j["bytes"] = {{"sent", c.bytes_sent}, {"received", c.bytes_received}};
  j["connection_use"] = {{"opened", c.conns_opened}, {"failed", c.conns_failed}, {"reused", c.reused}};
  if (mode == "open" || mode == "mixed") {
    ojson s;
    s["target_rate"] = round3(target_rate);
    s["achieved_rate"] = round3(achieved_rate());
    s["send_window_s"] = round3(send_window_s);
    s["sent"] = c.sent;
    s["late"] = c.late_sends;
    s["waited_for_connection"] = c.waited_sends;
    s["unsent"] = c.unsent;
    s["send_lag"] = latency_json(send_lag);
    ojson ss = ojson::array();
    for (const auto& [a, b] : send_spans) ss.push_back({a, b});
    s["send_spans"] = std::move(ss);
    j["schedule"] = s;
  }
  ojson cpu = ojson::array();
  for (double v : thread_cpu) cpu.push_back(round3(v));
  ojson client = {{"behind", behind}, {"diagnosis", diagnosis}, {"thread_cpu", cpu}};
  if (mode == "open" || mode == "mixed") {
    client["send_lag_share"] = round3(send_lag_share());
    client["send_lag_noticeable"] = send_lag_noticeable();
  }
  j["client"] = std::move(client);
  ojson tl = ojson::array();
  for (const auto& [t, b] : timeline) {
    Histogram h = b.histogram();
    ojson p;
    p["t"] = t;
    p["requests"] = b.requests;
    p["failed"] = b.failed;
    p["p50"] = ms(h.value_at_percentile(50));
    p["p99"] = ms(h.value_at_percentile(99));
    p["max"] = ms(h.max());
    p["hist"] = h.to_base64();
    tl.push_back(std::move(p));
  }
  j["timeline"] = std::move(tl);
  return j;
}

namespace {

// Typed field access with path-qualified errors.
struct Reader {
  const json& j;
  std::string where;
  std::string error;

  const json* field(const json& obj, const char* key, const std::string& path) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    (void)path;
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  template <class T>
  bool num(const json& obj, const char* key, const std::string& path, T& out) {
    const json* v = field(obj, key, path);
    if (!v) return true;
    if (!v->is_number()) return fail(path + "/" + key + ": expected a number");
    if constexpr (std::is_integral_v<T>) {
      if (!v->is_number_integer()) return fail(path + "/" + key + ": expected an integer");
      // nlohmann's get<> converts with a cast: -1 would become 2^64 - 1 and 2^63 a negative
      // number. Counts must be non-negative and every value must fit its field.
      if constexpr (std::is_unsigned_v<T>) {
        if (!v->is_number_unsigned()) return fail(path + "/" + key + ": expected a non-negative integer");
        if (v->get<std::uint64_t>() > std::numeric_limits<T>::max()) return fail(path + "/" + key + ": out of range");
      } else if (v->is_number_unsigned()) {
        if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
          return fail(path + "/" + key + ": out of range");
      } else {
        const auto x = v->get<std::int64_t>();
        if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) return fail(path + "/" + key + ": out of range");
      }
    } else if (!std::isfinite(v->get<double>())) {
      return fail(path + "/" + key + ": expected a finite number");
    }
    out = v->get<T>();
    return true;
  }
  bool str(const json& obj, const char* key, const std::string& path, std::string& out) {
    const json* v = field(obj, key, path);
    if (!v) return true;
    if (!v->is_string()) return fail(path + "/" + key + ": expected a string");
    out = v->get<std::string>();
    return true;
  }
  bool hist(const json& obj, const char* key, const std::string& path, Histogram& out) {
    const json* v = field(obj, key, path);
    if (!v) return true;
    if (!v->is_object()) return fail(path + "/" + key + ": expected an object");
    const json* h = field(*v, "hist", path + "/" + key);
    if (!h) return true;
    if (!h->is_string()) return fail(path + "/" + key + "/hist: expected a base64 string");
    auto d = Histogram::from_base64(h->get<std::string>());
    if (!d) return fail(path + "/" + key + "/hist: " + d.error().message);
    out = std::move(*d);
    // The exact extremes, when they agree with the encoded counts.
    double mx = -1, mn = -1;
    if (const json* m = field(*v, "max", ""); m && m->is_number()) mx = m->get<double>();
    if (const json* m = field(*v, "min", ""); m && m->is_number()) mn = m->get<double>();
    if (mx >= 0 && mn >= 0 && mx <= 3.6e6 && mn <= mx) out.set_extremes(std::llround(mn * 1000), std::llround(mx * 1000));
    return true;
  }
  bool fail(std::string msg) {
    if (error.empty()) error = where + ": " + msg;
    return false;
  }
};

}  // namespace

pw::Result<Summary> Summary::from_json(const json& j, std::string_view where) {
  Summary s;
  Reader r{j, std::string(where), {}};
  if (!j.is_object()) return make_error(Errc::parse_error, std::string(where) + ": expected a JSON object");
  int format = 0;
  r.num(j, "format", "", format);
  if (r.error.empty() && format != kSummaryFormat)
    return make_error(Errc::unsupported, std::string(where) + ": summary format " + std::to_string(format) +
                                             " is not supported (this loadgen reads format " +
                                             std::to_string(kSummaryFormat) + ")");
  r.str(j, "version", "", s.version);
  r.str(j, "mode", "", s.mode);
  for (const char* key : {"targets", "labels"}) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) {
      if (!it->is_array()) r.fail(std::string("/") + key + ": expected an array of strings");
      else
        for (const auto& t : *it) {
          if (!t.is_string()) { r.fail(std::string("/") + key + ": expected strings"); break; }
          (std::string_view(key) == "targets" ? s.targets : s.labels).push_back(t.get<std::string>());
        }
    }
  }
  r.num(j, "threads", "", s.threads);
  r.num(j, "connections", "", s.connections);
  s.runs = 1;
  r.num(j, "runs", "", s.runs);
  r.num(j, "started_us", "", s.started_us);
  r.num(j, "ended_us", "", s.ended_us);
  for (auto [name, v] : {std::pair{"/started_us", s.started_us}, {"/ended_us", s.ended_us}})
    if (v < 0 || v >= kMaxEpochUs) r.fail(std::string(name) + ": out of range (epoch microseconds)");
  r.num(j, "requests", "", s.c.requests);
  r.num(j, "responses", "", s.c.responses);
  r.num(j, "failed", "", s.c.failed);
  r.hist(j, "latency", "", s.latency);
  r.hist(j, "latency_uncorrected", "", s.uncorrected);
  if (auto it = j.find("status"); it != j.end() && it->is_object()) {
    for (auto& [code, n] : it->items()) {
      char* end = nullptr;
      long v = std::strtol(code.c_str(), &end, 10);
      if (*end != '\0' || v < 100 || v > 999 || !n.is_number_unsigned()) {
        r.fail("/status/" + code + ": expected a status code and a count");
        break;
      }
      s.c.status[static_cast<std::size_t>(v)] = n.get<std::uint64_t>();
    }
  }
  if (auto it = j.find("errors"); it != j.end() && it->is_object())
    for (std::size_t i = 1; i < kErrorClasses; ++i) r.num(*it, std::string(kErrorNames[i]).c_str(), "/errors", s.c.errors[i]);
  if (auto it = j.find("error_messages"); it != j.end() && it->is_object())
    for (std::size_t i = 1; i < kErrorClasses; ++i)
      if (auto m = it->find(std::string(kErrorNames[i])); m != it->end() && m->is_string())
        s.c.first_error[i] = m->get<std::string>().substr(0, kMaxErrorMessage);
  if (auto it = j.find("bytes"); it != j.end()) {
    r.num(*it, "sent", "/bytes", s.c.bytes_sent);
    r.num(*it, "received", "/bytes", s.c.bytes_received);
  }
  if (auto it = j.find("connection_use"); it != j.end()) {
    r.num(*it, "opened", "/connection_use", s.c.conns_opened);
    r.num(*it, "failed", "/connection_use", s.c.conns_failed);
    r.num(*it, "reused", "/connections", s.c.reused);
  }
  if (auto it = j.find("schedule"); it != j.end() && it->is_object()) {
    r.num(*it, "target_rate", "/schedule", s.target_rate);
    r.num(*it, "send_window_s", "/schedule", s.send_window_s);
    r.num(*it, "sent", "/schedule", s.c.sent);
    r.num(*it, "late", "/schedule", s.c.late_sends);
    r.num(*it, "waited_for_connection", "/schedule", s.c.waited_sends);
    r.num(*it, "unsent", "/schedule", s.c.unsent);
    r.hist(*it, "send_lag", "/schedule", s.send_lag);
  }
  if (auto it = j.find("client"); it != j.end() && it->is_object()) {
    if (auto b = it->find("behind"); b != it->end() && b->is_boolean()) s.behind = b->get<bool>();
    if (auto d = it->find("diagnosis"); d != it->end() && d->is_array())
      for (const auto& m : *d)
        if (m.is_string()) s.diagnosis.push_back(m.get<std::string>());
    if (auto d = it->find("thread_cpu"); d != it->end() && d->is_array())
      for (const auto& m : *d)
        if (m.is_number()) s.thread_cpu.push_back(m.get<double>());
  }
  if (auto it = j.find("timeline"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) r.fail("/timeline: expected an array");
    else {
      std::size_t i = 0;
      for (const auto& p : *it) {
        std::string path = "/timeline/" + std::to_string(i++);
        std::int64_t t = 0;
        Bucket b;
        if (!p.is_object() || !p.contains("t")) { r.fail(path + ": expected an object with \"t\""); break; }
        r.num(p, "t", path, t);
        // Epoch seconds, in the range of the run times (so that differences cannot overflow).
        if (t < 0 || t >= kMaxEpochUs / 1'000'000) { r.fail(path + "/t: out of range (epoch seconds)"); break; }
        r.num(p, "requests", path, b.requests);
        r.num(p, "failed", path, b.failed);
        if (const json* h = r.field(p, "hist", path)) {
          if (!h->is_string()) { r.fail(path + "/hist: expected a base64 string"); break; }
          auto d = Histogram::from_base64(h->get<std::string>());
          if (!d) { r.fail(path + "/hist: " + d.error().message); break; }
          b.add_histogram(*d);
          double mx = -1;
          if (r.num(p, "max", path, mx) && mx >= 0 && mx <= 3.6e6) b.max_us = std::llround(mx * 1000);
        }
        s.timeline[t].add(b);
      }
    }
  }
  // Spans: [[from, to], ...] epoch microseconds; a summary without them (an older loadgen) ran
  // from started_us to ended_us and sent during send_window_s from its start.
  auto read_spans = [&](const json& obj, const char* key, const std::string& path, std::vector<Span>& out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_array()) return r.fail(path + "/" + key + ": expected an array of [from, to] pairs");
    for (const auto& p : *it) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number_unsigned() || !p[1].is_number_unsigned() ||
          p[0].get<std::uint64_t>() >= static_cast<std::uint64_t>(kMaxEpochUs) ||
          p[1].get<std::uint64_t>() >= static_cast<std::uint64_t>(kMaxEpochUs))
        return r.fail(path + "/" + key + ": expected [from, to] pairs of epoch microseconds");
      out.emplace_back(p[0].get<std::int64_t>(), p[1].get<std::int64_t>());
    }
    normalize_spans(out);
    return true;
  };
  const bool has_spans = read_spans(j, "spans", "", s.spans);
  bool has_send_spans = false;
  if (auto it = j.find("schedule"); it != j.end() && it->is_object()) has_send_spans = read_spans(*it, "send_spans", "/schedule", s.send_spans);
  if (!r.error.empty()) return make_error(Errc::parse_error, r.error);
  if (!has_spans || !has_send_spans) {
    Summary run = s;
    run.set_run_spans();
    if (!has_spans) s.spans = run.spans;
    if (!has_send_spans) s.send_spans = run.send_spans;
  }
  return s;
}

pw::Status Summary::add_result(const json& j, std::string_view where) {
  auto fail = [&](const std::string& m) { return make_error(Errc::parse_error, std::string(where) + ": " + m); };
  if (!j.is_object()) return fail("expected a JSON object");
  Outcome o;
  auto get_i64 = [&](const char* key, std::int64_t& out, bool required) -> bool {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return !required;
    if (!it->is_number_integer()) return false;
    out = it->get<std::int64_t>();
    return true;
  };
  if (!get_i64("intended", o.intended_us, true)) return fail("/intended: expected epoch microseconds");
  if (!get_i64("sent", o.sent_us, true)) return fail("/sent: expected epoch microseconds");
  if (!get_i64("end", o.end_us, true)) return fail("/end: expected epoch microseconds");
  // Epoch microseconds that nanosecond clocks can hold (up to the year 2255).
  for (auto [name, v] : {std::pair{"/intended", o.intended_us}, {"/sent", o.sent_us}, {"/end", o.end_us}})
    if (v < 0 || v >= kMaxEpochUs) return fail(std::string(name) + ": out of range (epoch microseconds)");
  std::int64_t status = 0, bs = 0, br = 0;
  if (!get_i64("status", status, false) || status < 0 || status > 999) return fail("/status: expected a status code or 0");
  o.status = static_cast<int>(status);
  if (!get_i64("bytes_sent", bs, false) || bs < 0) return fail("/bytes_sent: expected a non-negative count");
  if (!get_i64("bytes_received", br, false) || br < 0) return fail("/bytes_received: expected a non-negative count");
  o.bytes_sent = static_cast<std::uint64_t>(bs);
  o.bytes_received = static_cast<std::uint64_t>(br);
  if (auto it = j.find("error"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return fail("/error: expected an error class or null");
    o.error = error_class_from_name(it->get<std::string>());
  }
  std::string message;
  if (auto it = j.find("error_message"); it != j.end() && it->is_string()) {
    message = it->get<std::string>();
    o.error_message = message;
  }
  if (auto it = j.find("reused"); it != j.end() && it->is_boolean()) o.reused = it->get<bool>();
  if (auto it = j.find("url"); it != j.end() && it->is_string()) {
    auto u = it->get<std::string>();
    if (targets.size() < 1000 && std::find(targets.begin(), targets.end(), u) == targets.end()) targets.push_back(u);
  }
  record(o);
  ++c.sent;
  // A closed loop sends every request when it is due; an open loop's requests may wait.
  if (o.intended_us != o.sent_us) mode = "open";
  return {};
}

}  // namespace loadgen
