#pragma once
/// \file
/// The marker that every unfinished exercise function returns.
///
///     torch::Tensor zeros_int64() {
///       // TODO: return a 5x3 tensor of zeros with dtype int64.
///       return workbook::todo("return a 5x3 tensor of zeros with dtype int64");
///     }
///
/// It compiles wherever a value of any type is expected (or as a plain statement in a `void`
/// function) and throws workbook::NotImplemented when reached, so the test says
/// "not implemented yet: <what to do>" instead of crashing.

#include <stdexcept>
#include <string>

namespace workbook {

/// Thrown by todo(): the learner has not written this function yet.
class NotImplemented : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// What todo() pretends to return: converts to any type, but is never actually produced.
struct Unfinished {
  template <typename T>
  operator T() const {  // NOLINT(google-explicit-constructor): converting is its whole purpose
    throw NotImplemented("not implemented yet");
  }
};

/// Throws NotImplemented("not implemented yet: <what> (<file>:<line>)").
[[noreturn]] Unfinished todo(const std::string& what, const char* file = __builtin_FILE(),
                             int line = __builtin_LINE());

}  // namespace workbook
