// One function per subcommand; each returns the exit status or throws pw::cli::Failure.
#pragma once

#include "options.h"
#include "pw/cli/app.h"

namespace certctl {

int cmd_ca_init(const Options& o, const pw::cli::Common& c);
int cmd_issue(const Options& o, const pw::cli::Common& c);
int cmd_csr(const Options& o, const pw::cli::Common& c);
int cmd_sign(const Options& o, const pw::cli::Common& c);
int cmd_inspect(const Options& o, const pw::cli::Common& c);
int cmd_verify(const Options& o, const pw::cli::Common& c);
int cmd_renew(const Options& o, const pw::cli::Common& c);
int cmd_revoke(const Options& o, const pw::cli::Common& c);
int cmd_crl(const Options& o, const pw::cli::Common& c);
int cmd_bundle(const Options& o, const pw::cli::Common& c);
int cmd_pkcs12(const Options& o, const pw::cli::Common& c);
int cmd_token(const Options& o, const pw::cli::Common& c);
int cmd_serve(const Options& o, const pw::cli::Common& c);
int cmd_request(const Options& o, const pw::cli::Common& c);

}  // namespace certctl
