#include "terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace workbook::runner {
namespace {

bool env_set(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

bool utf8_locale() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    std::string lower(value);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find("utf-8") != std::string::npos || lower.find("utf8") != std::string::npos;
  }
  // No locale at all (containers, CI): UTF-8 is by far the most likely.
  return true;
}

Terminal& settings() {
  static Terminal current = detect_terminal();
  return current;
}

std::string paint(std::string_view text, const char* code) {
  if (!terminal().color) return std::string(text);
  return std::string("\x1b[") + code + "m" + std::string(text) + "\x1b[0m";
}

bool status_line_open = false;

}  // namespace

Terminal detect_terminal() {
  Terminal t;
  t.stdout_is_tty = isatty(STDOUT_FILENO) != 0;
  t.stdin_is_tty = isatty(STDIN_FILENO) != 0;
  const char* term = std::getenv("TERM");
  const bool dumb = term != nullptr && std::strcmp(term, "dumb") == 0;
  t.color = t.stdout_is_tty && !env_set("NO_COLOR") && !dumb;
  t.unicode = utf8_locale();
  if (const char* columns = std::getenv("COLUMNS")) {
    const int value = std::atoi(columns);
    if (value >= 40) t.width = value;
  } else if (t.stdout_is_tty) {
    winsize size{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) t.width = std::min<int>(size.ws_col, 120);
  }
  return t;
}

const Terminal& terminal() { return settings(); }
void set_terminal(const Terminal& value) { settings() = value; }

std::string bold(std::string_view text) { return paint(text, "1"); }
std::string dim(std::string_view text) { return paint(text, "2"); }
std::string red(std::string_view text) { return paint(text, "31"); }
std::string green(std::string_view text) { return paint(text, "32"); }
std::string yellow(std::string_view text) { return paint(text, "33"); }
std::string cyan(std::string_view text) { return paint(text, "36"); }

std::string mark_pass() { return green(terminal().unicode ? "\u2714" : "ok"); }
std::string mark_fail() { return red(terminal().unicode ? "\u2717" : "x"); }
std::string mark_todo() { return dim(terminal().unicode ? "\u00b7" : "-"); }
std::string mark_next() { return yellow(terminal().unicode ? "\u25b8" : ">"); }
std::string dash() { return terminal().unicode ? "\u2014" : "-"; }

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {  // skip an ANSI escape sequence: ESC [ ... letter
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;  // count UTF-8 lead bytes only
  }
  return width;
}

std::string pad(std::string_view text, std::size_t width) {
  std::string result(text);
  const std::size_t shown = display_width(text);
  if (shown < width) result.append(width - shown, ' ');
  return result;
}

std::string wrap(std::string_view text, std::string_view indent, int width) {
  if (width <= 0) width = terminal().width;
  const std::size_t limit = std::max<std::size_t>(static_cast<std::size_t>(width), indent.size() + 20);
  // Split into paragraphs at blank lines; keep lines that look preformatted (start with a space,
  // "-" or "*") on their own.
  std::vector<std::string> lines;
  {
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  std::string out;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) {
      out += indent;
      out += current;
      out += '\n';
      current.clear();
    }
  };
  auto add_word = [&](const std::string& word) {
    if (current.empty()) {
      current = word;
    } else if (indent.size() + display_width(current) + 1 + display_width(word) > limit) {
      flush();
      current = word;
    } else {
      current += ' ';
      current += word;
    }
  };
  bool previous_blank = true;
  for (const auto& line : lines) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) {
      flush();
      if (!previous_blank) out += '\n';
      previous_blank = true;
      continue;
    }
    const bool preformatted = first > 0 || line[0] == '-' || line[0] == '*';
    if (preformatted) {
      flush();
      out += indent;
      out += line;
      out += '\n';
    } else {
      std::istringstream words(line);
      std::string word;
      while (words >> word) add_word(word);
    }
    previous_blank = false;
  }
  flush();
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

std::string indent_lines(std::string_view text, std::string_view prefix) {
  std::string out;
  bool at_line_start = true;
  for (char c : text) {
    if (at_line_start) out += prefix;
    out += c;
    at_line_start = c == '\n';
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::string plural(long long count, std::string_view singular, std::string_view plural_form) {
  std::string word(count == 1 ? singular : (plural_form.empty() ? std::string(singular) + "s" : std::string(plural_form)));
  return std::to_string(count) + " " + word;
}

bool confirm(std::string_view question) {
  if (!terminal().stdin_is_tty) return false;
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  const auto first = answer.find_first_not_of(" \t");
  return first != std::string::npos && (answer[first] == 'y' || answer[first] == 'Y');
}

void clear_screen() {
  if (terminal().stdout_is_tty) std::cout << "\x1b[2J\x1b[H" << std::flush;
}

void status_line(std::string_view text) {
  if (!terminal().stdout_is_tty) return;
  std::string shown(text);
  if (display_width(shown) + 1 > static_cast<std::size_t>(terminal().width)) {
    shown = shown.substr(0, static_cast<std::size_t>(terminal().width) - 4) + "...";
  }
  std::cout << "\r\x1b[2K" << shown << std::flush;
  status_line_open = true;
}

void finish_status_line() {
  if (status_line_open) std::cout << "\r\x1b[2K" << std::flush;
  status_line_open = false;
}

}  // namespace workbook::runner
