// FileWatcher: calls back on a pw::io::Loop when a config file changes.
//
// It watches the file's directory (uv_fs_event), not the file: editors save by writing a temp
// file and renaming it over the old one, and Kubernetes ConfigMaps swap a "..data" symlink, so
// the inode watched at start is not the one that changes. Any event in the directory (or in the
// directory of the symlink's target) restarts a debounce timer (100 ms); when it fires, the file
// is stat()ed through symlinks and the callback runs only if its identity or contents changed
// (device, inode, size, mtime, ctime). An optional uv_fs_poll of the path catches what events
// miss (network filesystems, a directory replaced wholesale).
//
// When `path` is a directory (a conf.d of fragments), the callback runs once per settled burst
// of changes to its entries, without comparing anything.
//
// Loop-thread only. The callback may destroy the watcher.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pw/base/result.h"
#include "pw/io/loop.h"

namespace pw::config {

struct FileWatcherOptions {
  Duration debounce = std::chrono::milliseconds(100);
  Duration poll_interval = Duration::zero();  // > 0: also poll stat() at this interval
};

class FileWatcher {
 public:
  FileWatcher(io::Loop& loop, std::string path, std::function<void()> on_change, FileWatcherOptions opts = {});
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Starts watching. Errors: the directory cannot be watched (missing, no inotify watches left).
  Status start();
  const std::string& path() const noexcept { return path_; }

 private:
  struct Signature {
    bool exists = false;
    unsigned long long dev = 0, ino = 0, size = 0;
    long long mtime_s = 0, mtime_ns = 0, ctime_s = 0, ctime_ns = 0;
    bool operator==(const Signature&) const = default;
  };
  static Signature stat_path(const std::string& path);
  Status watch_dir(const std::string& dir);
  void on_event();
  void on_settled();

  io::Loop& loop_;
  std::string path_;
  std::function<void()> on_change_;
  FileWatcherOptions opts_;
  io::Timer debounce_;
  std::vector<uv_fs_event_t*> events_;  // heap: freed in their close callbacks
  uv_fs_poll_t* poll_ = nullptr;
  Signature last_;
  bool watching_dir_ = false;
};

}  // namespace pw::config
