// loadgen's parsers of untrusted input: HdrHistogram encodings (V2, compressed, base64), report
// inputs (summaries, result lines, .hlog), targets files and rate schedules. The first byte of
// the input picks the parser. Every parser must return a value or a precise error, never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hdr_histogram.h"
#include "report.h"
#include "schedule.h"
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto h = loadgen::Histogram::decode(in);
      if (h) (void)h->value_at_percentile(99.9), (void)h->to_base64();
      break;
    }
    case 1: {
      auto h = loadgen::Histogram::from_base64(in);
      if (h) (void)loadgen::percentile_distribution(*h);
      break;
    }
    case 2: {
      auto s = loadgen::parse_report_input(in, "fuzz");
      if (s) (void)s->to_json().dump(), (void)loadgen::format_text(*s);
      break;
    }
    case 3:
      (void)loadgen::parse_targets(in, "fuzz");
      break;
    case 4: {
      auto s = loadgen::RateSchedule::parse(in, "fuzz");
      if (s) (void)s->time_of(1000), (void)s->count_until(10);
      break;
    }
  }
  return 0;
}
