#include "pw/proxy/filter.h"

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

Result<std::unique_ptr<FilterFactory>> make_filter_factory(const FilterConfig& cfg, const std::string& path) {
  if (cfg.type == "headers") return std::unique_ptr<FilterFactory>(std::make_unique<HeadersFactory>(cfg));
  return make_error(Errc::invalid_argument, path + "/type: unknown filter type \"" + cfg.type + "\"");
}

}  // namespace pw::proxy
