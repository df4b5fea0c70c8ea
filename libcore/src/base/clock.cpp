#include "pw/base/clock.h"

namespace pw {

SystemClock& SystemClock::instance() noexcept {
  static SystemClock c;  // function-local: constructed on first use, no init-order issue
  return c;
}

}  // namespace pw
