#include "pw/telemetry/gzip.h"

#include <zlib.h>

namespace pw::telemetry {

Result<std::string> gzip_compress(std::string_view data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Error(Errc::internal, "gzip: deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Error(Errc::internal, "gzip: deflate did not finish");
  return out;
}

Result<std::string> gzip_decompress(std::string_view data, std::size_t max_out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Error(Errc::internal, "gzip: inflateInit2 failed");
  std::string out;
  char buf[64 * 1024];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    int rc = inflate(&z, Z_NO_FLUSH);
    std::size_t got = sizeof buf - z.avail_out;
    if (out.size() + got > max_out) {
      inflateEnd(&z);
      return Error(Errc::limit_exceeded, "gzip: decompressed body larger than " + std::to_string(max_out) + " bytes");
    }
    out.append(buf, got);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // another gzip member follows
      continue;
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && got > 0)) {
      inflateEnd(&z);
      return Error(Errc::parse_error, std::string("gzip: ") + (z.msg ? z.msg : "corrupt or truncated stream"));
    }
    if (z.avail_in == 0 && got == 0) {
      inflateEnd(&z);
      return Error(Errc::parse_error, "gzip: truncated stream");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace pw::telemetry
