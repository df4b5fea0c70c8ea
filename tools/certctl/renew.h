// When a certificate is due for renewal: at 2/3 of its lifetime (pure, unit-tested).
#pragma once

#include "pw/base/clock.h"

namespace certctl {

inline pw::WallTime renewal_time(pw::WallTime not_before, pw::WallTime not_after) {
  return not_before + (not_after - not_before) * 2 / 3;
}

}  // namespace certctl
