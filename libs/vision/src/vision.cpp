#include "sf/vision/vision.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <vector>

namespace sf::vision {

namespace {

std::string date_of(int64_t ms, bool with_day) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];  // room for any int the fields can hold (no truncated date, no warning)
  if (with_day) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  }
  return buf;
}

std::string hex(const unsigned char* d, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(digits[d[i] >> 4]);
    out.push_back(digits[d[i] & 15]);
  }
  return out;
}

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveDeleter>;

// The zip at `path` opened for streaming, at its first regular file.
Result<ReadArchive> open_first_file(const std::string& path) {
  ReadArchive a(archive_read_new());
  archive_read_support_format_zip(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return make_error("cannot open the zip " + path + ": " + archive_error_string(a.get()));
  }
  archive_entry* entry = nullptr;
  for (;;) {
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) return make_error("the zip " + path + " holds no file");
    if (r != ARCHIVE_OK) {
      return make_error("the zip " + path + " is damaged: " + archive_error_string(a.get()));
    }
    if (archive_entry_filetype(entry) == AE_IFREG) return a;
  }
}

}  // namespace

std::string file_name(std::string_view symbol, std::string_view what, Period period,
                      int64_t day_ms) {
  return std::string(symbol) + "-" + std::string(what) + "-" +
         date_of(day_ms, period == Period::daily) + ".zip";
}

std::string file_path(std::string_view symbol, std::string_view what, Period period,
                      int64_t day_ms) {
  std::string p = std::string("/data/spot/") + (period == Period::daily ? "daily" : "monthly");
  if (what == "trades") {
    p += "/trades/" + std::string(symbol) + "/";
  } else {
    p += "/klines/" + std::string(symbol) + "/" + std::string(what) + "/";
  }
  return p + file_name(symbol, what, period, day_ms);
}

std::string sha256_hex(std::string_view data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
  return hex(d, n);
}

Result<std::string> sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx.get(), d, &n);
  return hex(d, n);
}

Result<std::string> parse_checksum(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && std::isxdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (n != 64) {
    return make_error("a .CHECKSUM should start with a 64-digit SHA-256, got '" +
                      std::string(text.substr(0, 80)) + "'");
  }
  std::string h(text.substr(0, 64));
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h;
}

Result<std::string> make_zip(const std::string& name, std::string_view content) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  auto write_cb = [](archive*, void* self, const void* data, size_t n) -> la_ssize_t {
    static_cast<std::string*>(self)->append(static_cast<const char*>(data), n);
    return static_cast<la_ssize_t>(n);
  };
  if (archive_write_open(a, &out, nullptr, write_cb, nullptr) != ARCHIVE_OK) {
    const std::string why = archive_error_string(a);
    archive_write_free(a);
    return make_error("cannot write a zip: " + why);
  }
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_write_header(a, e);
  archive_write_data(a, content.data(), content.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Status for_each_line(const std::string& path,
                     const std::function<Status(std::string_view)>& on_line) {
  auto a = open_first_file(path);
  if (!a) return a.error();
  std::string carry;
  std::vector<char> buf(1 << 16);
  for (;;) {
    const la_ssize_t n = archive_read_data(a->get(), buf.data(), buf.size());
    if (n < 0) {
      return make_error("the zip " + path + " is damaged: " + archive_error_string(a->get()));
    }
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl = chunk.find('\n'); nl != std::string_view::npos; nl = chunk.find('\n', start)) {
      std::string_view line = chunk.substr(start, nl - start);
      if (!carry.empty()) {
        carry.append(line);
        line = carry;
      }
      if (!line.empty()) {
        if (auto st = on_line(line); !st) return st;
      }
      carry.clear();
      start = nl + 1;
    }
    carry.append(chunk.substr(start));
    if (carry.size() > (1 << 20)) return make_error("a line of " + path + " is longer than 1 MiB");
  }
  if (!carry.empty()) return on_line(carry);
  return ok_status();
}

Status check_zip(const std::string& path) {
  auto a = open_first_file(path);
  if (!a) return a.error();
  std::vector<char> buf(1 << 16);
  for (;;) {
    const la_ssize_t n = archive_read_data(a->get(), buf.data(), buf.size());
    if (n < 0) {
      return make_error("the zip " + path + " is damaged: " + archive_error_string(a->get()));
    }
    if (n == 0) return ok_status();
  }
}

}  // namespace sf::vision
