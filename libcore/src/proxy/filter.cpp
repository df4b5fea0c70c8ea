#include "pw/proxy/filter.h"

#include "proxy/filters/jwt_filter.h"
#include "proxy/filters/keyauth.h"  // api_key, authz

namespace pw::proxy {
namespace {

// "headers": edits the request fields sent upstream and the response fields sent back.
class HeadersFilter final : public Filter {
 public:
  explicit HeadersFilter(const FilterConfig& cfg) : cfg_(cfg) {}
  FilterStatus on_request_head(FilterContext& ctx) override {
    apply_header_edits(cfg_.request, ctx.upstream_fields());
    return FilterStatus::proceed;
  }
  void on_response_head(FilterContext&, int, FieldList& fields) override { apply_header_edits(cfg_.response, fields); }

 private:
  const FilterConfig& cfg_;
};

class HeadersFactory final : public FilterFactory {
 public:
  explicit HeadersFactory(FilterConfig cfg) : cfg_(std::move(cfg)) {}
  std::unique_ptr<Filter> create() const override { return std::make_unique<HeadersFilter>(cfg_); }

 private:
  FilterConfig cfg_;
};

}  // namespace

config::Json FilterFactory::explain(FilterContext& ctx) const {
  auto f = create();
  const FilterStatus st = f->on_request_head(ctx);
  f->on_end(ctx);
  config::Json out = config::Json::object();
  if (st == FilterStatus::stop) out["stopped"] = true;
  return out;
}

Result<std::unique_ptr<FilterFactory>> make_filter_factory(const FilterConfig& cfg, const FilterEnv& env,
                                                           const std::string& path) {
  if (cfg.type == "headers") return std::unique_ptr<FilterFactory>(std::make_unique<HeadersFactory>(cfg));
  if (cfg.type == "jwt" && cfg.jwt) return make_jwt_filter_factory(*cfg.jwt, env, path);
  if (cfg.type == "api_key") return make_api_key_factory(cfg, env, path);
  if (cfg.type == "authz") return make_authz_factory(cfg, env, path);
  if (cfg.type == "rate_limit" && cfg.rate_limit) return make_rate_limit_factory(*cfg.rate_limit, env, path);
  if (cfg.type == "oauth2_introspection" && cfg.oauth2_introspection)
    return make_oauth2_introspection_factory(*cfg.oauth2_introspection, env, path);
  if (cfg.type == "fault" && cfg.fault) return make_fault_factory(*cfg.fault, env, path);  // issue 15
  return make_error(Errc::invalid_argument, path + "/type: unknown filter type \"" + cfg.type + "\"");
}

std::vector<const FilterConfig*> effective_filters(const std::vector<FilterConfig>& defaults,
                                                   const std::vector<FilterConfig>& route) {
  std::vector<const FilterConfig*> out;
  std::vector<bool> used(route.size(), false);
  for (const FilterConfig& d : defaults) {
    const FilterConfig* pick = &d;
    for (std::size_t i = 0; i < route.size(); ++i) {
      if (!used[i] && route[i].type == d.type) {
        pick = &route[i];
        used[i] = true;
        break;
      }
    }
    if (pick->enabled) out.push_back(pick);
  }
  for (std::size_t i = 0; i < route.size(); ++i)
    if (!used[i] && route[i].enabled) out.push_back(&route[i]);
  return out;
}

}  // namespace pw::proxy
