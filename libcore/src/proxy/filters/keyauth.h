// Internal: the factories of the api_key and authz filters, for make_filter_factory (filter.cpp).
#pragma once

#include <memory>
#include <string>

#include "pw/proxy/filter.h"

namespace pw::proxy {

Result<std::unique_ptr<FilterFactory>> make_api_key_factory(const FilterConfig& cfg, const FilterEnv& env,
                                                            const std::string& path);
Result<std::unique_ptr<FilterFactory>> make_authz_factory(const FilterConfig& cfg, const FilterEnv& env,
                                                          const std::string& path);

}  // namespace pw::proxy
