#include "ingest.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

namespace tracecat {

using namespace pw::telemetry;

void Reporter::report(std::string_view where, std::string_view what) {
  std::lock_guard lk(mu_);
  if (count_++ < max_) {
    std::fprintf(to_, "tracecat: %.*s: %.*s\n", static_cast<int>(where.size()), where.data(), static_cast<int>(what.size()),
                 what.data());
  }
}

void Reporter::summary() {
  std::lock_guard lk(mu_);
  if (count_ > max_) std::fprintf(to_, "tracecat: ... %llu more problems not shown (--max-errors)\n",
                                  static_cast<unsigned long long>(count_ - max_));
}

DecodeResult ingest_document(IngestContext& ctx, OtlpJsonDecoder& dec, std::string_view doc, std::string_view where,
                             const std::atomic<bool>* wait_stop) {
  DecodeResult r;
  {
    std::lock_guard lk(ctx.mu);
    ctx.store.begin_document();
    r = dec.decode_padded(doc, ctx.store);
    ctx.store.trim();
  }
  ++ctx.totals.documents;
  if (!r.document_ok) ++ctx.totals.bad_documents;
  ctx.totals.accepted_spans += r.accepted_spans;
  ctx.totals.rejected_spans += r.rejected_spans;
  for (const auto& e : r.errors) ctx.reporter.report(where, e.to_string());
  if (r.rejected_spans > r.errors.size())
    ctx.reporter.report(where, std::to_string(r.rejected_spans) + " spans rejected in this document");
  if (ctx.forward && r.document_ok && r.accepted_spans + r.rejected_spans > 0) {
    if (wait_stop) ctx.forward->enqueue_request_wait(std::string(doc), *wait_stop);
    else ctx.forward->enqueue_request(std::string(doc));
  }
  return r;
}

StreamIngest::StreamIngest(IngestContext& ctx, std::string name, std::size_t max_document, const std::atomic<bool>* stop)
    : ctx_(ctx), name_(std::move(name)), max_document_(max_document), stop_(stop) {}

void StreamIngest::feed(std::string_view bytes) {
  buf_.append(bytes);
  process(false);
}

void StreamIngest::finish() { process(true); }

void StreamIngest::process(bool at_end) {
  if (mode_ == Mode::unknown) {
    std::size_t i = 0;
    while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t' || buf_[i] == '\r' || buf_[i] == '\n')) ++i;
    if (i == buf_.size()) {
      if (at_end) buf_.clear();
      return;
    }
    std::size_t nl = buf_.find('\n', i);
    if (nl == std::string::npos && !at_end) {
      if (buf_.size() <= max_document_) return;  // wait for the end of the first line
      nl = buf_.size();
    }
    if (nl == std::string::npos) nl = buf_.size();
    std::string_view first(buf_.data() + i, nl - i);
    while (!first.empty() && (first.back() == '\r' || first.back() == ' ' || first.back() == '\t')) first.remove_suffix(1);
    mode_ = (first.size() >= 2 && first.front() == '{' && first.back() == '}') ? Mode::lines : Mode::documents;
  }
  if (mode_ == Mode::lines) process_lines(at_end);
  else process_documents(at_end);
}

void StreamIngest::decode(std::size_t begin, std::size_t end, std::uint64_t line) {
  std::string where = name_ + ":" + std::to_string(line);
  ingest_document(ctx_, dec_, std::string_view(buf_.data() + begin, end - begin), where, stop_);
}

void StreamIngest::process_lines(bool at_end) {
  std::size_t len = buf_.size();
  buf_.append(otlp_json_padding(), '\0');  // readable bytes past any line for simdjson
  std::size_t pos = 0;
  while (pos < len) {
    const char* nlp = static_cast<const char*>(std::memchr(buf_.data() + pos, '\n', len - pos));
    std::size_t end = nlp ? static_cast<std::size_t>(nlp - buf_.data()) : len;
    if (!nlp && !at_end) {
      if (len - pos > max_document_) {
        ctx_.reporter.report(name_ + ":" + std::to_string(line_),
                             "line longer than --max-document (" + std::to_string(max_document_) + " bytes); skipped");
        ++ctx_.totals.bad_documents;
        pos = len;  // the rest of this line is dropped as it arrives
        skipping_ = true;
      }
      break;
    }
    std::size_t e = end;
    if (e > pos && buf_[e - 1] == '\r') --e;
    bool blank = true;
    for (std::size_t k = pos; k < e && blank; ++k) blank = buf_[k] == ' ' || buf_[k] == '\t';
    if (!blank && !skipping_) decode(pos, e, line_);
    skipping_ = false;
    ++line_;
    pos = nlp ? end + 1 : len;
  }
  buf_.resize(len);
  buf_.erase(0, pos);
}

// A byte scanner over JSON text that finds where each top-level value ends: strings and their
// escapes are skipped, and the value ends when the depth of {} and [] returns to zero. Invalid
// JSON is not judged here: the decoder reports it, with the document's first line.
void StreamIngest::process_documents(bool at_end) {
  std::size_t len = buf_.size();
  std::size_t i = scan_;
  for (; i < len; ++i) {
    char c = buf_[i];
    if (c == '\n') ++scan_line_;
    if (doc_start_ == std::string::npos && !skipping_doc_) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      doc_start_ = i;
      doc_line_ = scan_line_;
      depth_ = 0;
      in_string_ = escape_ = false;
    }
    if (in_string_) {
      if (escape_) escape_ = false;
      else if (c == '\\') escape_ = true;
      else if (c == '"') in_string_ = false;
      continue;
    }
    if (c == '"') in_string_ = true;
    else if (c == '{' || c == '[') ++depth_;
    else if (c == '}' || c == ']') --depth_;
    if (depth_ <= 0 && (c == '}' || c == ']' || (depth_ == 0 && c != '"' && i + 1 < len &&
                                                  (buf_[i + 1] == '\n' || buf_[i + 1] == ' ')))) {
      if (skipping_doc_) {  // the end of an oversized document: resume after it
        skipping_doc_ = false;
        continue;
      }
      // A document ends: hand [doc_start_, i] to the decoder with padding after it.
      std::string doc(buf_, doc_start_, i + 1 - doc_start_);
      std::uint64_t line = doc_line_;
      doc.append(otlp_json_padding(), '\0');
      ingest_document(ctx_, dec_, std::string_view(doc.data(), i + 1 - doc_start_), name_ + ":" + std::to_string(line), stop_);
      doc_start_ = std::string::npos;
    }
  }
  if (doc_start_ != std::string::npos && len - doc_start_ > max_document_) {
    ctx_.reporter.report(name_ + ":" + std::to_string(doc_line_),
                         "document larger than --max-document (" + std::to_string(max_document_) + " bytes)");
    ++ctx_.totals.bad_documents;
    doc_start_ = std::string::npos;
    skipping_doc_ = true;  // the scanner's depth and string state carry on over the dropped bytes
  }
  if (at_end) skipping_doc_ = false;
  if (at_end && doc_start_ != std::string::npos) {
    std::string doc(buf_, doc_start_);
    std::size_t n = doc.size();
    doc.append(otlp_json_padding(), '\0');
    ingest_document(ctx_, dec_, std::string_view(doc.data(), n), name_ + ":" + std::to_string(doc_line_), stop_);
    doc_start_ = std::string::npos;
  }
  std::size_t keep_from = doc_start_ != std::string::npos ? doc_start_ : len;
  buf_.erase(0, keep_from);
  if (doc_start_ != std::string::npos) doc_start_ -= keep_from;
  scan_ = len - keep_from;
}

bool read_input(IngestContext& ctx, const std::string& path, bool follow, const std::atomic<bool>& stop, std::size_t max_document) {
  bool is_stdin = path == "-";
  std::string name = is_stdin ? "<stdin>" : path;
  int fd = is_stdin ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ctx.reporter.report(name, std::string("cannot open: ") + std::strerror(errno));
    return false;
  }
  auto in = std::make_unique<StreamIngest>(ctx, name, max_document, &stop);
  std::string chunk(1 << 20, '\0');
  struct stat opened {};
  ::fstat(fd, &opened);
  off_t offset = 0;
  while (!stop.load()) {
    // A silent pipe must not hold the reader in read() past `stop` (SIGTERM with --follow -).
    pollfd pfd{fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, 100);
    if (pr < 0 && errno != EINTR) {
      ctx.reporter.report(name, std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (pr <= 0) continue;
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ctx.reporter.report(name, std::string("read: ") + std::strerror(errno));
      break;
    }
    if (n > 0) {
      offset += n;
      in->feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      continue;
    }
    // End of file.
    if (!follow || is_stdin) break;
    struct stat now {};
    if (::stat(path.c_str(), &now) == 0) {
      if (now.st_ino != opened.st_ino || now.st_dev != opened.st_dev) {
        // Rotated: what the old file still had has been read; continue with the new one.
        int nfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (nfd >= 0) {
          in->finish();
          ::close(fd);
          fd = nfd;
          ::fstat(fd, &opened);
          offset = 0;
          in = std::make_unique<StreamIngest>(ctx, name, max_document, &stop);
          continue;
        }
      } else if (now.st_size < offset) {
        // Truncated in place (copytruncate): start again from the top.
        in->finish();
        ::lseek(fd, 0, SEEK_SET);
        offset = 0;
        in = std::make_unique<StreamIngest>(ctx, name, max_document, &stop);
        continue;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // tail -f polls likewise
  }
  in->finish();
  if (!is_stdin) ::close(fd);
  return true;
}

}  // namespace tracecat
