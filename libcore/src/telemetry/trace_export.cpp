#include "pw/telemetry/trace_export.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "pw/base/strings.h"
#include "pw/telemetry/gzip.h"
#include "pw/telemetry/libcurl.h"
#include "pw/telemetry/otlp_json.h"

namespace pw::telemetry {

void OtlpHttpStats::note_failure(const std::string& why) {
  ++failures;
  std::lock_guard lk(error_mu_);
  if (first_error_.empty()) first_error_ = why;
  last_error_ = why;
}
std::string OtlpHttpStats::first_error() const {
  std::lock_guard lk(error_mu_);
  return first_error_;
}
std::string OtlpHttpStats::last_error() const {
  std::lock_guard lk(error_mu_);
  return last_error_;
}

namespace {

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(Errc::io_error, std::string("write: ") + std::strerror(errno), errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

class FdSink final : public ExportSink {
 public:
  FdSink(int fd, bool owned, std::string path = {}) : fd_(fd), owned_(owned), path_(std::move(path)) {}
  ~FdSink() override {
    if (owned_) ::close(fd_);
  }
  void reopen() override { reopen_.store(true, std::memory_order_relaxed); }
  Status send(std::string_view request_json, const std::atomic<bool>&) override {
    if (reopen_.exchange(false, std::memory_order_relaxed) && owned_ && !path_.empty()) {
      // The file at the path now (a rotation moved the old one). If it cannot be opened, the
      // spans keep going to the moved file rather than being lost.
      int nfd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (nfd >= 0) {
        ::close(fd_);
        fd_ = nfd;
      }
    }
    // The request and its newline in one writev where the kernel takes it (lines stay whole),
    // without copying the request to append the newline; a short write finishes with write().
    static constexpr char kNewline = '\n';
    iovec iov[2] = {{const_cast<char*>(request_json.data()), request_json.size()},
                    {const_cast<char*>(&kNewline), 1}};
    ssize_t n;
    do n = ::writev(fd_, iov, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0) return Error(Errc::io_error, std::string("write: ") + std::strerror(errno), errno);
    const auto done = static_cast<std::size_t>(n);
    if (done >= request_json.size() + 1) return {};
    if (done < request_json.size()) {
      if (auto st = write_all(fd_, request_json.substr(done)); !st.ok()) return st;
    }
    return write_all(fd_, std::string_view(&kNewline, 1));
  }

 private:
  int fd_;
  bool owned_;
  std::string path_;  // the file sink's path: reopened after a rotation
  std::atomic<bool> reopen_{false};
};

class HttpSink final : public ExportSink {
 public:
  HttpSink(OtlpHttpOptions opt, OtlpHttpStats* stats, const LibCurl* curl, CURL* h)
      : opt_(std::move(opt)), stats_(stats), curl_(curl), h_(h) {
    url_ = otlp_traces_url(opt_.endpoint);
    shown_url_ = redact_url(url_);
    hdrs_ = curl_->slist_append(hdrs_, "Content-Type: application/json");
    if (opt_.gzip) hdrs_ = curl_->slist_append(hdrs_, "Content-Encoding: gzip");
    for (const auto& [k, v] : opt_.headers) hdrs_ = curl_->slist_append(hdrs_, (k + ": " + v).c_str());
    hdrs_ = curl_->slist_append(hdrs_, "Expect:");  // no 100-continue round trip
  }
  ~HttpSink() override {
    curl_->slist_free_all(hdrs_);
    curl_->easy_cleanup(h_);
  }

  Status send(std::string_view request_json, const std::atomic<bool>& cancel) override {
    std::string compressed;
    std::string_view body = request_json;
    if (opt_.gzip) {
      auto gz = gzip_compress(request_json);
      if (!gz) return gz.error();
      compressed = std::move(*gz);
      body = compressed;
    }
    auto started = std::chrono::steady_clock::now();
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    for (int attempt = 1;; ++attempt) {
      if (stats_) ++stats_->requests;
      int status = 0;
      std::optional<Duration> retry_after;
      cancel_ = &cancel;
      Error err = perform(body, status, retry_after);
      bool retry = false;
      if (err.code == Errc::ok) {
        if (status >= 200 && status < 300) {
          note_partial_success();
          return {};
        }
        retry = retryable_status(status);
        err = Error(Errc::io_error, shown_url_ + ": HTTP status " + std::to_string(status) + response_excerpt());
      } else {
        retry = err.code == Errc::io_error || err.code == Errc::timeout;
      }
      if (!retry || attempt >= opt_.retry.max_attempts) {
        if (stats_) stats_->note_failure(err.message);
        return err;
      }
      Duration wait = retry_delay(opt_.retry, attempt, retry_after, jitter(rng));
      if (std::chrono::steady_clock::now() - started + wait > opt_.retry.max_elapsed) {
        if (stats_) stats_->note_failure(err.message);
        return err;
      }
      if (stats_) ++stats_->retries;
      auto until = std::chrono::steady_clock::now() + wait;
      while (std::chrono::steady_clock::now() < until) {
        if (cancel.load()) {
          Error cancelled(Errc::closed, "export cancelled at shutdown: " + err.message);
          if (stats_) stats_->note_failure(cancelled.message);
          return cancelled;
        }
        std::this_thread::sleep_for(std::min<Duration>(until - std::chrono::steady_clock::now(), 20ms));
      }
    }
  }

 private:
  static std::size_t on_body(char* p, std::size_t size, std::size_t n, void* self) {
    auto* s = static_cast<HttpSink*>(self);
    std::size_t len = size * n;
    if (s->response_.size() < 64 * 1024) s->response_.append(p, std::min(len, 64 * 1024 - s->response_.size()));
    return len;
  }
  static std::size_t on_header(char* p, std::size_t size, std::size_t n, void* self) {
    auto* s = static_cast<HttpSink*>(self);
    std::string_view line(p, size * n);
    auto colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), "retry-after")) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
      s->retry_after_ = std::string(v);
    }
    return size * n;
  }

  // libcurl's progress callback (called about once a second and on every transfer step): a
  // non-zero return aborts the transfer, so shutdown is not held up by a slow peer.
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* s = static_cast<HttpSink*>(self);
    return s->cancel_ && s->cancel_->load() ? 1 : 0;
  }

  Error perform(std::string_view body, int& status, std::optional<Duration>& retry_after) {
    response_.clear();
    retry_after_.clear();
    curl_->easy_setopt(h_, CURLOPT_URL, url_.c_str());
    curl_->easy_setopt(h_, CURLOPT_POST, 1L);
    curl_->easy_setopt(h_, CURLOPT_POSTFIELDS, body.data());
    curl_->easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_->easy_setopt(h_, CURLOPT_HTTPHEADER, hdrs_);
    curl_->easy_setopt(h_, CURLOPT_TIMEOUT_MS, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(opt_.timeout).count()));
    curl_->easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_->easy_setopt(h_, CURLOPT_WRITEFUNCTION, &HttpSink::on_body);
    curl_->easy_setopt(h_, CURLOPT_WRITEDATA, this);
    curl_->easy_setopt(h_, CURLOPT_HEADERFUNCTION, &HttpSink::on_header);
    curl_->easy_setopt(h_, CURLOPT_HEADERDATA, this);
    curl_->easy_setopt(h_, CURLOPT_XFERINFOFUNCTION, &HttpSink::on_progress);
    curl_->easy_setopt(h_, CURLOPT_XFERINFODATA, this);
    curl_->easy_setopt(h_, CURLOPT_NOPROGRESS, 0L);
    char detail[CURL_ERROR_SIZE] = "";
    curl_->easy_setopt(h_, CURLOPT_ERRORBUFFER, detail);
    CURLcode rc = curl_->easy_perform(h_);
    curl_->easy_setopt(h_, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      if (rc == CURLE_ABORTED_BY_CALLBACK) return Error(Errc::closed, shown_url_ + ": export cancelled at shutdown");
      Errc c = rc == CURLE_OPERATION_TIMEDOUT ? Errc::timeout
               : (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) ? Errc::invalid_argument
                                                                                 : Errc::io_error;
      // The cause as precisely as libcurl knows it: its detail ("Could not resolve host: x"),
      // else its code's text, plus the OS error (curl 7.88 says "Couldn't connect to server"
      // for a refused connect; errno says "Connection refused").
      std::string why = detail[0] != '\0' ? detail : curl_->easy_strerror(rc);
      long os_errno = 0;
      curl_->easy_getinfo(h_, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno != 0) {
        std::string os = std::strerror(static_cast<int>(os_errno));
        if (why.find(os) == std::string::npos) why += " (" + os + ")";
      }
      return Error(c, shown_url_ + ": " + why);
    }
    long code = 0;
    curl_->easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &code);
    status = static_cast<int>(code);
    if (!retry_after_.empty()) retry_after = parse_retry_after(retry_after_, std::chrono::system_clock::now());
    return Error(Errc::ok, "");
  }

  // ExportTraceServiceResponse: {"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}
  void note_partial_success() {
    if (!stats_ || response_.empty()) return;
    auto j = nlohmann::json::parse(response_, nullptr, false);
    if (!j.is_object()) return;
    auto ps = j.find("partialSuccess");
    if (ps == j.end() || !ps->is_object()) return;
    auto r = ps->find("rejectedSpans");
    if (r == ps->end()) return;
    std::uint64_t n = 0;
    if (r->is_string()) n = parse_u64(r->get<std::string>()).value_or(0);
    else if (r->is_number_unsigned()) n = r->get<std::uint64_t>();
    stats_->rejected_spans += n;
  }

  std::string response_excerpt() const {
    if (response_.empty()) return "";
    return " (" + escape_for_log(response_, 200) + ")";
  }

  OtlpHttpOptions opt_;
  OtlpHttpStats* stats_;
  const LibCurl* curl_;
  CURL* h_;
  curl_slist* hdrs_ = nullptr;
  std::string url_;
  std::string shown_url_;  // url_ without credentials, for messages
  const std::atomic<bool>* cancel_ = nullptr;
  std::string response_;
  std::string retry_after_;
};

}  // namespace

std::unique_ptr<ExportSink> make_fd_sink(int fd) { return std::make_unique<FdSink>(fd, false); }

Result<std::unique_ptr<ExportSink>> make_file_sink(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Error(Errc::io_error, path + ": " + std::strerror(errno), errno);
  return std::unique_ptr<ExportSink>(std::make_unique<FdSink>(fd, true, path));
}

bool retryable_status(int status) noexcept { return status == 429 || status == 502 || status == 503 || status == 504; }

Duration retry_delay(const RetryPolicy& p, int retry, std::optional<Duration> retry_after, double jitter01) {
  double backoff = static_cast<double>(p.initial_backoff.count()) * std::pow(p.multiplier, std::max(0, retry - 1));
  backoff = std::min(backoff, static_cast<double>(p.max_backoff.count()));
  jitter01 = std::clamp(jitter01, 0.0, 1.0);
  Duration d(static_cast<Duration::rep>(backoff / 2 + backoff / 2 * jitter01));
  if (retry_after && *retry_after > d) d = *retry_after;
  return d;
}

std::optional<Duration> parse_retry_after(std::string_view v, WallTime now) {
  if (auto secs = parse_u64(v, 1u << 30)) return std::chrono::seconds(*secs);
  std::string s(v);
  std::tm tm{};
  const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (when <= now) return Duration::zero();
  return std::chrono::duration_cast<Duration>(when - now);
}

std::string otlp_traces_url(std::string_view endpoint) {
  std::string url(endpoint);
  auto scheme = url.find("://");
  std::size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  if (url.find('/', host_start) == std::string::npos) url += "/v1/traces";
  return url;
}

std::string redact_url(std::string_view url) {
  auto scheme = url.find("://");
  std::size_t host_start = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::size_t auth_end = url.find_first_of("/?#", host_start);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  auto at = url.substr(host_start, auth_end - host_start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, host_start)) + "***" + std::string(url.substr(host_start + at));
}

Result<std::unique_ptr<ExportSink>> make_otlp_http_sink(OtlpHttpOptions opt, OtlpHttpStats* stats) {
  if (opt.endpoint.rfind("http://", 0) != 0 && opt.endpoint.rfind("https://", 0) != 0)
    return Error(Errc::invalid_argument, "OTLP endpoint \"" + escape_for_log(redact_url(opt.endpoint)) + "\": expected http:// or https://");
  auto curl = libcurl();  // loaded here, on first use: only processes that export pay for it
  if (!curl) return Error(curl.error().code, "OTLP/HTTP export: " + curl.error().message);
  CURL* h = (*curl)->easy_init();
  if (!h) return Error(Errc::internal, "curl_easy_init failed");
  return std::unique_ptr<ExportSink>(std::make_unique<HttpSink>(std::move(opt), stats, *curl, h));
}

// ---- BatchExporter ----

BatchExporter::BatchExporter(std::unique_ptr<ExportSink> sink, BatchExporterOptions opt)
    : sink_(std::move(sink)), opt_(std::move(opt)) {
  if (opt_.max_batch == 0) opt_.max_batch = 1;
  thread_ = std::thread([this] { run(); });
}

BatchExporter::~BatchExporter() {
  {
    std::unique_lock lk(mu_);
    stopping_ = true;
    wake_.notify_all();
    if (!done_cv_.wait_for(lk, opt_.shutdown_timeout, [&] { return seq_done_ == seq_in_; })) cancel_ = true;
  }
  thread_.join();
}

bool BatchExporter::enqueue(std::shared_ptr<const InstrumentationScope> scope, SpanData span) {
  std::lock_guard lk(mu_);
  if (stopping_ || spans_.size() >= opt_.max_queue) {
    ++stats_.dropped;
    return false;
  }
  spans_.push_back({std::move(scope), std::move(span)});
  ++stats_.enqueued;
  ++seq_in_;
  if (spans_.size() >= opt_.max_batch) wake_.notify_one();
  return true;
}

bool BatchExporter::enqueue_request(std::string request_json) {
  std::lock_guard lk(mu_);
  bool full = requests_.size() >= opt_.max_queue_payloads ||
              (request_bytes_ > 0 && request_bytes_ + request_json.size() > opt_.max_queue_bytes);
  if (stopping_ || full) {
    ++stats_.dropped;
    return false;
  }
  request_bytes_ += request_json.size();
  requests_.push_back(std::move(request_json));
  ++seq_in_;
  wake_.notify_one();
  return true;
}

bool BatchExporter::enqueue_request_wait(std::string request_json, const std::atomic<bool>& stop) {
  std::unique_lock lk(mu_);
  auto room = [&] {
    return requests_.size() < opt_.max_queue_payloads &&
           (request_bytes_ == 0 || request_bytes_ + request_json.size() <= opt_.max_queue_bytes);
  };
  // Bounded waits so that `stop` (set by another thread without this mutex) is seen.
  while (!stopping_ && !stop.load() && !room()) room_cv_.wait_for(lk, 50ms);
  if (stopping_ || !room()) {
    ++stats_.dropped;
    return false;
  }
  request_bytes_ += request_json.size();
  requests_.push_back(std::move(request_json));
  ++seq_in_;
  wake_.notify_one();
  return true;
}

void BatchExporter::flush() {
  std::unique_lock lk(mu_);
  std::uint64_t target = seq_in_;
  ++flushes_;
  wake_.notify_one();
  done_cv_.wait(lk, [&] { return seq_done_ >= target; });
  --flushes_;
}

BatchExporterStats BatchExporter::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void BatchExporter::run() {
  std::unique_lock lk(mu_);
  while (true) {
    wake_.wait_for(lk, opt_.schedule_delay, [&] {
      return stopping_ || spans_.size() >= opt_.max_batch || !requests_.empty() || (flushes_ > 0 && seq_done_ < seq_in_);
    });
    if (spans_.empty() && requests_.empty()) {
      if (stopping_) break;
      continue;
    }
    std::vector<Item> batch;
    std::size_t n = std::min(spans_.size(), opt_.max_batch);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(spans_.front()));
      spans_.pop_front();
    }
    std::deque<std::string> reqs;
    reqs.swap(requests_);
    lk.unlock();
    std::uint64_t ok_spans = 0, bad_spans = 0, calls = 0, bad_calls = 0;
    std::size_t sent_bytes = 0;
    for (auto& r : reqs) {
      ++calls;
      if (cancel_ || !send(r).ok()) ++bad_calls;
      sent_bytes += r.size();
    }
    if (!batch.empty()) {
      ++calls;
      if (!cancel_ && export_batch(batch)) ok_spans = batch.size();
      else {
        bad_spans = batch.size();
        ++bad_calls;
      }
    }
    lk.lock();
    stats_.exported_spans += ok_spans;
    stats_.failed_spans += bad_spans;
    stats_.requests += calls;
    stats_.failed_requests += bad_calls;
    seq_done_ += batch.size() + reqs.size();
    request_bytes_ -= sent_bytes;
    done_cv_.notify_all();
    room_cv_.notify_all();
  }
}

bool BatchExporter::export_batch(std::vector<Item>& batch) {
  TracesData data;
  data.resource_spans.emplace_back();
  auto& rs = data.resource_spans.back();
  rs.resource = opt_.resource;
  std::unordered_map<const InstrumentationScope*, std::size_t> index;
  for (auto& item : batch) {
    auto [it, fresh] = index.try_emplace(item.scope.get(), rs.scope_spans.size());
    if (fresh) {
      rs.scope_spans.emplace_back();
      if (item.scope) rs.scope_spans.back().scope = *item.scope;
    }
    rs.scope_spans[it->second].spans.push_back(std::move(item.span));
  }
  encoded_.clear();
  append_otlp_json(encoded_, data);
  return send(encoded_).ok();
}

Status BatchExporter::send(std::string_view request) {
  Status st = sink_->send(request, cancel_);
  if (!st.ok()) {
    std::lock_guard lk(mu_);
    if (stats_.first_error.empty()) stats_.first_error = st.error().message;
    stats_.last_error = st.error().message;
  }
  return st;
}

}  // namespace pw::telemetry
