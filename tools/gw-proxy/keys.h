// gw-proxy keys add|rotate|revoke|list: edits the consumers file (pw/proxy/consumers.h).
//
// Every edit takes an exclusive lock (flock on "<file>.lock", beside the file, never removed),
// reads the file, changes it, writes a temporary file in the same directory, fsyncs it, renames
// it over the file and fsyncs the directory: a reader (gw-proxy's watcher) sees the old file or
// the new one, never a part, and two concurrent edits are serialised (no lost update). A file
// the command creates is mode 0600; an existing file keeps its mode. A key is 32 random bytes
// (RAND_bytes) in base64url after the prefix "pwk_", printed once; only its SHA-256 is stored.
// Keys whose grace period (`expires`) is over are removed by every edit.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace gw {

struct KeysOptions {
  std::string config;          // -c: the consumers file is the one it names
  std::string consumers_file;  // --consumers: this file instead
  bool json = false;
  // add / rotate
  std::string consumer;
  std::string username;
  std::vector<std::string> groups;
  std::string plan;
  // rotate
  std::string key_id;       // only this key of the consumer (default: all of them)
  std::string grace = "0s"; // old keys stay valid this long; 0s: removed at once
  // revoke
  std::string revoke_id;
  // list
  bool show_hashes = false;
};

// Each returns the exit status; failures throw pw::cli::Failure (2 usage, 4 config, 5 io, 1
// unknown consumer or key id).
int keys_add(const KeysOptions& o, std::ostream& out);
int keys_rotate(const KeysOptions& o, std::ostream& out);
int keys_revoke(const KeysOptions& o, std::ostream& out);
int keys_list(const KeysOptions& o, std::ostream& out);

}  // namespace gw
