// gw-proxy --check: load what a start would load, bind nothing (as `nginx -t`).
#pragma once

#include <iosfwd>
#include <string>

namespace gw {

// The configuration document, then every file it names as a start reads them: each listener's
// certificates and keys (parsed, each key matched to its certificate) and client CA, the admin
// token file, and what compiling the snapshot reads (route regexes, filters such as jwt's
// local_jwks, upstream TLS, the consumers file). Nothing is bound, no access log is opened.
// Prints "FILE: ok" or the errors, each with its file and JSON path (one JSON object with json);
// returns 0 or the status a start would end with: 4 (invalid, a JWKS file that does not parse),
// 5 (a file that cannot be read: the document, the consumers file), 6 (a certificate or key).
int check_config(const std::string& path, bool json, std::ostream& out, std::ostream& err);

}  // namespace gw
