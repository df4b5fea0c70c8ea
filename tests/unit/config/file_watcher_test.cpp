#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pw/config/file_watcher.h"
#include "pw/config/snapshot.h"
#include "sample_schema.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pw_watch_XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, std::string_view text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
}

// As editors save: write a temporary file beside the target, then rename it over the target.
void replace_atomically(const fs::path& p, std::string_view text) {
  fs::path tmp = p;
  tmp += ".tmp";
  write_file(tmp, text);
  fs::rename(tmp, p);
}

// Runs the loop until a callback of the test calls loop.stop(); a guard fails the test instead
// of hanging (it never synchronises).
void run_until_stopped(pw::io::Loop& loop, pw::Duration limit = 10s) {
  pw::io::Timer guard(loop, [&] {
    FAIL_CHECK("guard timer fired: the awaited callback never came");
    loop.stop();
  });
  guard.start(limit);
  loop.run();
  guard.stop();
}

// Runs the loop for `quiet`: the only way to show that a callback does NOT come. Each test picks
// it as a multiple of the watcher's debounce, so that a callback a change would cause has long
// run by then; it is never used to wait for something that should happen.
void run_quiet_period(pw::io::Loop& loop, pw::Duration quiet) {
  pw::io::Timer end(loop, [&] { loop.stop(); });
  end.start(quiet);
  loop.run();
}

}  // namespace

TEST_CASE("watcher sees an atomic rename-replace and the snapshot reloads") {
  TempDir dir;
  fs::path cfg = dir.path / "gw.json";
  write_file(cfg, R"({"listeners": [{"port": 80}]})");
  pw::config::Snapshot<sample::Gateway> snap(*pw::config::load_file<sample::Gateway>(cfg.string()));

  pw::io::Loop loop;
  int changes = 0;
  pw::Status last_reload;
  pw::config::FileWatcher watcher(loop, cfg.string(), [&] {
    ++changes;
    last_reload = snap.reload_file(cfg.string());
    loop.stop();
  });
  REQUIRE(watcher.start().ok());
  pw::io::Timer edit(loop, [&] { replace_atomically(cfg, R"({"listeners": [{"port": 81}]})"); });
  edit.start(1ms);
  run_until_stopped(loop);

  CHECK(changes == 1);
  CHECK(last_reload.ok());
  CHECK(snap.generation() == 2);
  CHECK(snap.get()->listeners[0].port == 81);
}

TEST_CASE("a bad edit is seen - rejected - and the old snapshot stays") {
  TempDir dir;
  fs::path cfg = dir.path / "gw.json";
  write_file(cfg, R"({"listeners": [{"port": 80}]})");
  pw::config::Snapshot<sample::Gateway> snap(*pw::config::load_file<sample::Gateway>(cfg.string()));

  pw::io::Loop loop;
  pw::Status last_reload;
  pw::config::FileWatcher watcher(loop, cfg.string(), [&] {
    last_reload = snap.reload_file(cfg.string());
    loop.stop();
  });
  REQUIRE(watcher.start().ok());
  pw::io::Timer edit(loop, [&] { replace_atomically(cfg, R"({"listeners": [{"port": "eighty"}]})"); });
  edit.start(1ms);
  run_until_stopped(loop);

  REQUIRE_FALSE(last_reload.ok());
  CHECK(last_reload.error().message == cfg.string() + ": /listeners/0/port: expected integer 0..65535, got string");
  CHECK(snap.generation() == 1);
  CHECK(snap.get()->listeners[0].port == 80);
}

TEST_CASE("watcher follows a Kubernetes-style ..data symlink swap") {
  TempDir dir;
  fs::create_directory(dir.path / "v1");
  fs::create_directory(dir.path / "v2");
  write_file(dir.path / "v1" / "gw.json", R"({"listeners": [{"port": 1}]})");
  write_file(dir.path / "v2" / "gw.json", R"({"listeners": [{"port": 2}]})");
  fs::create_directory_symlink("v1", dir.path / "..data");
  fs::create_symlink("..data/gw.json", dir.path / "gw.json");
  std::string cfg = (dir.path / "gw.json").string();

  pw::io::Loop loop;
  int changes = 0;
  pw::config::FileWatcher watcher(loop, cfg, [&] {
    ++changes;
    loop.stop();
  });
  REQUIRE(watcher.start().ok());
  pw::io::Timer swap(loop, [&] {
    fs::create_directory_symlink("v2", dir.path / "..data_tmp");
    fs::rename(dir.path / "..data_tmp", dir.path / "..data");
  });
  swap.start(1ms);
  run_until_stopped(loop);

  CHECK(changes == 1);
  auto cfg_now = pw::config::load_file<sample::Gateway>(cfg);
  REQUIRE(cfg_now.ok());
  CHECK(cfg_now->listeners[0].port == 2);
}

TEST_CASE("unrelated files in the directory do not trigger the callback") {
  TempDir dir;
  fs::path cfg = dir.path / "gw.json";
  write_file(cfg, "{}");
  pw::io::Loop loop;
  int changes = 0;
  bool await_change = false;
  pw::config::FileWatcher watcher(loop, cfg.string(), [&] {
    ++changes;
    if (await_change) loop.stop();
  }, {.debounce = 20ms});
  REQUIRE(watcher.start().ok());
  write_file(dir.path / "other.txt", "x");
  // Silence for 15 debounce intervals: a callback for other.txt would have come.
  run_quiet_period(loop, 300ms);
  CHECK(changes == 0);
  // The same watcher is live: a change to the watched file is seen (so the silence above was
  // the watcher ignoring other.txt, not a watcher that saw nothing).
  await_change = true;
  replace_atomically(cfg, R"({"listeners": []})");
  run_until_stopped(loop);
  CHECK(changes == 1);
}

TEST_CASE("watching a directory reports one callback per burst of changes") {
  TempDir dir;
  pw::io::Loop loop;
  int changes = 0;
  pw::config::FileWatcher watcher(loop, dir.path.string(), [&] {
    ++changes;
    loop.stop();
  }, {.debounce = 20ms});
  REQUIRE(watcher.start().ok());
  auto burst = [&](const std::string& tag) {
    write_file(dir.path / "10-listeners.json", tag);
    replace_atomically(dir.path / "20-routes.json", tag);  // create, modify, rename: several events
    write_file(dir.path / "30-clusters.json", tag);
  };
  burst("{}");
  run_until_stopped(loop);
  REQUIRE(changes == 1);
  // Silence for 15 debounce intervals: a second callback for the same burst would have come.
  run_quiet_period(loop, 300ms);
  CHECK(changes == 1);
  // A second burst is a second callback, and again only one.
  burst("{ }");
  run_until_stopped(loop);
  CHECK(changes == 2);
  run_quiet_period(loop, 300ms);
  CHECK(changes == 2);
}
