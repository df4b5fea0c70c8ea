// The JSON-lines files of a CA directory (db.jsonl, tokens.jsonl, tokens-used.jsonl,
// issued.jsonl), read and appended so that a crash never costs a complete record.
//
// Every certctl writer appends one whole line with a single write() under an exclusive flock
// (ca_store.cpp's append_db, append_jsonl below). A reader here holds a shared flock while it
// reads, so it never sees an append in progress. A last line without its '\n' is therefore a
// *torn* record: a writer died (crash, power loss, disk full) in the middle of its write(). The
// rules, tested in tests/unit/certctl/token_store_test.cpp:
//   - read_jsonl returns every complete line and reports the torn tail (file, byte offset,
//     length) instead of returning it: the record was never acknowledged to anyone, since
//     certctl answers only after the append returned.
//   - append_jsonl, holding the exclusive lock, cuts a torn tail off (ftruncate to the end of
//     the last complete line) before it appends, and reports what it cut, so the new record
//     starts on a line boundary instead of being glued to the fragment.
// Blocking calls: certctl serve runs them on its store thread (token_store.h), never on a loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"
#include "util.h"

namespace certctl {

struct JsonlRecord {
  std::uint64_t offset = 0;  // of the line's first byte
  std::uint64_t line = 0;    // 1-based, counted from where the read started
  Json value;
};

// A complete line that is not a JSON object, or a torn last line.
struct JsonlDamage {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::string to_string(std::string_view what) const;  // "PATH: WHAT at byte OFFSET (BYTES bytes)"
};

struct JsonlRead {
  std::vector<JsonlRecord> records;
  std::vector<JsonlDamage> bad_lines;  // complete lines that are not JSON (skipped); others
                                       // that are not objects are skipped silently
  std::optional<JsonlDamage> torn;     // the last line, without its '\n' (not returned)
  std::uint64_t end = 0;               // offset just past the last complete line: where to read on from
  std::uint64_t bytes_read = 0;        // how much this call read from the file
  // The file's identity: a different inode (the file was replaced) means reading from 0 again.
  dev_t dev = 0;
  ino_t ino = 0;
  bool exists = false;
};

// Reads the complete lines of `path` from byte `from` (0: the whole file) up to `max_bytes`
// beyond it. A missing file is empty. Errc::io_error when it cannot be read,
// Errc::limit_exceeded past max_bytes.
pw::Result<JsonlRead> read_jsonl(const std::string& path, std::uint64_t from, std::uint64_t max_bytes);

struct JsonlAppend {
  std::optional<JsonlDamage> cut;  // a torn tail cut off before appending
  std::uint64_t offset = 0;        // where the appended lines start
};

// Appends `lines` (each ending in '\n') with one write() under an exclusive flock, after cutting
// a torn tail; then fdatasync when `sync`. Creates the file with `mode`.
pw::Result<JsonlAppend> append_jsonl(const std::string& path, std::string_view lines, mode_t mode, bool sync);

}  // namespace certctl
