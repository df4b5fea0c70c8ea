// The offline subcommands: `check` validates a config directory, `explain` shows how descriptors
// match without a running service. Both are pure functions of their inputs and print to streams.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "pw/base/result.h"
#include "pw/limit/api.h"

namespace ratelimitd {

// "k=v,k2=v2" -> entries; "k" alone is a key without value. Errors name the bad part.
pw::Result<std::vector<pw::limit::Entry>> parse_descriptor_arg(const std::string& arg);

// Prints "PATH: ok (N domains, M rules in K files)" or the errors; returns the exit code
// (0, 4 invalid configuration, 5 unreadable).
int run_check(const std::string& path, bool json, std::ostream& out, std::ostream& err);

// Prints, for each descriptor, each matching step, the rule that applies (after replaces) and its
// limit; returns the exit code.
int run_explain(const std::string& path, const std::string& domain, const std::vector<std::string>& descriptors,
                bool json, std::ostream& out, std::ostream& err);

}  // namespace ratelimitd
