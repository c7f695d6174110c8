#pragma once
/// \file
/// The base of the errors that say this machine or this command line cannot do what was asked:
/// an absent device (DeviceError, device.h), missing or damaged data files (DataError, mnist.h).
/// what() names the problem and the fix; the programs exit with status 2 on them (program.h).

#include <stdexcept>

namespace workbook {

/// A problem with the set-up, not with the learner's code.
class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace workbook
