// A kubeconfig read with yaml-cpp: the context (current-context, or the one asked for), its
// cluster (server, CA file or inline data) and user (token, token file, client certificate and
// key, files or inline data), and its namespace. The only file that includes yaml-cpp.
#pragma once

#include <string>

#include "sf/core/result.h"

namespace sf::manager {

struct KubeconfigAccess {
  std::string context, server, ca_file, token, client_cert_file, client_key_file, ns;
  std::string token_file;  // the user's tokenFile, if the token came from one (read again later)
};

// `context` empty: the file's current-context. Inline *-data fields are decoded into files
// under `scratch_dir` (mode 0600), since the TLS client reads files. Relative paths are taken
// from the kubeconfig's own directory, as kubectl does. Exec plugins, auth providers and
// insecure-skip-tls-verify are refused with a message that says what to use instead.
Result<KubeconfigAccess> read_kubeconfig(const std::string& path, const std::string& context,
                                         const std::string& scratch_dir);

}  // namespace sf::manager
