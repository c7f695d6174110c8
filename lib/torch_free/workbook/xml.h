#pragma once
/// \file
/// XML escaping for the SVG charts (workbook::plot) and the grader's JUnit report (tools/grading).
/// Standard library only: the runner includes it too, and it does not link LibTorch.

#include <string>
#include <string_view>

namespace workbook {

/// Escapes &, <, >, " and ' for use in XML text and attribute values.
inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace workbook
