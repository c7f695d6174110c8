#include "libtorch_errors.h"

#include "process.h"
#include "report.h"

#include <fstream>
#include <regex>
#include <sstream>

namespace workbook::runner {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kBacktrace = "\nException raised from ";

struct Hint {
  const char* pattern;  // a part of LibTorch's message (1.13 and 2.x)
  const char* hint;
};

constexpr const char* kReadsValuesOnMeta =
    "the tests also call your function on the meta device, whose tensors have shapes but no values: "
    "compute with tensor operations on the device you were given instead of reading values "
    "(.item(), .cpu(), data_ptr()).";

constexpr Hint kHints[] = {
    {"shapes cannot be multiplied",
     "a matrix product needs [n, k] x [k, m]: the inner sizes must agree. Print both operands' .sizes(); a "
     "missing or extra .t() is the usual cause."},
    {"must match the size of tensor",
     "these shapes do not broadcast: sizes are lined up from the LAST dimension and must be equal or 1 there. "
     "Print the .sizes(); unsqueeze() or view() one operand."},
    {"Expected all tensors to be on the same device",
     "the tensors of one operation are on two devices: create new tensors with an input's options "
     "(x.options()) or move them with .to(x.device())."},
    {"expected scalar type",
     "the operands have different dtypes: convert one with .to(other.dtype()), or both with "
     ".to(torch::kFloat32)."},
    {"same dtype", "the operands have different dtypes: convert one with .to(other.dtype())."},
    {"a leaf Variable that requires grad is being used in an in-place operation",
     "a parameter (a leaf that requires grad) was changed in place while autograd records: update it inside "
     "{ torch::NoGradGuard no_grad; ... }."},
    {"backward through the graph a second time",
     "backward() frees the graph it used: compute the forward pass again, or pass retain_graph=true to the "
     "first backward()."},
    {"meta tensor", kReadsValuesOnMeta},
    {"from the 'Meta' backend", kReadsValuesOnMeta},
    {"does not require grad and does not have a grad_fn",
     "the tensor you differentiate does not depend on any tensor that requires grad: create the inputs with "
     "TensorOptions().requires_grad(true), outside a NoGradGuard."},
};

// The description inside GoogleTest's "C++ exception with description "..." thrown in ...".
struct Wrapped {
  std::size_t begin = 0, end = 0;
};

bool find_description(const std::string& failure, Wrapped& where) {
  static const std::string prefix = "C++ exception with description \"";
  const auto begin = failure.find(prefix);
  const auto end = failure.rfind("\" thrown in ");
  if (begin == std::string::npos || end == std::string::npos || end < begin + prefix.size()) return false;
  where = {begin + prefix.size(), end};
  return true;
}

// addr2line's "function\nfile:line" for each offset, or nothing when it is not installed.
std::vector<std::pair<std::string, std::string>> symbolize(const fs::path& executable,
                                                           const std::vector<unsigned long long>& offsets) {
  const fs::path addr2line = find_program("addr2line");
  if (addr2line.empty() || offsets.empty()) return {};
  Command command;
  command.argv = {addr2line.string(), "-C", "-f", "-e", executable.string()};
  for (const auto offset : offsets) {
    std::ostringstream hex;
    hex << std::hex << "0x" << (offset - 1);  // a return address: the call is the byte before
    command.argv.push_back(hex.str());
  }
  command.timeout = std::chrono::seconds(10);
  const ProcessResult result = run_process(command);
  std::vector<std::pair<std::string, std::string>> places;
  if (!result.ok()) return places;
  std::istringstream lines(result.output);
  for (std::string function, place; std::getline(lines, function) && std::getline(lines, place);) {
    if (const auto space = place.find(' '); space != std::string::npos) place.erase(space);  // "(discriminator 2)"
    places.emplace_back(function, place);
  }
  return places;
}

// "in affine(at::Tensor const&, ...) at exercises/01_tensors/tensors.cpp:84", or "".
std::string learner_place(const std::string& text, const fs::path& executable, const std::vector<fs::path>& sources,
                          const fs::path& root) {
  for (const auto& [function, place] : symbolize(executable, executable_frames(text, executable))) {
    const auto colon = place.rfind(':');
    if (colon == std::string::npos) continue;
    std::error_code error;
    const fs::path file = fs::weakly_canonical(place.substr(0, colon), error);
    for (const auto& source : sources) {
      if (file != fs::weakly_canonical(source, error)) continue;
      std::string name = function.substr(0, function.find('('));
      return "in " + name + "() at " + relative_paths(place, root);
    }
  }
  return "";
}

}  // namespace

std::string libtorch_hint(const std::string& message) {
  for (const auto& hint : kHints) {
    if (message.find(hint.pattern) != std::string::npos) return hint.hint;
  }
  return "";
}

std::vector<unsigned long long> executable_frames(const std::string& text, const fs::path& executable) {
  static const std::regex frame(R"(frame #\d+: <unknown function> \+ 0x([0-9a-fA-F]+) \(0x[0-9a-fA-F]+ in ([^)]*)\))");
  const std::string name = executable.filename().string();
  std::vector<unsigned long long> offsets;
  for (std::sregex_iterator it(text.begin(), text.end(), frame), end; it != end; ++it) {
    if (fs::path((*it)[2].str()).filename() == name) offsets.push_back(std::stoull((*it)[1].str(), nullptr, 16));
  }
  return offsets;
}

void explain_libtorch_errors(SuiteResult& suite, const fs::path& executable, const std::vector<fs::path>& sources,
                             const fs::path& log, const fs::path& root) {
  std::ofstream full;
  for (auto& test : suite.tests) {
    for (auto& failure : test.failures) {
      Wrapped where;
      if (!find_description(failure, where)) continue;
      const std::string text = failure.substr(where.begin, where.end - where.begin);
      const auto backtrace = text.find(kBacktrace);
      if (backtrace == std::string::npos) continue;
      if (!full.is_open()) {
        std::error_code error;
        fs::create_directories(log.parent_path(), error);
        full.open(log, std::ios::trunc);
      }
      full << "== " << test.full_name() << "\n" << text << "\n\n";

      std::string message = text.substr(0, std::min(backtrace, text.find('\n')));
      if (const std::string place = learner_place(text, executable, sources, root); !place.empty()) {
        message += "\n  " + place;
      }
      if (const std::string hint = libtorch_hint(text.substr(0, backtrace)); !hint.empty()) {
        message += "\n  hint: " + hint;
      }
      message += "\n  (LibTorch's full error: " + relative_paths(log.string(), root) + ")";
      failure.replace(where.begin, where.end - where.begin, message);
    }
  }
}

}  // namespace workbook::runner
