#include "app.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "ingest.h"
#include "pw/base/strings.h"
#include "pw/cli/daemon.h"
#include "pw/cli/exit_codes.h"
#include "pw/cli/values.h"
#include "pw/io/loop.h"
#include "receiver.h"

namespace tracecat {

using namespace pw;
using pw::cli::Failure;

namespace {

void write_out(const std::string& s) {
  if (!s.empty()) std::fwrite(s.data(), 1, s.size(), stdout);
}

int terminal_width(const Options& o) {
  if (o.width > 0) return o.width;
  winsize ws{};
  if (::isatty(1) && ::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    if (auto n = parse_u64(c, 1000); n && *n >= 40) return static_cast<int>(*n);
  }
  return 120;
}

// Colours only on a terminal, never when NO_COLOR is set to anything non-empty (no-color.org).
bool use_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* nc = std::getenv("NO_COLOR");
  if (nc && *nc) return false;
  const char* term = std::getenv("TERM");
  if (term && std::string_view(term) == "dumb") return false;
  return ::isatty(1);
}

View parse_view(const Options& o) {
  std::string v = o.view.empty() ? (o.filter.trace_id.empty() ? "list" : "tree") : o.view;
  if (v == "list") return View::list;
  if (v == "tree") return View::tree;
  if (v == "ops") return View::ops;
  if (v == "spans") return View::spans;
  throw Failure(exit_usage, "--view: expected list, tree, ops or spans");
}

std::uint64_t size_or_throw(const std::string& s, const char* flag) {
  auto n = parse_size(s);
  if (!n || *n == 0) throw Failure(exit_usage, std::string(flag) + " \"" + s + "\": expected a size such as 16MiB");
  return *n;
}

// Renders what a set of traces shows in the chosen view (the whole output when not following).
class Presenter {
 public:
  // `keep`: the store's interner; the ops and graph aggregates take references on the strings
  // they hold, so they survive eviction (--follow).
  Presenter(const Options& o, RenderOptions ro, const Filter& f, Interner& keep) : o_(o), ro_(ro), f_(f), keep_(keep) {}

  // The final output from every trace in the store.
  std::string all(const Store& store) {
    std::vector<TraceSummary> sel;
    for (const Trace* t : store.traces()) {
      TraceSummary s = summarize(*t);
      if (f_.trace_matches(s, store.strings())) sel.push_back(std::move(s));
    }
    if (o_.slowest) {
      std::stable_sort(sel.begin(), sel.end(), [](const TraceSummary& a, const TraceSummary& b) { return a.duration() > b.duration(); });
      if (sel.size() > o_.slowest) sel.resize(o_.slowest);
    } else {
      std::stable_sort(sel.begin(), sel.end(), [](const TraceSummary& a, const TraceSummary& b) { return a.start < b.start; });
    }
    std::string out;
    if (!o_.graph.empty()) {
      DependencyGraph g;
      for (const auto& s : sel) add_dependencies(*s.trace, g, &keep_);
      render_graph(out, g, store.strings(), ro_.json);
      return out;
    }
    if (ro_.view == View::list) render_list_header(out, ro_);
    for (const auto& s : sel) some(out, s, store.strings());
    if (ro_.view == View::ops) render_ops(out, ops_.finish(), store.strings(), ro_);
    return out;
  }

  // One trace as it settles (--follow); ops and graph views only accumulate.
  void some(std::string& out, const TraceSummary& s, const Interner& strings) {
    switch (ro_.view) {
      case View::list: render_list_line(out, s, strings, ro_); break;
      case View::tree:
        render_tree(out, *s.trace, strings, ro_);
        if (!ro_.json) out += '\n';
        break;
      case View::spans: render_spans(out, *s.trace, strings, f_, ro_); break;
      case View::ops:
        for (const auto& sp : s.trace->spans)
          if (!f_.has_span_conditions() || f_.span_matches(*s.trace, sp, strings)) ops_.add(*s.trace, sp, &keep_);
        break;
    }
    if (!o_.graph.empty()) add_dependencies(*s.trace, graph_, &keep_);
  }

  std::string follow_end(const Interner& strings) {
    std::string out;
    if (!o_.graph.empty()) render_graph(out, graph_, strings, ro_.json);
    else if (ro_.view == View::ops) render_ops(out, ops_.finish(), strings, ro_);
    return out;
  }

  const RenderOptions& render() const noexcept { return ro_; }

 private:
  const Options& o_;
  RenderOptions ro_;
  const Filter& f_;
  Interner& keep_;
  OpTable ops_;
  DependencyGraph graph_;
};


}  // namespace

int run(const Options& o) {
  auto started = std::chrono::steady_clock::now();
  RenderOptions ro;
  ro.view = parse_view(o);
  ro.json = o.json;
  ro.color = !o.json && use_color(o.color);
  ro.width = terminal_width(o);
  ro.collapse = o.collapse;
  ro.max_depth = std::max<std::size_t>(o.max_depth, 1);
  ro.expand = o.expand;
  if (!o.graph.empty() && o.graph != "dot") throw Failure(exit_usage, "--graph: expected dot");
  if (o.follow && o.slowest) throw Failure(exit_usage, "--slowest needs every trace first: not with --follow");
  if (o.max_spans == 0) throw Failure(exit_usage, "--max-spans: must be at least 1");
  std::size_t max_body = size_or_throw(o.max_body, "--max-body");
  std::size_t max_document = size_or_throw(o.max_document, "--max-document");
  std::size_t max_bytes = size_or_throw(o.max_bytes, "--max-bytes");
  std::size_t max_inflight = size_or_throw(o.max_inflight, "--max-inflight");
  if (max_inflight < max_body) throw Failure(exit_usage, "--max-inflight must be at least --max-body");
  if (o.max_connections == 0) throw Failure(exit_usage, "--max-connections: must be at least 1");
  auto settle = pw::cli::parse_duration_flag("--settle", o.settle, std::chrono::milliseconds(1));
  if (!settle) throw Failure(exit_usage, settle.error().message);

  std::vector<std::string> inputs = o.inputs;
  if (inputs.empty() && o.listen.empty()) inputs.push_back("-");
  if (std::count(inputs.begin(), inputs.end(), "-") > 1) throw Failure(exit_usage, "stdin (-) given more than once");

  Store store(o.max_spans, SystemClock::instance(), max_bytes);
  auto filter = Filter::make(o.filter, store.strings());
  if (!filter) throw Failure(exit_usage, filter.error().message);
  Presenter presenter(o, ro, *filter, store.strings());

  std::unique_ptr<telemetry::BatchExporter> forward;
  telemetry::OtlpHttpStats forward_stats;
  if (!o.forward.empty()) {
    telemetry::OtlpHttpOptions ho;
    ho.endpoint = o.forward;
    ho.retry.max_elapsed = std::chrono::seconds(10);
    auto sink = telemetry::make_otlp_http_sink(ho, &forward_stats);
    if (!sink) throw Failure(exit_usage, "--forward: " + sink.error().message);  // the message has no credentials
    telemetry::BatchExporterOptions bo;
    bo.shutdown_timeout = std::chrono::seconds(10);  // what is still queued at exit, then give up
    forward = std::make_unique<telemetry::BatchExporter>(std::move(*sink), bo);
  }

  std::mutex mu;
  Reporter reporter(o.max_errors);
  IngestTotals totals;
  IngestContext ctx{store, mu, reporter, totals, forward.get()};
  bool ok = true;

  if (o.listen.empty() && !o.follow) {
    // The plain case: read everything, then show it.
    std::atomic<bool> never{false};
    for (const auto& in : inputs) ok = read_input(ctx, in, false, never, max_document) && ok;
    write_out(presenter.all(store));
  } else {
    // --listen or --follow: a daemon on the runner (pw/cli/daemon.h). SIGINT and SIGTERM both
    // end it; what is left is printed below. SIGHUP keeps its default disposition.
    std::unique_ptr<Receiver> receiver;
    std::unique_ptr<io::Timer> tick;
    io::Loop* loop = nullptr;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> readers_left{inputs.size()};
    std::vector<std::thread> readers;
    std::atomic<bool> read_ok{true};
    auto emit = [&](bool all) {
      std::string out;
      {
        std::lock_guard lk(mu);
        for (Trace* t : store.settled(*settle, all)) {
          t->emitted = true;
          TraceSummary s = summarize(*t);
          if (filter->trace_matches(s, store.strings())) presenter.some(out, s, store.strings());
        }
      }
      write_out(out);
      std::fflush(stdout);
    };
    cli::DaemonHooks hooks;
    hooks.start = [&](io::Loop& main_loop, telemetry::Logger&) -> Result<std::string> {
      loop = &main_loop;
      std::string ready;
      if (!o.listen.empty()) {
        receiver = std::make_unique<Receiver>(main_loop, ctx, ReceiverOptions{o.listen, max_body, max_inflight, o.max_connections});
        if (auto st = receiver->start(); !st.ok()) return st.error();
        // The ready line goes to stdout, as in every tool, and is its first line: the runner
        // prints it once this returns, before the loop runs the follow timer below.
        ready = "{\"listening\":\"" + receiver->address().to_string() + "\"}";
      }
      for (const auto& in : inputs) {
        readers.emplace_back([&, in] {
          if (!read_input(ctx, in, o.follow, stop, max_document)) read_ok = false;
          if (--readers_left == 0 && o.listen.empty()) loop->stop();
        });
      }
      if (o.follow) {
        tick = std::make_unique<io::Timer>(main_loop, [&] { emit(false); });
        tick->start(std::chrono::milliseconds(100), std::chrono::milliseconds(100));
      }
      return ready;
    };
    hooks.stop = [&] {
      stop = true;
      for (auto& t : readers) t.join();
      if (receiver) receiver->stop();
      receiver.reset();
      tick.reset();
    };
    cli::run_daemon({.name = "tracecat", .log_level = "off", .bad_input = exit_usage, .ignore_sigpipe = false}, hooks);
    ok = read_ok && ok;
    if (o.follow) {
      emit(true);
      std::lock_guard lk(mu);
      write_out(presenter.follow_end(store.strings()));
    } else {
      std::lock_guard lk(mu);
      write_out(presenter.all(store));
    }
  }
  std::fflush(stdout);
  bool dropped = false;
  if (forward) {
    // Every reader and the receiver are done: nothing is enqueued after this.
    std::uint64_t n_dropped = forward->stats().dropped;
    forward.reset();  // sends what is queued (up to its shutdown timeout)
    auto after_failed = forward_stats.failures.load();
    if (after_failed) ok = false;  // exit_io: a network operation failed
    dropped = n_dropped > 0;
    // Each failure says why (the messages name the URL, credentials redacted): the first cause,
    // and the latest when it differs.
    if (after_failed) {
      std::string first = forward_stats.first_error(), last = forward_stats.last_error();
      std::fprintf(stderr, "tracecat: --forward: %llu request%s failed: %s%s%s\n",
                   static_cast<unsigned long long>(after_failed), after_failed == 1 ? "" : "s", first.c_str(),
                   last != first ? "; last: " : "", last != first ? last.c_str() : "");
    }
    if (n_dropped)
      std::fprintf(stderr, "tracecat: --forward %s: %llu requests dropped (queue full or shutting down)\n",
                   telemetry::redact_url(o.forward).c_str(), static_cast<unsigned long long>(n_dropped));
  }
  reporter.summary();
  if (o.stats) {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto& st = store.stats();
    std::fprintf(stderr,
                 "{\"documents\":%llu,\"badDocuments\":%llu,\"acceptedSpans\":%llu,\"rejectedSpans\":%llu,\"spans\":%llu,"
                 "\"traces\":%llu,\"evictedTraces\":%llu,\"lateSpans\":%llu,\"duplicateSpans\":%llu,\"storeBytes\":%zu,\"maxRssBytes\":%lld,\"seconds\":%.3f,\"cpuSeconds\":%.3f}\n",
                 static_cast<unsigned long long>(totals.documents.load()), static_cast<unsigned long long>(totals.bad_documents.load()),
                 static_cast<unsigned long long>(totals.accepted_spans.load()),
                 static_cast<unsigned long long>(totals.rejected_spans.load()), static_cast<unsigned long long>(st.spans),
                 static_cast<unsigned long long>(st.traces), static_cast<unsigned long long>(st.evicted_traces), static_cast<unsigned long long>(st.late_spans),
                 static_cast<unsigned long long>(st.duplicate_spans), store.memory(),
                 static_cast<long long>(ru.ru_maxrss) * 1024, secs,
                 static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  }
  if (!ok) return exit_io;
  return dropped ? exit_forward_dropped : exit_ok;
}

}  // namespace tracecat
