// Certificates, CSRs and CRLs as JSON and as text for people (inspect, verify).
#pragma once

#include <ostream>

#include "pw/pki/cert.h"
#include "pw/pki/crl.h"
#include "pw/pki/csr.h"
#include "util.h"

namespace certctl {

Json cert_json(const pw::pki::Certificate& c, pw::WallTime now);
void print_cert(std::ostream& out, const pw::pki::Certificate& c, pw::WallTime now);
Json csr_json(const pw::pki::Csr& c);
void print_csr(std::ostream& out, const pw::pki::Csr& c);
Json crl_json(const pw::pki::Crl& c, pw::WallTime now);
void print_crl(std::ostream& out, const pw::pki::Crl& c, pw::WallTime now);

}  // namespace certctl
