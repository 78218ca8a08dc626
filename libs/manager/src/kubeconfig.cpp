#include "kubeconfig.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sf::manager {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxKubeconfigBytes = 1 << 20;

std::string text_of(const YAML::Node& n, const char* key) {
  const auto v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// The entry of `list` (contexts, clusters, users) called `name`: its inner map (`what`).
const YAML::Node find_named(const YAML::Node& root, const char* list, const char* what,
                            const std::string& name) {
  const auto seq = root[list];
  if (!seq || !seq.IsSequence()) return YAML::Node();
  for (const auto& item : seq) {
    if (item.IsMap() && text_of(item, "name") == name) return item[what];
  }
  return YAML::Node();
}

std::string names_in(const YAML::Node& root, const char* list) {
  std::string out;
  const auto seq = root[list];
  if (!seq || !seq.IsSequence()) return "none";
  for (const auto& item : seq) {
    if (!item.IsMap()) continue;
    out += (out.empty() ? "" : ", ") + text_of(item, "name");
  }
  return out.empty() ? "none" : out;
}

Result<std::string> base64_decode(const std::string& in, const std::string& field) {
  std::string clean;
  for (char c : in) {
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  }
  std::string out(clean.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0 || clean.size() % 4 != 0) {
    return make_error("kubeconfig: " + field + " is not valid base64");
  }
  size_t len = static_cast<size_t>(n);
  if (!clean.empty() && clean.back() == '=') --len;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

Result<std::string> write_private(const fs::path& dir, const std::string& name,
                                  const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path p = dir / name;
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write " + p.string());
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  if (!ok) return make_error("cannot write " + p.string());
  return p.string();
}

// A file field (`key`, a path relative to the kubeconfig's directory) or its inline `key-data`.
Result<std::string> file_or_data(const YAML::Node& n, const std::string& key, const fs::path& base,
                                 const fs::path& scratch, const std::string& scratch_name) {
  const std::string path = text_of(n, key.c_str());
  if (!path.empty()) {
    const fs::path p = fs::path(path).is_absolute() ? fs::path(path) : base / path;
    if (!fs::exists(p))
      return make_error("kubeconfig: " + key + " '" + p.string() + "' does not exist");
    return p.string();
  }
  const std::string data = text_of(n, (key + "-data").c_str());
  if (data.empty()) return std::string();
  auto bytes = base64_decode(data, key + "-data");
  if (!bytes) return bytes.error();
  return write_private(scratch, scratch_name, *bytes);
}

}  // namespace

Result<KubeconfigAccess> read_kubeconfig(const std::string& path, const std::string& context,
                                         const std::string& scratch_dir) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return make_error("KUBECONFIG='" + path + "' cannot be read: " + ec.message());
  if (size > kMaxKubeconfigBytes) {
    return make_error("KUBECONFIG='" + path + "' is " + std::to_string(size) +
                      " bytes: a kubeconfig is a few KiB (at most 1 MiB is read)");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return make_error("KUBECONFIG='" + path + "' is not valid YAML: " + e.what());
  }
  if (!root.IsMap()) return make_error("KUBECONFIG='" + path + "' is not a kubeconfig (no map)");
  KubeconfigAccess out;
  out.context = context.empty() ? text_of(root, "current-context") : context;
  if (out.context.empty()) {
    return make_error("KUBECONFIG='" + path +
                      "' has no current-context: set one (kubectl config use-context) or "
                      "K8S_CONTEXT; contexts: " +
                      names_in(root, "contexts"));
  }
  const auto ctx = find_named(root, "contexts", "context", out.context);
  if (!ctx || !ctx.IsMap()) {
    return make_error("KUBECONFIG='" + path + "' has no context '" + out.context +
                      "'; contexts: " + names_in(root, "contexts"));
  }
  const std::string cluster_name = text_of(ctx, "cluster"), user_name = text_of(ctx, "user");
  out.ns = text_of(ctx, "namespace");
  const auto cluster = find_named(root, "clusters", "cluster", cluster_name);
  if (!cluster || !cluster.IsMap()) {
    return make_error("kubeconfig context '" + out.context + "' names cluster '" + cluster_name +
                      "', which is not in the file; clusters: " + names_in(root, "clusters"));
  }
  out.server = text_of(cluster, "server");
  if (out.server.empty()) {
    return make_error("kubeconfig cluster '" + cluster_name + "' has no server");
  }
  if (text_of(cluster, "insecure-skip-tls-verify") == "true") {
    return make_error("kubeconfig cluster '" + cluster_name +
                      "' sets insecure-skip-tls-verify, which the queue-manager refuses: give "
                      "its certificate-authority instead");
  }
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  const fs::path scratch(scratch_dir);
  const std::string tag = "sf-kube-" + std::to_string(::getpid()) + "-";
  auto ca = file_or_data(cluster, "certificate-authority", base, scratch, tag + "ca.crt");
  if (!ca) return ca.error();
  out.ca_file = *ca;
  if (!user_name.empty()) {
    const auto user = find_named(root, "users", "user", user_name);
    if (!user || !user.IsMap()) {
      return make_error("kubeconfig context '" + out.context + "' names user '" + user_name +
                        "', which is not in the file; users: " + names_in(root, "users"));
    }
    if (user["exec"] || user["auth-provider"]) {
      return make_error("kubeconfig user '" + user_name + "' uses " +
                        (user["exec"] ? "an exec plugin" : "an auth-provider") +
                        ", which the queue-manager does not run: give it a token, tokenFile or "
                        "client certificate (e.g. a ServiceAccount token)");
    }
    out.token = text_of(user, "token");
    if (const std::string tf = text_of(user, "tokenFile"); out.token.empty() && !tf.empty()) {
      const fs::path p = fs::path(tf).is_absolute() ? fs::path(tf) : base / tf;
      std::ifstream in(p);
      if (!in)
        return make_error("kubeconfig user '" + user_name + "': tokenFile '" + p.string() +
                          "' cannot be read");
      std::stringstream ss;
      ss << in.rdbuf();
      out.token = ss.str();
      out.token_file = p.string();
      while (!out.token.empty() &&
             (out.token.back() == '\n' || out.token.back() == '\r' || out.token.back() == ' ')) {
        out.token.pop_back();
      }
    }
    auto cert = file_or_data(user, "client-certificate", base, scratch, tag + "client.crt");
    if (!cert) return cert.error();
    auto key = file_or_data(user, "client-key", base, scratch, tag + "client.key");
    if (!key) return key.error();
    if (cert->empty() != key->empty()) {
      return make_error("kubeconfig user '" + user_name +
                        "' has a client certificate without its key (or a key without its "
                        "certificate)");
    }
    out.client_cert_file = *cert;
    out.client_key_file = *key;
  }
  if (out.token.empty() && out.client_cert_file.empty()) {
    return make_error("kubeconfig context '" + out.context +
                      "' gives no credentials: its user needs a token, tokenFile or client "
                      "certificate");
  }
  return out;
}

}  // namespace sf::manager
