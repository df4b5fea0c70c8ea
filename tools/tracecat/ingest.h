// Getting spans into the store: documents from files, stdin and the OTLP/HTTP receiver.
//
// A file or stream is JSON lines (one ExportTraceServiceRequest per line, the OpenTelemetry
// file-exporter form) when its first line is a whole object; otherwise it is read as a sequence
// of whole OTLP/JSON documents (pretty-printed or concatenated), split at the end of each
// top-level value. Bytes are processed as they arrive, so --follow works in both forms and
// memory stays at one chunk plus one unfinished document.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "pw/telemetry/otlp_json.h"
#include "pw/telemetry/trace_export.h"
#include "store.h"

namespace tracecat {

// Problems with the input, on stderr as "tracecat: WHERE: WHAT", the first `max` of them.
class Reporter {
 public:
  explicit Reporter(std::size_t max, std::FILE* to = stderr) : max_(max), to_(to) {}
  void report(std::string_view where, std::string_view what);
  std::uint64_t count() const noexcept { return count_; }
  void summary();  // "... N more problems not shown"

 private:
  std::mutex mu_;
  std::size_t max_;
  std::FILE* to_;
  std::uint64_t count_ = 0;
};

struct IngestTotals {
  std::atomic<std::uint64_t> documents{0};
  std::atomic<std::uint64_t> bad_documents{0};
  std::atomic<std::uint64_t> accepted_spans{0};
  std::atomic<std::uint64_t> rejected_spans{0};
};

// Shared by every input: the store (behind `mu`), problem reports, totals, and the optional
// --forward exporter.
struct IngestContext {
  Store& store;
  std::mutex& mu;
  Reporter& reporter;
  IngestTotals& totals;
  pw::telemetry::BatchExporter* forward = nullptr;
};

// Decodes one document into the store. `doc` must have otlp_json_padding() readable bytes past
// its end. `where` prefixes problem reports ("spans.jsonl:12"). With --forward, the document is
// queued for the exporter: when `wait_stop` is given (file and stdin readers) the caller waits
// for room in the queue (backpressure) until *wait_stop; otherwise (the receiver's loop thread)
// a full queue drops it (counted).
pw::telemetry::DecodeResult ingest_document(IngestContext& ctx, pw::telemetry::OtlpJsonDecoder& dec, std::string_view doc,
                                            std::string_view where, const std::atomic<bool>* wait_stop = nullptr);

// One input stream, fed in chunks.
class StreamIngest {
 public:
  // `stop` (optional): ends a wait for room in the --forward queue.
  StreamIngest(IngestContext& ctx, std::string name, std::size_t max_document, const std::atomic<bool>* stop = nullptr);
  void feed(std::string_view bytes);
  void finish();  // end of input: a trailing unterminated line or document is decoded or reported

 private:
  enum class Mode { unknown, lines, documents };
  void process(bool at_end);
  void process_lines(bool at_end);
  void process_documents(bool at_end);
  void decode(std::size_t begin, std::size_t end, std::uint64_t line);

  IngestContext& ctx_;
  std::string name_;
  std::size_t max_document_;
  const std::atomic<bool>* stop_;
  pw::telemetry::OtlpJsonDecoder dec_;
  Mode mode_ = Mode::unknown;
  std::string buf_;          // unprocessed bytes
  std::uint64_t line_ = 1;   // line number of buf_[0]
  // The document scanner's state over buf_ (documents mode).
  std::size_t scan_ = 0, doc_start_ = std::string::npos;
  std::uint64_t doc_line_ = 1, scan_line_ = 1;
  int depth_ = 0;
  bool in_string_ = false, escape_ = false;
  bool skipping_ = false;  // inside a line longer than max_document
  // Inside a document larger than max_document: its bytes are dropped as they arrive, but the
  // scanner (depth, strings, escapes) keeps running so that reading resumes after its end.
  bool skipping_doc_ = false;
};

// Reads a file (or stdin for "-") to its end. With follow, keeps reading as it grows, reopening
// it when it is rotated (renamed or replaced: another inode) or truncated, until `stop`.
// Returns false (reported) when the file cannot be opened. Waits for input with poll() in 100 ms
// steps, so `stop` ends it promptly even while a pipe is silent.
bool read_input(IngestContext& ctx, const std::string& path, bool follow, const std::atomic<bool>& stop,
                std::size_t max_document);

}  // namespace tracecat
