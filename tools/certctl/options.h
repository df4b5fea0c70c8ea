// certctl's options: one struct filled by CLI11 (cli.cpp), read by the commands.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pw/cli/app.h"
#include "util.h"

namespace certctl {

struct NameFlags {
  std::string cn, org;
  std::vector<std::string> dns, ips, uris;
  std::string spiffe_id;
};

struct Options {
  // Shared by several commands.
  std::string ca_dir;  // empty: "ca" (serve: the config's ca_dir)
  std::string ca() const { return ca_dir.empty() ? std::string("ca") : ca_dir; }
  PassSource pass;
  bool force = false;
  std::string now;  // hidden in tests only through --not-before/--at; kept for symmetry

  // ca init
  struct {
    std::string cn = "certctl root CA", org;
    std::string key_type = "ecdsa-p256";
    std::string validity = "10y";
    std::string not_before;
    bool intermediate = false;
    std::string intermediate_cn = "certctl intermediate CA";
    std::string intermediate_validity = "5y";
    int path_len = -1;
    bool private_ca = false;
    std::vector<std::string> permit_dns, exclude_dns, permit_ip, exclude_ip, permit_uri, exclude_uri;
  } init;

  // issue, csr
  NameFlags names;
  std::string profile;  // empty: peer with a SPIFFE ID, else server
  std::string validity;  // empty: 1h with a SPIFFE ID, else 90d
  std::string not_before;
  std::string key_type = "ecdsa-p256";
  std::string out;
  unsigned count = 1;

  // sign
  std::string csr_file;
  std::string policy_file;

  // inspect
  std::string inspect_input = "-";
  std::string servername;
  std::string inspect_ca_bundle;
  std::string connect_timeout = "5s";

  // verify
  std::string verify_input;
  std::vector<std::string> ca_bundles;
  std::vector<std::string> chain_files;
  std::string host, ip, expect_spiffe_id;
  std::string purpose = "any";
  std::vector<std::string> crl_files;
  bool crl_all = false;
  std::string at;

  // renew
  std::string cert_file, key_file;
  std::string watch_dir;
  bool once = false;
  bool reuse_key = false;
  int signal_pid = 0;
  std::string signal_name = "HUP";
  std::string exec_cmd;
  std::string interval = "1m";

  // revoke, crl
  std::string serial;
  std::string reason = "unspecified";
  std::string next_update = "7d";
  bool der = false;

  // bundle
  std::vector<std::string> bundle_inputs;
  bool allow_expired = false;
  bool install = false;

  // pkcs12
  std::string chain_file;
  std::string p12_name;
  PassSource key_pass;

  // request, renew --server: the online CA
  std::string server;
  std::string server_ca_bundle;
  std::string token_value, token_file;
  std::string timeout = "30s";

  // token
  std::string token_name;
  std::vector<std::string> pol_spiffe, pol_dns, pol_ip, pol_uri, pol_profiles;
  std::string max_lifetime = "24h";
  std::string ttl = "24h";

  // serve
  std::string listen;
  bool check_config = false;
  bool print_config = false;
};

struct Commands {
  std::unique_ptr<pw::cli::App> app;
  pw::cli::Command *ca = nullptr, *ca_init = nullptr, *issue = nullptr, *csr = nullptr, *sign = nullptr,
                   *inspect = nullptr, *verify = nullptr, *renew = nullptr, *revoke = nullptr, *crl = nullptr,
                   *bundle = nullptr, *pkcs12 = nullptr, *token = nullptr, *serve = nullptr,
                   *request = nullptr;
};

// Defines every option once: --help, the man page and the completions come from here.
Commands make_app(Options& o);
// Runs the selected subcommand.
int dispatch(const Commands& c, Options& o);

}  // namespace certctl
