#include "workbook/todo.h"

#include <filesystem>

namespace workbook {

Unfinished todo(const std::string& what, const char* file, int line) {
  const auto where = std::filesystem::path(file).filename().string();
  throw NotImplemented("not implemented yet: " + what + " (" + where + ":" + std::to_string(line) + ")");
}

}  // namespace workbook
