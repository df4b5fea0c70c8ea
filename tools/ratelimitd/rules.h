// The rules of ratelimitd: envoyproxy/ratelimit's configuration format, read from YAML or JSON
// files, compiled into an immutable RuleSet that matches request descriptors as
// envoyproxy/ratelimit does.
//
// File format (ratelimitd.conf(5)):
//   domain: <unique domain>
//   descriptors:
//     - key: <key>                   required
//       value: <value>               optional; a trailing '*' matches any value with that prefix
//       rate_limit:                  optional
//         unit: second|minute|hour|day|week|month|year
//         requests_per_unit: <uint32>
//         unlimited: <bool>          (no unit then)
//         name: <name>               optional, for replaces
//         replaces: [{name: <name>}] optional
//         algorithm: fixed_window|sliding_window|token_bucket|gcra   (ours; default fixed_window)
//         burst: <uint>              (ours; token_bucket capacity, gcra extra burst)
//       shadow_mode: <bool>
//       detailed_metric: <bool>
//       descriptors: [...]           nested, same shape
//
// Matching (theirs): for each entry of a request descriptor, at the current level, first
// key+value, then the wildcard values of that key (in file order), then key alone; a rule applies
// only when the descriptor has exactly as many entries as the matched rule's depth; a matched
// node without nested descriptors ends the walk.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pw/base/result.h"
#include "pw/limit/algorithm.h"
#include "pw/limit/api.h"

namespace ratelimitd {

struct RuleMetrics;  // service.h

struct Rule {
  std::string full_key;  // "domain.key_value.subkey": the metric label, as envoyproxy/ratelimit names it
  std::string domain;
  std::string file;      // where it was defined
  std::string pointer;   // JSON pointer in that file
  bool unlimited = false;
  bool shadow_mode = false;
  bool detailed_metric = false;
  std::uint32_t requests_per_unit = 0;
  pw::limit::Unit unit = pw::limit::Unit::unknown;
  pw::limit::Policy policy;
  std::uint64_t burst = 0;  // as configured (0: the algorithm's default)
  std::string name;
  std::vector<std::string> replaces;
  RuleMetrics* metrics = nullptr;  // set by the service when it takes the rule set
};

struct Node;

// One level of descriptors.
struct Level {
  std::unordered_map<std::string, Node*> by_key_value;  // key + '\0' + value
  std::unordered_map<std::string, Node*> by_key;        // key-only entries
  struct Wildcard {
    std::string key;
    std::string prefix;  // the value without its trailing '*'
    Node* node;
  };
  std::vector<Wildcard> wildcards;  // in file order
  std::vector<std::unique_ptr<Node>> nodes;  // owned
};

struct Node {
  std::string key, value;
  std::unique_ptr<Rule> rule;
  Level children;
};

struct MatchStep {
  std::string key, value;
  std::string how;  // "key+value", "wildcard value*", "key", "none"
  const Rule* rule = nullptr;  // the rule at the matched node, if any
};

struct Match {
  const Rule* rule = nullptr;
  std::vector<MatchStep> steps;  // filled only when asked (explain)
  std::string why;               // a sentence when no rule applies
};

class RuleSet {
 public:
  // Matches one descriptor. `explain` records each step.
  Match match(std::string_view domain, const std::vector<pw::limit::Entry>& entries, bool explain = false) const;

  const std::vector<std::string>& files() const noexcept { return files_; }
  std::vector<const Rule*> rules() const;  // in file order
  std::size_t domain_count() const noexcept { return domains_.size(); }
  bool has_domain(std::string_view d) const { return domains_.count(std::string(d)) != 0; }

  // envoyproxy/ratelimit's /rlconfig text: one line per rule.
  std::string dump() const;
  // For the service, before the set is published.
  template <class F>
  void for_each_rule(F&& fn) {
    for (Rule* r : rules_) fn(*r);
  }

 private:
  friend class RuleSetBuilder;
  std::unordered_map<std::string, Level> domains_;
  std::vector<std::string> domain_order_;
  std::vector<std::string> files_;
  std::vector<Rule*> rules_;
};

struct LoadedFile {
  std::string name;  // as shown in messages
  std::string text;
};

// Parses and validates config files (YAML when the name ends in .yaml/.yml, else JSON) into one
// RuleSet. All errors of all files are collected; each line names the file, line and column, and
// the JSON pointer: "a.yaml:7:9: /descriptors/0/rate_limit/unit: invalid rate limit unit "hours"".
pw::Result<RuleSet> build_rules(const std::vector<LoadedFile>& files);

// Reads every *.yaml, *.yml and *.json file of a directory (not dot-files, not subdirectories),
// sorted by name, or one file. Errors: io_error, or those of build_rules (invalid_argument).
pw::Result<std::vector<LoadedFile>> read_config_path(const std::string& path);
pw::Result<RuleSet> load_rules(const std::string& path);

// The counter key of a descriptor under a rule: "rl:{domain|k=v|k2=v2}:f" (hash tag in braces, so
// every key of one descriptor lands in one Redis Cluster slot; | = { } % escaped as %XX).
std::string counter_key(std::string_view domain, const std::vector<pw::limit::Entry>& entries, pw::limit::Algorithm a);

}  // namespace ratelimitd
