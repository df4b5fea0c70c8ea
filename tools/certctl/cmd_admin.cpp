// renew, revoke, crl, bundle, pkcs12.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "ca_store.h"
#include "commands.h"
#include "exit_codes.h"
#include "issuer.h"
#include "online.h"
#include "pw/pki/csr.h"
#include "pw/base/strings.h"
#include "pw/pki/pkcs12.h"
#include "renew.h"

namespace certctl {

using namespace pw;

namespace {

WallTime now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

std::string dir_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

pki::Certificate read_leaf(const std::string& path) {
  auto certs = pki::parse_certificates(read_input(path));
  if (!certs) throw Failure(exit_bad_input, path + ": " + certs.error().message);
  return certs->front();
}

// The common name a renewal asks for: the old one when it is one of the certificate's SANs, else
// none (a CA refuses a common name that is not a SAN; certificates issued before that rule may
// carry one, and their renewal drops it rather than fail).
std::string renewable_common_name(const pki::Certificate& old, const std::string& cert_path) {
  LeafRequest r;
  r.common_name = old.common_name();
  r.names = old.names();
  canonicalise_common_name(r);
  if (common_name_is_a_san(r)) return r.common_name;
  std::cerr << "certctl: renew: " << cert_path << ": leaving out the common name \"" << escape_for_log(r.common_name)
            << "\", which is not one of the certificate's subjectAltNames\n";
  return {};
}

struct Renewed {
  pki::Certificate cert;
  std::vector<std::string> files;
};

// Renewal through certctl serve: a new key and CSR for the same names, authenticated over mTLS by
// the current certificate and key.
Renewed renew_online(const Options& o, const std::string& cert_path, const std::string& out_dir) {
  pki::Certificate old = read_leaf(cert_path);
  std::string dir = dir_of(cert_path);
  std::string key_path = o.key_file.empty() ? join(dir, "key.pem") : o.key_file;
  pki::Key key;
  if (o.reuse_key) {
    auto k = pki::Key::private_from_pem(read_input(key_path));
    if (!k) throw Failure(exit_bad_input, key_path + ": " + k.error().message);
    key = *k;
  } else {
    auto k = pki::Key::generate(old.public_key().info().type.value_or(pki::KeyType::ec_p256));
    if (!k) throw Failure(cli::exit_failure, k.error().message);
    key = *k;
  }
  pki::CsrSpec spec;
  spec.common_name = renewable_common_name(old, cert_path);
  spec.organization = old.organization();
  spec.names = old.names();
  auto csr = pki::Csr::make(key, spec);
  if (!csr) throw Failure(cli::exit_failure, csr.error().message);
  Duration life = o.validity.empty() ? std::chrono::duration_cast<Duration>(old.not_after() - old.not_before())
                                     : parse_validity(o.validity, "--validity");
  SignCall call;
  call.server = o.server;
  call.ca_bundle = o.server_ca_bundle.empty() ? join(dir, "ca.pem") : o.server_ca_bundle;
  call.client_cert = cert_path;
  call.client_key = key_path;
  call.timeout = parse_validity(o.timeout, "--timeout");
  Json req = {{"csr", csr->pem()},
              {"profile", std::string(pki::profile_name(profile_of(old)))},
              {"lifetime", format_validity(life)}};
  Json resp = post_sign(call, req);
  auto certs = pki::parse_certificates(resp.value("cert", std::string()));
  if (!certs) throw Failure(exit_bad_input, o.server + ": the answer has no valid certificate: " + certs.error().message);
  make_dir(out_dir);
  auto pem = key.private_pem();
  if (!pem) throw Failure(cli::exit_failure, pem.error().message);
  write_file(join(out_dir, "key.pem"), *pem, 0600, true);
  write_file(join(out_dir, "cert.pem"), resp.value("cert", std::string()), 0644, true);
  write_file(join(out_dir, "chain.pem"), resp.value("chain", std::string()), 0644, true);
  write_file(join(out_dir, "ca.pem"), resp.value("ca", std::string()), 0644, true);
  return {certs->front(),
          {join(out_dir, "key.pem"), join(out_dir, "cert.pem"), join(out_dir, "chain.pem"), join(out_dir, "ca.pem")}};
}

// Re-issues `cert_path` into out_dir (atomically replacing the files).
Renewed renew_once(const Options& o, Ca& ca, const std::string& cert_path, const std::string& out_dir, WallTime now) {
  if (!o.server.empty()) return renew_online(o, cert_path, out_dir);
  pki::Certificate old = read_leaf(cert_path);
  if (!old.signed_by(ca.signer))
    throw Failure(exit_policy, cert_path + ": not issued by the CA in " + ca.dir + " (issuer " + old.issuer() + ")");
  auto state = find_serial(read_db(ca), old.serial_hex());
  if (state.revoked) throw Failure(exit_policy, cert_path + ": serial " + old.serial_hex() + " is revoked; not renewing it");
  LeafRequest req;
  req.common_name = renewable_common_name(old, cert_path);
  req.organization = old.organization();
  req.names = old.names();
  req.profile = profile_of(old);
  req.lifetime = o.validity.empty() ? std::chrono::duration_cast<Duration>(old.not_after() - old.not_before())
                                    : parse_validity(o.validity, "--validity");
  pki::Key key;
  std::string key_pem;
  std::string key_path = o.key_file.empty() ? join(dir_of(cert_path), "key.pem") : o.key_file;
  if (o.reuse_key) {
    auto k = pki::Key::private_from_pem(read_input(key_path));
    if (!k) throw Failure(k.error().code == Errc::invalid_argument ? exit_passphrase : exit_bad_input, key_path + ": " + k.error().message);
    if (!k->same_public_key(old.public_key())) throw Failure(exit_bad_input, key_path + ": does not match " + cert_path);
    key = *k;
  } else {
    auto type = old.public_key().info().type.value_or(pki::KeyType::ec_p256);
    auto k = pki::Key::generate(type);
    if (!k) throw Failure(cli::exit_failure, k.error().message);
    key = *k;
  }
  auto pem = key.private_pem();
  if (!pem) throw Failure(cli::exit_failure, pem.error().message);
  key_pem = *pem;
  auto r = issue_leaf(ca, req, key, now, "cli renew " + old.serial_hex());
  if (!r.ok()) throw Failure(r.code, r.error);
  for (const auto& w : r.warnings) std::cerr << "certctl: warning: " << w << '\n';
  make_dir(out_dir);
  Renewed out;
  out.cert = r.cert;
  // The key first, so that a reader that sees the new certificate finds its key.
  write_file(join(out_dir, "key.pem"), key_pem, 0600, true);
  std::string cert_pem = r.cert.pem();
  write_file(join(out_dir, "cert.pem"), cert_pem, 0644, true);
  write_file(join(out_dir, "chain.pem"), cert_pem + ca.chain_pem(), 0644, true);
  write_file(join(out_dir, "ca.pem"), ca.bundle_pem(), 0644, true);
  out.files = {join(out_dir, "key.pem"), join(out_dir, "cert.pem"), join(out_dir, "chain.pem"), join(out_dir, "ca.pem")};
  return out;
}

int signal_number(const std::string& name) {
  if (name == "HUP") return SIGHUP;
  if (name == "USR1") return SIGUSR1;
  if (name == "USR2") return SIGUSR2;
  return SIGTERM;
}

// After a renewal: signal the pid and/or run the command. Failures are reported, not fatal.
void notify(const Options& o) {
  if (o.signal_pid > 0 && ::kill(o.signal_pid, signal_number(o.signal_name)) != 0)
    std::cerr << "certctl: renew: cannot signal pid " << o.signal_pid << ": " << std::strerror(errno) << '\n';
  if (!o.exec_cmd.empty()) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", o.exec_cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    if (pid > 0) ::waitpid(pid, &status, 0);
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      std::cerr << "certctl: renew: --exec command failed (status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                << ")\n";
  }
}

}  // namespace

int cmd_renew(const Options& o, const cli::Common& common) {
  Ca ca;
  bool local = o.server.empty();
  if (local) {
    ca = open_ca(o.ca());
    load_signer_key(ca, read_passphrase(o.pass));
  }
  if (o.watch_dir.empty()) {
    if (o.cert_file.empty()) throw Failure(cli::exit_usage, "renew needs --cert FILE or --watch DIR");
    WallTime now = now_seconds();
    if (local) check_ca_valid(ca, now);
    std::string out = o.out.empty() ? dir_of(o.cert_file) : o.out;
    auto r = renew_once(o, ca, o.cert_file, out, now);
    notify(o);
    if (common.json) {
      Json j = {{"renewed", true}, {"serial", r.cert.serial_hex()}, {"spiffe_id", r.cert.spiffe_id()},
                {"not_before", format_time(r.cert.not_before())}, {"not_after", format_time(r.cert.not_after())},
                {"files", r.files}};
      std::cout << j.dump() << '\n';
    } else {
      std::cout << "renewed " << r.cert.subject() << ": serial " << r.cert.serial_hex() << ", valid until "
                << format_time(r.cert.not_after()) << '\n';
    }
    return cli::exit_ok;
  }
  Duration interval = parse_validity(o.interval, "--interval");
  std::string cert_path = join(o.watch_dir, "cert.pem");
  std::string out = o.out.empty() ? o.watch_dir : o.out;
  // Text output says when the next renewal is due at start and after each renewal (not at each
  // wake-up in between); --json writes a line at every check.
  for (bool first = true;; first = false) {
    WallTime now = now_seconds();
    pki::Certificate cur = read_leaf(cert_path);
    WallTime due = renewal_time(cur.not_before(), cur.not_after());
    bool renewed = false;
    if (now >= due) {
      if (local) check_ca_valid(ca, now);
      auto r = renew_once(o, ca, cert_path, out, now);
      notify(o);
      renewed = true;
      cur = r.cert;
      due = renewal_time(cur.not_before(), cur.not_after());
    }
    if (common.json) {
      Json j = {{"renewed", renewed},
                {"serial", cur.serial_hex()},
                {"not_after", format_time(cur.not_after())},
                {"next_renewal", format_time(due)}};
      std::cout << j.dump() << std::endl;
    } else if (renewed || o.once || first) {
      std::cout << (renewed ? "renewed " : o.once ? "not due: " : "watching " + cert_path + ": ") << cur.subject() << " serial " << cur.serial_hex()
                << ", next renewal at " << format_time(due) << std::endl;
    }
    if (o.once) return cli::exit_ok;
    Duration wait = std::min<Duration>(interval, std::chrono::duration_cast<Duration>(due - now_seconds()));
    std::this_thread::sleep_for(std::max<Duration>(wait, std::chrono::seconds(1)));
  }
}

int cmd_request(const Options& o, const cli::Common& common) {
  auto names = names_from_flags(o.names.dns, o.names.ips, o.names.uris, o.names.spiffe_id);
  pki::CsrSpec spec;
  spec.names = names;
  spec.common_name = !o.names.cn.empty()       ? o.names.cn
                     : !names.dns.empty()     ? names.dns.front()
                     : !names.uris.empty()    ? names.uris.front()
                     : !names.ips.empty()     ? names.ips.front().to_string()
                                              : std::string();
  spec.organization = o.names.org;
  if (spec.common_name.empty()) throw Failure(cli::exit_usage, "give at least one name: --dns, --ip, --uri or --spiffe-id");
  std::string token = o.token_value;
  if (!o.token_file.empty()) {
    token = read_input(o.token_file, 4096);
    token.erase(token.find_last_not_of(" \t\r\n") + 1);
  }
  if (token.empty()) throw Failure(cli::exit_usage, "request needs a bootstrap token (--token, --token-file or CERTCTL_TOKEN)");
  auto type = pki::parse_key_type(o.key_type);
  if (!type) throw Failure(cli::exit_usage, "--key-type: unknown key type \"" + o.key_type + "\"");
  std::vector<std::string> files;
  if (!o.out.empty()) {
    files = {join(o.out, "key.pem"), join(o.out, "cert.pem"), join(o.out, "chain.pem"), join(o.out, "ca.pem")};
    refuse_existing(files, o.force);
  }
  auto key = pki::Key::generate(*type);
  if (!key) throw Failure(cli::exit_failure, key.error().message);
  auto csr = pki::Csr::make(*key, spec);
  if (!csr) throw Failure(cli::exit_failure, csr.error().message);
  Json req = {{"csr", csr->pem()}};
  if (!o.profile.empty()) req["profile"] = o.profile;
  if (!o.validity.empty()) req["lifetime"] = format_validity(parse_validity(o.validity, "--validity"));
  SignCall call;
  call.server = o.server;
  call.ca_bundle = o.server_ca_bundle;
  call.token = token;
  call.timeout = parse_validity(o.timeout, "--timeout");
  Json resp = post_sign(call, req);
  auto pem = key->private_pem();
  if (!pem) throw Failure(cli::exit_failure, pem.error().message);
  if (!o.out.empty()) {
    make_dir(o.out);
    write_file(files[0], *pem, 0600, true);
    write_file(files[1], resp.value("cert", std::string()), 0644, true);
    write_file(files[2], resp.value("chain", std::string()), 0644, true);
    write_file(files[3], resp.value("ca", std::string()), 0644, true);
  }
  if (common.json || o.out.empty()) {
    Json out = Json::object();
    out["cert"] = resp.value("cert", std::string());
    out["key"] = *pem;
    for (const char* k : {"chain", "ca", "spiffe_id", "dns", "ip", "not_before", "not_after", "serial", "profile"})
      if (resp.contains(k)) out[k] = resp[k];
    if (!files.empty()) out["files"] = files;
    std::cout << out.dump() << '\n';
  } else {
    std::cout << "got " << resp.value("spiffe_id", std::string()) << " serial " << resp.value("serial", std::string())
              << ", valid until " << resp.value("not_after", std::string()) << '\n';
    for (const auto& f : files) std::cout << "  " << f << '\n';
  }
  return cli::exit_ok;
}

int cmd_revoke(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  std::string serial = normalise_serial(o.serial);
  if (serial.empty() || serial.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Failure(cli::exit_usage, "SERIAL: expected hexadecimal digits, got \"" + escape_for_log(o.serial) + "\"");
  Duration next = parse_validity(o.next_update, "--next-update");
  Ca ca = open_ca(o.ca());
  load_signer_key(ca, read_passphrase(o.pass));
  auto st = find_serial(read_db(ca), serial);
  if (!st.issued && !o.force)
    throw Failure(exit_unknown_serial, "serial " + serial + " is not in " + ca.path("db.jsonl") +
                                           " (use --force to revoke it anyway)");
  bool already = st.revoked;
  if (!already) append_db(ca, Json{{"event", "revoked"}, {"serial", serial}, {"ts", format_time(now)}, {"reason", o.reason}});
  auto crl = build_crl(ca, now, next);
  write_file(ca.path("crl.pem"), crl.pem(), 0644, true);
  if (common.json) {
    std::cout << Json{{"serial", serial}, {"revoked", true}, {"already_revoked", already}, {"reason", o.reason},
                      {"crl", ca.path("crl.pem")}, {"crl_number", crl.number().value_or(0)},
                      {"next_update", format_time(*crl.next_update())}}
                     .dump()
              << '\n';
  } else {
    std::cout << (already ? "already revoked: " : "revoked ") << serial << "; wrote " << ca.path("crl.pem")
              << " (CRL number " << crl.number().value_or(0) << ", next update " << format_time(*crl.next_update())
              << ")\n";
  }
  return cli::exit_ok;
}

int cmd_crl(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  Duration next = parse_validity(o.next_update, "--next-update");
  Ca ca = open_ca(o.ca());
  check_ca_valid(ca, now);
  load_signer_key(ca, read_passphrase(o.pass));
  auto crl = build_crl(ca, now, next);
  write_file(ca.path("crl.pem"), crl.pem(), 0644, true);
  std::string data = o.der ? crl.der() : crl.pem();
  if (o.out == "-") {
    std::cout << data;
    return cli::exit_ok;
  }
  if (!o.out.empty()) write_file(o.out, data, 0644, true);
  if (common.json)
    std::cout << Json{{"crl", o.out.empty() ? ca.path("crl.pem") : o.out}, {"number", crl.number().value_or(0)},
                      {"this_update", format_time(crl.this_update())}, {"next_update", format_time(*crl.next_update())},
                      {"revoked", crl.entries().size()}}
                     .dump()
              << '\n';
  else
    std::cout << "wrote " << (o.out.empty() ? ca.path("crl.pem") : o.out) << ": CRL number " << crl.number().value_or(0)
              << ", " << crl.entries().size() << " revoked, next update " << format_time(*crl.next_update()) << '\n';
  return cli::exit_ok;
}

int cmd_bundle(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  std::vector<pki::Certificate> out;
  std::map<std::string, bool> seen;
  std::optional<Ca> ca;
  auto add = [&](const pki::Certificate& c, const std::string& from) {
    if (!c.is_ca()) throw Failure(exit_bad_input, from + ": " + c.subject() + " is not a CA certificate");
    std::string fp = c.sha256_fingerprint();
    if (seen.count(fp)) return;
    if (now >= c.not_after() && !o.allow_expired) {
      std::cerr << "certctl: bundle: leaving out " << c.subject() << " from " << from << ": expired at "
                << format_time(c.not_after()) << " (--allow-expired keeps it)\n";
      return;
    }
    seen[fp] = true;
    out.push_back(c);
  };
  if (o.install) {
    ca = open_ca(o.ca());
    for (const auto& c : ca->bundle) add(c, ca->path("bundle.pem"));
    add(ca->root, ca->path("root.pem"));
  }
  if (o.bundle_inputs.empty() && !o.install) throw Failure(cli::exit_usage, "bundle: give root certificates or CA directories");
  for (const auto& in : o.bundle_inputs) {
    std::string path = in;
    if (in != "-" && file_exists(join(in, "bundle.pem"))) path = join(in, "bundle.pem");
    auto certs = pki::parse_certificates(read_input(path));
    if (!certs) throw Failure(exit_bad_input, path + ": " + certs.error().message);
    for (const auto& c : *certs) add(c, path);
  }
  if (out.empty()) throw Failure(exit_bad_input, "bundle: no usable CA certificate");
  std::string pem = pki::to_pem(out);
  if (ca) write_file(ca->path("bundle.pem"), pem, 0644, true);
  if (!o.out.empty()) write_file(o.out, pem, 0644, true);
  if (common.json) {
    Json arr = Json::array();
    for (const auto& c : out)
      arr.push_back({{"subject", c.subject()}, {"sha256", c.sha256_fingerprint()}, {"not_after", format_time(c.not_after())}});
    Json j = {{"certificates", arr}, {"pem", pem}};
    if (ca) j["installed"] = ca->path("bundle.pem");
    std::cout << j.dump() << '\n';
  } else if (o.out.empty() && !ca) {
    std::cout << pem;
  } else {
    std::cout << "wrote " << out.size() << " CA certificates to " << (o.out.empty() ? ca->path("bundle.pem") : o.out)
              << (ca && !o.out.empty() ? " and " + ca->path("bundle.pem") : "") << '\n';
  }
  return cli::exit_ok;
}

int cmd_pkcs12(const Options& o, const cli::Common& common) {
  std::string pass = read_passphrase(o.pass);
  if (pass.empty()) throw Failure(cli::exit_usage, "pkcs12: give the export passphrase with --passphrase-file or --passphrase-env");
  auto certs = pki::parse_certificates(read_input(o.cert_file));
  if (!certs) throw Failure(exit_bad_input, o.cert_file + ": " + certs.error().message);
  pki::Certificate leaf = certs->front();
  std::vector<pki::Certificate> chain(certs->begin() + 1, certs->end());
  std::string chain_path = o.chain_file.empty() ? join(dir_of(o.cert_file), "chain.pem") : o.chain_file;
  if (chain.empty() && file_exists(chain_path)) {
    auto more = pki::parse_certificates(read_input(chain_path));
    if (!more) throw Failure(exit_bad_input, chain_path + ": " + more.error().message);
    for (const auto& c : *more)
      if (c.sha256_fingerprint() != leaf.sha256_fingerprint()) chain.push_back(c);
  }
  std::string key_path = o.key_file.empty() ? join(dir_of(o.cert_file), "key.pem") : o.key_file;
  auto key = pki::Key::private_from_pem(read_input(key_path), read_passphrase(o.key_pass));
  if (!key)
    throw Failure(key.error().code == Errc::invalid_argument ? exit_passphrase : exit_bad_input, key_path + ": " + key.error().message);
  if (!key->same_public_key(leaf.public_key())) throw Failure(exit_bad_input, key_path + ": does not match " + o.cert_file);
  std::string name = o.p12_name.empty() ? leaf.common_name() : o.p12_name;
  auto p12 = pki::make_pkcs12(*key, leaf, chain, name, pass);
  if (!p12) throw Failure(cli::exit_failure, p12.error().message);
  write_file(o.out, *p12, 0600, o.force);
  if (common.json)
    std::cout << Json{{"file", o.out}, {"name", name}, {"certificates", 1 + chain.size()}}.dump() << '\n';
  else
    std::cout << "wrote " << o.out << " (" << 1 + chain.size() << " certificates and the key, alias \"" << name << "\")\n";
  return cli::exit_ok;
}

}  // namespace certctl
