// run_load: starts one Worker per client thread (worker.h), runs the warm-up barrier, the
// signals and the live progress line on the main loop, and merges the workers' results.
#include "engine.h"

#include <csignal>
#include <cstdio>

#include "progress.h"
#include "pw/io/worker.h"
#include "pw/telemetry/trace_context.h"
#include "worker.h"

namespace loadgen {

using namespace detail;

pw::Result<Summary> run_load(const RunConfig& cfg) {
  Shared sh(cfg);
  std::FILE* file = nullptr;
  if (!cfg.results_path.empty()) {
    if (cfg.results_path == "-") {
      sh.results = stdout;
    } else {
      file = std::fopen(cfg.results_path.c_str(), "w");
      if (!file)
        return pw::make_error(pw::Errc::io_error, "--results " + cfg.results_path + ": " + std::strerror(errno), errno);
      sh.results = file;
    }
  }
  sh.mono_base_ns = mono_ns();
  sh.wall_base_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  sh.run_id = pw::telemetry::random_span_id().hex();  // 8 random bytes

  io::Loop main_loop;
  sh.main = &main_loop;
  const unsigned T = cfg.threads;
  unsigned done = 0;
  sh.on_worker_done = [&] {
    if (++done == T) main_loop.stop();
  };
  std::vector<std::unique_ptr<Worker>> workers(T);
  Summary sum;
  {
    io::WorkerPool pool(T);
    pool.start([&](io::Loop& loop, unsigned i) {
      auto w = std::make_unique<Worker>(loop, sh, i);
      Worker* wp = w.get();
      {
        std::lock_guard lk(sh.mu);
        workers[i] = std::move(w);
        ++sh.constructed;
        sh.cv.notify_all();
      }
      wp->warm_up();
    });
    {
      // Every Worker must exist before anything uses workers[i] (start, signals, the progress
      // timer); constructing one does no I/O, so this wait is short. The warm-up connections
      // get --timeout (and a little more); the run starts without the slow ones, which join
      // it when they are up.
      std::unique_lock lk(sh.mu);
      sh.cv.wait(lk, [&] { return sh.constructed == T; });
      if (!sh.cv.wait_for(lk, cfg.timeout + std::chrono::seconds(2), [&] { return sh.ready == T; }) && cfg.progress)
        std::fprintf(stderr, "loadgen: %u of %u threads still connecting after --timeout; starting anyway\n", T - sh.ready, T);
    }
    const std::int64_t start = mono_ns();
    pool.post_all([&workers, start](io::Loop&, unsigned i) { workers[i]->start(start); });

    bool interrupted = false;
    io::SignalWatcher signals(main_loop, {SIGINT, SIGTERM}, [&](int) {
      if (!interrupted) {
        interrupted = true;
        pool.post_all([&workers](io::Loop&, unsigned i) { workers[i]->stop_sending(); });
      } else {
        pool.post_all([&workers](io::Loop&, unsigned i) { workers[i]->abort_run(); });
      }
    });
    Progress progress(cfg, start, sh.wall_base_us + (start - sh.mono_base_ns) / 1000);
    io::Timer progress_timer(main_loop, [&] {
      for (auto& w : workers) {
        std::lock_guard lk(w->pub_mu);
        progress.take(static_cast<unsigned>(&w - &workers[0]), w->published);
      }
      progress.print(mono_ns());
    });
    if (cfg.progress) progress_timer.start(std::chrono::milliseconds(500), std::chrono::milliseconds(500));
    signals.keep_loop_alive(true);  // the main loop waits for the workers or a signal
    main_loop.run();
    if (cfg.progress) progress.clear();
    pool.join();

    // Merge the threads' numbers (no locks needed: the threads have ended).
    sum.version = cfg.version;
    sum.mode = cfg.open_loop ? "open" : "closed";
    for (const auto& t : cfg.targets.targets) {
      std::string desc = t.method_name == "GET" ? t.url : t.method_name + " " + t.url;
      if (std::find(sum.targets.begin(), sum.targets.end(), desc) == sum.targets.end()) sum.targets.push_back(desc);
    }
    sum.labels = cfg.labels;
    sum.threads = T;
    sum.connections = cfg.connections;
    sum.runs = 1;
    sum.started_us = sh.epoch_us(start);
    std::int64_t end_ns = start, send_end = start;
    for (auto& w : workers) {
      sum.c.add(w->counters);
      sum.latency.add(w->total);
      sum.uncorrected.add(w->uncorrected);
      sum.send_lag.add(w->lag);
      sum.thread_cpu.push_back(w->cpu);
      for (auto& [t, b] : w->published) sum.timeline[t].add(b);
      end_ns = std::max(end_ns, w->finished_ns);
      send_end = std::max(send_end, w->send_end_ns);
    }
    sum.ended_us = sh.epoch_us(end_ns);
    if (cfg.open_loop) {
      double window = static_cast<double>(send_end - start) / 1e9;
      if (cfg.requests && !interrupted) {
        // -n: the window ends when request n would have been due.
        double t = cfg.schedule.time_of(static_cast<double>(cfg.requests));
        if (t != RateSchedule::kNever) window = t;
      } else if (!interrupted) {
        window = static_cast<double>(cfg.duration.count()) / 1e9;
      }
      sum.send_window_s = window;
      sum.target_rate = window > 0 ? cfg.schedule.count_until(window) / window : 0;
    }
    sum.set_run_spans();
    sum.diagnose();
    // A forced stop (second SIGINT) abandons the requests in flight: sent, but never ended.
    if (sum.c.sent > sum.c.requests)
      sum.diagnosis.push_back(std::to_string(sum.c.sent - sum.c.requests) +
                              " requests were still in flight when the run was stopped: sent, but not counted as ended");
    for (auto& w : workers) w.reset();  // closes their handles; the loops finish closing them
  }
  // The run has ended and the signal watcher is gone (libuv put SIGINT back to its default): a
  // further interrupt (a third Ctrl-C, or one already on its way) must not lose the summary.
  std::signal(SIGINT, SIG_IGN);
  if (file) {
    if (std::fclose(file) != 0)
      return pw::make_error(pw::Errc::io_error, "--results " + cfg.results_path + ": " + std::strerror(errno), errno);
  } else if (sh.results) {
    std::fflush(sh.results);
  }
  return sum;
}

}  // namespace loadgen
