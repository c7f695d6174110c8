#pragma once
/// \file
/// The device a learner asks for (`--device` or WORKBOOK_DEVICE), checked once before anything is
/// built or run, so that an absent or unknown device is one clear error instead of a suite of
/// failing tests recorded as lost progress.

#include "session.h"

#include <string>

namespace workbook::runner {

/// Applies `--device NAME` (when not empty) as WORKBOOK_DEVICE, which every test program and
/// program the runner starts inherits.
void apply_device_option(const std::string& device);

/// Throws UsageError with workbook_info's explanation when WORKBOOK_DEVICE names a device that is
/// unknown or absent. `cpu`, `auto` and no request need no check; any other request builds and
/// runs workbook_info (which links LibTorch) once.
void ensure_device_usable(const Session& session);

}  // namespace workbook::runner
