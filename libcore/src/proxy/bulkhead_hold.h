// Internal (issue 15 bulkheads): what a request holds of its route's and cluster's bulkheads.
#pragma once

#include <cstdint>
#include <memory>

#include "pw/io/loop.h"
#include "pw/proxy/bulkhead.h"

namespace pw::proxy {

struct BulkheadHold {
  Bulkhead* held[2] = {nullptr, nullptr};  // the route's, the cluster's slot (the snapshot owns them)
  std::uint8_t next = 0;                   // the bulkhead to pass next: 0 route, 1 cluster, 2 through
  Bulkhead* waiting_on = nullptr;          // queued there
  std::shared_ptr<Bulkhead::Waiter> waiter;
  std::unique_ptr<io::Timer> timer;        // queue_timeout
};

}  // namespace pw::proxy
