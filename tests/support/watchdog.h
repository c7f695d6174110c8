#pragma once
/// \file
/// What the runner (`./workbook check`, `verify`) needs from a test program while it runs: a
/// time limit per test case, and a journal of the cases as they start and end, so that an
/// endless loop or a crash costs one case and the runner can go on with the others. Both stay
/// off unless the runner asks for them through the environment:
///
///   WORKBOOK_TEST_TIMEOUT  seconds one case may run (fractions allowed). Past it, the program
///                          prints which case ran too long and ends with kTimedOutExitStatus.
///   WORKBOOK_TEST_JOURNAL  a file that gets one JSON line per event:
///                          {"event":"start","suite":S,"name":N}
///                          {"event":"end","suite":S,"name":N,"file":F,"line":L,"result":
///                           "passed"|"failed"|"skipped","time_ms":T,"messages":["file:line\n..."]}
///                          {"event":"timeout","suite":S,"name":N,"limit_ms":T}
///
/// GoogleTest and POSIX only (no LibTorch), so that the runner's fixture workbook links it too.

namespace workbook::test {

/// The exit status of a test program that the time limit ended (as timeout(1) uses).
inline constexpr int kTimedOutExitStatus = 124;

/// Adds the time limit and the journal to GoogleTest when the environment asks for them. Call
/// it from main() before ::testing::InitGoogleTest, with main's arguments. Does nothing in a
/// death test's child process.
void install_runner_listeners(int argc, char** argv);

}  // namespace workbook::test
