// Fuzz target: the chunked body decoder alone (RFC 9112 §7.1), in one feed and split into
// pieces; both must agree, and the decoded size must match the data returned.
#include "fuzz_http_common.h"

using namespace pw::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = data[0] % 13 + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Limits lim;
  lim.max_chunk_line_bytes = 64;
  lim.max_trailer_bytes = 512;
  lim.max_headers = 10;
  lim.max_body_bytes = 1 << 20;
  std::string out[2];
  for (int pass = 0; pass < 2; ++pass) {
    ChunkedDecoder d(lim);
    std::uint64_t seen = 0;
    auto on_event = [&](const Event& ev, std::string_view buf) -> std::string {
      if (ev.kind == EventKind::message_complete) {
        fuzz::require(d.body_bytes() == seen);
        return fuzz::describe_fields(d.trailers(), buf);
      }
      if (ev.kind == EventKind::error) {
        fuzz::require(d.error().message.find(" at offset ") != std::string::npos);
        return d.error().message;
      }
      return {};
    };
    out[pass] = fuzz::drive(in, pass == 0 ? 0 : step, [&](std::string_view b) {
      Event ev = d.decode(b);
      if (ev.kind == EventKind::body_data) seen += ev.data.size();
      return ev;
    }, on_event);
  }
  fuzz::require(out[0] == out[1]);
  return 0;
}
