#include "pw/config/file_watcher.h"

#include <sys/stat.h>

#include <filesystem>

namespace pw::config {

namespace {
std::string parent_dir(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}
}  // namespace

FileWatcher::FileWatcher(io::Loop& loop, std::string path, std::function<void()> on_change, FileWatcherOptions opts)
    : loop_(loop),
      path_(std::move(path)),
      on_change_(std::move(on_change)),
      opts_(opts),
      debounce_(loop, [this] { on_settled(); }) {}

FileWatcher::~FileWatcher() {
  for (auto* h : events_) io::close_and_delete(h);
  io::close_and_delete(poll_);
}

FileWatcher::Signature FileWatcher::stat_path(const std::string& path) {
  Signature s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;  // follows symlinks: the content's identity
  s.exists = true;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = static_cast<unsigned long long>(st.st_size);
  s.mtime_s = st.st_mtim.tv_sec;
  s.mtime_ns = st.st_mtim.tv_nsec;
  s.ctime_s = st.st_ctim.tv_sec;
  s.ctime_ns = st.st_ctim.tv_nsec;
  return s;
}

Status FileWatcher::watch_dir(const std::string& dir) {
  auto* h = new uv_fs_event_t;
  int rc = uv_fs_event_init(loop_.uv(), h);
  if (rc != 0) {
    delete h;  // init failed: the handle was never registered
    return io::uv_error(rc, "uv_fs_event_init " + dir);
  }
  h->data = this;
  rc = uv_fs_event_start(
      h,
      [](uv_fs_event_t* ev, const char*, int, int) {
        if (ev->data != nullptr) static_cast<FileWatcher*>(ev->data)->on_event();
      },
      dir.c_str(), 0);
  if (rc != 0) {
    io::close_and_delete(h);
    return io::uv_error(rc, "watch " + dir);
  }
  events_.push_back(h);
  return {};
}

Status FileWatcher::start() {
  std::error_code ec;
  watching_dir_ = std::filesystem::is_directory(path_, ec);
  if (watching_dir_) return watch_dir(path_);  // conf.d style: any settled burst of changes
  last_ = stat_path(path_);
  std::string dir = parent_dir(path_);
  if (auto st = watch_dir(dir); !st.ok()) return st;
  // A symlinked file (/etc/gw.json -> /srv/cfg/gw.json) changes in its target's directory too.
  auto real = std::filesystem::canonical(path_, ec);
  if (!ec) {
    std::string real_dir = real.parent_path().string();
    if (real_dir != std::filesystem::canonical(dir, ec).string())
      if (auto st = watch_dir(real_dir); !st.ok()) return st;
  }
  if (opts_.poll_interval > Duration::zero()) {
    poll_ = new uv_fs_poll_t;
    uv_fs_poll_init(loop_.uv(), poll_);
    poll_->data = this;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.poll_interval).count();
    int rc = uv_fs_poll_start(
        poll_,
        [](uv_fs_poll_t* p, int, const uv_stat_t*, const uv_stat_t*) {
          if (p->data != nullptr) static_cast<FileWatcher*>(p->data)->on_event();
        },
        path_.c_str(), static_cast<unsigned int>(ms > 0 ? ms : 1));
    if (rc != 0) return io::uv_error(rc, "poll " + path_);
  }
  return {};
}

void FileWatcher::on_event() {
  debounce_.start(opts_.debounce);  // restarting pushes the deadline: one callback per burst
}

void FileWatcher::on_settled() {
  if (!watching_dir_) {
    Signature now = stat_path(path_);
    if (!now.exists || now == last_) {
      if (!now.exists) last_ = now;  // mid-replace or deleted: fire when it comes back
      return;
    }
    last_ = now;
  }
  auto cb = on_change_;  // a copy: the callback may destroy this watcher, and on_change_ with it
  cb();
}

}  // namespace pw::config
