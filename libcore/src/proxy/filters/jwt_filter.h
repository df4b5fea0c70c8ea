// The "jwt" filter's factory (filters/jwt.cpp), registered in make_filter_factory.
#pragma once

#include <memory>
#include <string>

#include "pw/base/result.h"
#include "pw/proxy/filter.h"

namespace pw::proxy {

Result<std::unique_ptr<FilterFactory>> make_jwt_filter_factory(const JwtConfig& cfg, const FilterEnv& env,
                                                               const std::string& path);

}  // namespace pw::proxy
