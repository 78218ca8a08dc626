// Test certificates made with OpenSSL at run time: a CA, and a server certificate it signs for
// "localhost" and 127.0.0.1 (P-256 keys, valid from an hour ago for a day). For tests of TLS
// clients and servers; nothing here is meant for production.
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace sf::net_testing {

struct TestCertificates {
  std::string ca_file;    // the CA's certificate (what a client trusts)
  std::string cert_file;  // the server's certificate chain
  std::string key_file;   // the server's private key
};

namespace detail {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

inline Key p256_key() {
  Key k(EVP_EC_gen("P-256"));
  if (!k) throw std::runtime_error("cannot generate a P-256 key");
  return k;
}

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error(std::string("bad extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

inline Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                      long serial, bool ca, const char* san) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(signer));
  if (ca) {
    add_extension(c.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(c.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(c.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(c.get(), signer, NID_ext_key_usage, "serverAuth");
    add_extension(c.get(), signer, NID_subject_alt_name, san);
  }
  if (X509_sign(c.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    throw std::runtime_error("cannot sign the certificate " + cn);
  }
  return c;
}

inline void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  const int ok = cert != nullptr
                     ? PEM_write_X509(f, cert)
                     : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  if (ok != 1) throw std::runtime_error("cannot write " + path);
}

}  // namespace detail

// Writes <dir>/<prefix>ca.pem, <prefix>server.pem, <prefix>server.key. `san` names what the
// server certificate is valid for.
inline TestCertificates make_test_certificates(const std::filesystem::path& dir,
                                               const std::string& prefix = "",
                                               const char* san = "DNS:localhost,IP:127.0.0.1") {
  std::filesystem::create_directories(dir);
  auto ca_key = detail::p256_key();
  auto ca = detail::make_cert(ca_key.get(), prefix + "StreamForge test CA", nullptr, nullptr, 1,
                              true, nullptr);
  auto key = detail::p256_key();
  auto server = detail::make_cert(key.get(), "localhost", ca.get(), ca_key.get(), 2, false, san);
  TestCertificates out{(dir / (prefix + "ca.pem")).string(),
                       (dir / (prefix + "server.pem")).string(),
                       (dir / (prefix + "server.key")).string()};
  detail::write_pem(out.ca_file, ca.get(), nullptr);
  detail::write_pem(out.cert_file, server.get(), nullptr);
  detail::write_pem(out.key_file, nullptr, key.get());
  return out;
}

}  // namespace sf::net_testing
