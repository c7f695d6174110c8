#pragma once
/// \file
/// How the runner's output looks: colour and symbols on a terminal, plain text when the output
/// is a pipe or a file, or when NO_COLOR is set (https://no-color.org), or TERM is "dumb".

#include <string>
#include <string_view>

namespace workbook::runner {

/// What the output stream can show.
struct Terminal {
  bool color = false;        ///< ANSI colours and bold
  bool unicode = true;       ///< "✔ ✗ ·" rather than "ok x -"
  bool stdout_is_tty = false;  ///< standard output is a terminal (progress lines, clearing)
  bool stdin_is_tty = false;   ///< a person can answer questions
  int width = 100;           ///< columns to wrap text at
};

/// Inspects the process: isatty(1) and isatty(0), NO_COLOR, TERM, COLUMNS and the locale.
Terminal detect_terminal();

/// The settings every formatting function below uses (detect_terminal() until set).
const Terminal& terminal();
/// Replaces the settings (tests use it to force plain output).
void set_terminal(const Terminal& settings);

std::string bold(std::string_view text);
std::string dim(std::string_view text);
std::string red(std::string_view text);
std::string green(std::string_view text);
std::string yellow(std::string_view text);
std::string cyan(std::string_view text);

/// "✔" (or "ok"), in green.
std::string mark_pass();
/// "✗" (or "x"), in red.
std::string mark_fail();
/// "·" (or "-"): not started, skipped.
std::string mark_todo();
/// "▸" (or ">"): in progress, the next thing to do.
std::string mark_next();
/// "—" (or "-"), a dash between a name and its description.
std::string dash();

/// Wraps `text` to terminal().width, starting every line with `indent` (paragraphs, separated
/// by blank lines, are kept; single newlines inside a paragraph become spaces).
std::string wrap(std::string_view text, std::string_view indent = "", int width = 0);

/// Prefixes every line of `text` with `prefix`.
std::string indent_lines(std::string_view text, std::string_view prefix);

/// "1 test", "3 tests".
std::string plural(long long count, std::string_view singular, std::string_view plural_form = {});

/// Asks a yes/no question on the terminal; true only for an answer starting with y or Y.
/// Returns false without asking when standard input is not a terminal.
bool confirm(std::string_view question);

/// Clears the screen on a terminal (for watch); does nothing otherwise.
void clear_screen();

/// Rewrites the current terminal line with `text` (a progress indicator); does nothing when the
/// output is not a terminal. finish_status_line() ends it.
void status_line(std::string_view text);
void finish_status_line();

/// Number of characters a UTF-8 string takes on screen (ANSI escapes excluded).
std::size_t display_width(std::string_view text);

/// `text` padded with spaces to `width` display columns.
std::string pad(std::string_view text, std::size_t width);

}  // namespace workbook::runner
