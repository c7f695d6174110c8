#pragma once
/// \file
/// SHA-256 of files, for checking the data against data/mnist/SHA256SUMS: OpenSSL's EVP
/// interface when the runner was built with it (Debian: libssl-dev), else the system's
/// `sha256sum` (or `shasum -a 256` on macOS).

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace workbook::runner {

/// The lowercase hex SHA-256 of `file`; nullopt when it cannot be read (or no implementation
/// is available).
std::optional<std::string> sha256_file(const std::filesystem::path& file);

/// Which implementation sha256_file() uses: "OpenSSL 3.0.11 ..." or "sha256sum".
std::string sha256_implementation();

/// Parses a SHA256SUMS file ("<hex>  <name>" or "<hex> *<name>" per line): name -> hex.
std::map<std::string, std::string> parse_sha256sums(std::string_view text);

}  // namespace workbook::runner
