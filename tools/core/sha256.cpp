#include "sha256.h"

#include "process.h"

#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

#if defined(WORKBOOK_HAVE_OPENSSL)
#include <openssl/crypto.h>
#include <openssl/evp.h>
#endif

namespace workbook::runner {

std::optional<std::string> sha256_file(const std::filesystem::path& file) {
#if defined(WORKBOOK_HAVE_OPENSSL)
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr || EVP_DigestInit_ex(context, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context);
    return std::nullopt;
  }
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n > 0 && EVP_DigestUpdate(context, buffer.data(), n) != 1) {
      EVP_MD_CTX_free(context);
      return std::nullopt;
    }
  }
  if (in.bad()) {
    EVP_MD_CTX_free(context);
    return std::nullopt;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const bool ok = EVP_DigestFinal_ex(context, digest, &length) == 1;
  EVP_MD_CTX_free(context);
  if (!ok) return std::nullopt;
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 0xF];
  }
  return text;
#else
  if (!std::filesystem::exists(file)) return std::nullopt;
  Command command;
  if (!find_program("sha256sum").empty()) {
    command.argv = {"sha256sum", "--", file.string()};
  } else if (!find_program("shasum").empty()) {
    command.argv = {"shasum", "-a", "256", file.string()};
  } else {
    return std::nullopt;
  }
  command.timeout = std::chrono::minutes(2);
  const ProcessResult result = run_process(command);
  if (!result.ok()) return std::nullopt;
  std::string digest = result.output.substr(0, result.output.find_first_of(" \t"));
  if (digest.size() != 64) return std::nullopt;
  return digest;
#endif
}

std::string sha256_implementation() {
#if defined(WORKBOOK_HAVE_OPENSSL)
  return OpenSSL_version(OPENSSL_VERSION);
#else
  return find_program("sha256sum").empty() ? "shasum -a 256" : "sha256sum";
#endif
}

std::map<std::string, std::string> parse_sha256sums(std::string_view text) {
  std::map<std::string, std::string> sums;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 66 || line[0] == '#') continue;
    std::string hex = line.substr(0, 64);
    bool valid = true;
    for (auto& c : hex) {
      valid = valid && std::isxdigit(static_cast<unsigned char>(c)) != 0;
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!valid) continue;
    std::string name = line.substr(64);
    const auto start = name.find_first_not_of(" \t*");
    if (start == std::string::npos) continue;
    sums[name.substr(start)] = hex;
  }
  return sums;
}

}  // namespace workbook::runner
