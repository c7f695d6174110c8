// Exercise 14 — the training program. You do not need to edit this file: it drives the functions
// you write in attention.cpp. It trains a small transformer (two blocks of four heads) to sort
// sequences of 1 to 8 different digits (--repeats: any digits), generated here as it goes,
// measures how many sequences of a fresh set it sorts exactly by greedy decoding, prints some
// beside the right answer, and draws where every head of every block looks while it sorts one.
//
//   cmake --build build/dev --target 14_attention_program
//   build/dev/exercises/14_attention_program                 (1000 steps, 100% sorted, about a minute)
//   build/dev/exercises/14_attention_program --steps 500 --out build/attention --json
//
// Exit status: 0 done, 1 an exercise function is not written yet (or failed), 2 bad device.
#include "attention.h"

#include "workbook/device.h"
#include "workbook/plot.h"
#include "workbook/program.h"
#include "workbook/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using torch::indexing::Slice;

struct Options {
  std::string device;          // empty: WORKBOOK_DEVICE, else the best device present
  int64_t steps = 1000;        // optimiser steps, each on a fresh batch
  int64_t batch_size = 128;    // sequences per step
  double lr = 1e-3;            // peak learning rate of Adam
  int64_t warmup = 200;        // steps of linear warm-up to the peak
  int64_t max_digits = kMaxDigits;  // inputs of 1 .. max_digits digits
  bool repeats = false;        // digits may repeat within a sequence (a harder task)
  TransformerConfig model;     // the defaults of attention.h
  uint64_t seed = 0;           // torch::manual_seed: weights and data
  // Intra-op CPU threads (0: every core). One, for the same reason as exercise 10: these small
  // matrices gain little from a second thread and lose much when other programs share the cores.
  int threads = 1;
  int64_t eval_size = 4000;    // fresh sequences the final accuracy is measured on
  int64_t eval_every = 200;    // steps between two progress measurements
  int examples = 12;           // decoded examples printed at the end
  std::string out;             // folder for the figures; empty: 14_attention_figures beside the program
  bool no_figures = false;     // draw nothing
  bool json = false;           // end with one JSON object on stdout
};

// A batch of the sorting task, T = 2 * max_digits + 1 tokens per sequence (attention.h):
// input digits, separator, sorted digits, padding.
struct Batch {
  torch::Tensor sequences;  // int64 [B, T], the whole sequences
  torch::Tensor lengths;    // int64 [B], the number of digits n of each
  torch::Tensor tokens;     // int64 [B, T - 1], what the model reads
  torch::Tensor targets;    // int64 [B, T - 1], the next token where it is a sorted digit, else kIgnore
  torch::Tensor padding;    // bool [B, T - 1], true after the last token that counts
};

Batch make_batch(int64_t size, int64_t max_digits, bool repeats, const torch::Device& device) {
  const auto int64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const int64_t length = 2 * max_digits + 1;
  // Different digits by default (the first max_digits of a random permutation of 0-9), or any.
  const auto digits = repeats ? torch::randint(0, 10, {size, max_digits}, int64)
                              : torch::rand({size, 10}, torch::TensorOptions().device(device)).argsort(/*dim=*/1, /*descending=*/false).slice(1, 0, max_digits);
  const auto n = torch::randint(1, max_digits + 1, {size, 1}, int64);
  // Sorting with the unused places set to 10 leaves the n real digits, sorted, in front.
  const auto unused = torch::arange(max_digits, int64).unsqueeze(0) >= n;
  const auto sorted = std::get<0>(digits.masked_fill(unused, 10).sort(/*dim=*/1));
  const auto t = torch::arange(length, int64).unsqueeze(0).expand({size, length});
  const auto input = digits.gather(1, t.clamp_max(max_digits - 1));
  const auto answer = sorted.gather(1, (t - n - 1).clamp(0, max_digits - 1));
  const auto pad = torch::full_like(t, kPad);
  const auto sequences = torch::where(t < n, input, torch::where(t == n, torch::full_like(t, kSeparator),
                                                                  torch::where(t <= 2 * n, answer, pad)));
  Batch batch;
  batch.sequences = sequences;
  batch.lengths = n.squeeze(1);
  batch.tokens = sequences.slice(1, 0, length - 1);
  const auto p = t.slice(1, 0, length - 1);
  // Position p predicts token p + 1: from the separator (p = n) to the last digit but one (p = 2n - 1).
  batch.targets = sequences.slice(1, 1).masked_fill((p < n) | (p >= 2 * n), kIgnore);
  batch.padding = p > 2 * n;
  return batch;
}

// The fraction of sequences whose every sorted digit the model predicts, reading the right answer
// so far (teacher forcing): exactly the sequences that greedy decoding gets right, in one pass.
double teacher_forced_accuracy(TransformerLm& model, const Batch& batch) {
  model->eval();
  torch::NoGradGuard no_grad;
  const auto predicted = model->forward(batch.tokens, batch.padding).argmax(-1);
  const auto wrong = predicted.ne(batch.targets) & batch.targets.ne(kIgnore);
  return wrong.any(1).logical_not().to(torch::kDouble).mean().item<double>();
}

// Greedy decoding of every sequence of `batch`, the inputs of one length at a time (a prompt has no
// padding); returns the decoded answers, int64 [B, max_digits], kPad after the n digits.
torch::Tensor decode_all(TransformerLm& model, const Batch& batch, int64_t max_digits) {
  auto answers = torch::full({batch.lengths.size(0), max_digits}, kPad, batch.lengths.options());
  for (int64_t n = 1; n <= max_digits; ++n) {
    const auto rows = batch.lengths.eq(n).nonzero().squeeze(1);
    if (rows.numel() == 0) continue;
    const auto prompt = batch.sequences.index_select(0, rows).slice(1, 0, n + 1);  // digits and separator
    answers.index_put_({rows, Slice(0, n)}, greedy_decode(model, prompt, n));
  }
  return answers;
}

std::string digits_text(const torch::Tensor& row, int64_t n) {
  std::string text;
  for (int64_t i = 0; i < n; ++i) text += (i ? " " : "") + std::to_string(row[i].item<int64_t>());
  return text;
}

std::string token_text(int64_t token) {
  return token == kSeparator ? "=" : token == kPad ? "_" : std::to_string(token);
}

// Every head of every block on one sequence: rows = blocks, columns = heads, each image
// query (row) by key (column), darker = more weight.
void draw_attention(const fs::path& path, TransformerLm& model, const torch::Tensor& sequence) {
  model->eval();
  torch::NoGradGuard no_grad;
  const auto tokens = sequence.slice(0, 0, sequence.size(0) - 1).unsqueeze(0);
  model->forward(tokens);
  std::string text;
  for (int64_t i = 0; i < tokens.size(1); ++i) text += (i ? " " : "") + token_text(tokens[0][i].item<int64_t>());
  workbook::plot::ImageGrid grid("Attention weights reading \"" + text +
                                 "\": row = query position, column = key position, darker = more weight");
  grid.columns(static_cast<int>(model->config.heads)).scale(12).invert();
  int64_t layer = 0;
  for (const auto& block : *model->blocks) {
    const auto weights = block->as<TransformerBlockImpl>()->attention_weights[0].cpu();  // [H, T, T]
    ++layer;
    for (int64_t h = 0; h < weights.size(0); ++h) {
      // The weights as they are, 0 white and 1 black: every row sums to 1.
      workbook::plot::Image image{weights.size(1), weights.size(2), workbook::plot::values(weights[h]),
                                  "block " + std::to_string(layer) + ", head " + std::to_string(h + 1), ""};
      grid.add(std::move(image));
    }
  }
  grid.save(path.string());
}

void draw_curves(const fs::path& path, const std::vector<double>& losses, const std::vector<double>& steps,
                 const std::vector<double>& accuracies) {
  workbook::plot::Chart loss("Training loss (per step)");
  loss.x_label("step").y_label("cross-entropy").log_y().series_by_index(losses, {"#1f77b4", "train"});
  workbook::plot::Chart accuracy("Sequences sorted exactly");
  accuracy.x_label("step").y_label("fraction").y_range(0, 1).legend(workbook::plot::Corner::kBottomRight)
      .series(steps, accuracies, {"#2ca02c", "fresh sequences"});
  workbook::plot::Figure figure("Sorting digits with a transformer");
  figure.add(loss).add(accuracy).save(path.string());
}

int run(const Options& options, const fs::path& program_dir) {
  const int threads = workbook::init_runtime(options.threads);
  const torch::Device device =
      options.device.empty() ? workbook::device_from_environment() : workbook::parse_device(options.device);
  if (options.max_digits < 1 || 2 * options.max_digits + 1 > options.model.max_length) {
    std::fprintf(stderr, "error: --max-digits must be between 1 and %lld\n",
                 static_cast<long long>((options.model.max_length - 1) / 2));
    return 2;
  }
  torch::manual_seed(options.seed);
  TransformerLm model(options.model);
  model->to(device);
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  const auto eval = make_batch(options.eval_size, options.max_digits, options.repeats, device);
  std::fprintf(stderr, "sorting 1-%lld digits: %lld blocks of %lld heads, width %lld, %lld parameters; device %s, %d thread(s)\n",
               static_cast<long long>(options.max_digits), static_cast<long long>(options.model.layers),
               static_cast<long long>(options.model.heads), static_cast<long long>(options.model.dim),
               static_cast<long long>(parameters), workbook::device_name(device).c_str(), threads);

  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  std::vector<double> losses, eval_steps, accuracies;
  workbook::synchronize(device);
  const auto start = Clock::now();
  for (int64_t step = 1; step <= options.steps; ++step) {
    // Linear warm-up, then a linear decay to 0 over the last half: steady steps while it learns
    // the task, small ones to polish it.
    const double half = static_cast<double>(options.steps) / 2.0;
    double lr = options.lr * std::min(1.0, static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, options.warmup)));
    if (static_cast<double>(step) > half) lr *= (static_cast<double>(options.steps - step) + 1.0) / half;
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    const auto batch = make_batch(options.batch_size, options.max_digits, options.repeats, device);
    losses.push_back(train_step(model, optimizer, batch.tokens, batch.targets, batch.padding));
    if (step % options.eval_every == 0 || step == options.steps) {
      eval_steps.push_back(static_cast<double>(step));
      accuracies.push_back(teacher_forced_accuracy(model, eval));
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      std::fprintf(stderr, "step %lld/%lld  loss %.4f  sorted %.2f%%  lr %.2g  (%.0f s)\n", static_cast<long long>(step),
                   static_cast<long long>(options.steps), losses.back(), 100.0 * accuracies.back(), lr, seconds);
    }
  }
  workbook::synchronize(device);
  const double train_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // The real test: greedy decoding, one token at a time, as a user of the model would.
  const auto answers = decode_all(model, eval, options.max_digits);
  // The sorted digits sit at positions n + 1 .. 2n of each sequence.
  const auto place = torch::arange(options.max_digits, answers.options()).unsqueeze(0);
  const auto digit_count = eval.lengths.unsqueeze(1);
  const auto expected = eval.sequences.gather(1, (digit_count + 1 + place).clamp_max(2 * options.max_digits));
  const auto right = (answers.eq(expected) | (place >= digit_count)).all(1);
  const double accuracy = right.to(torch::kDouble).mean().item<double>();
  std::vector<double> by_length;
  for (int64_t n = 1; n <= options.max_digits; ++n) {
    by_length.push_back(right.masked_select(eval.lengths.eq(n)).to(torch::kDouble).mean().item<double>());
  }

  // New inputs, decoded beside the answer.
  const auto shown = make_batch(options.examples, options.max_digits, options.repeats, device);
  const auto decoded = decode_all(model, shown, options.max_digits).cpu();
  const auto shown_sequences = shown.sequences.cpu();
  std::fprintf(stderr, "%-17s  %-17s  %-17s\n", "input", "decoded", "sorted");
  for (int64_t i = 0; i < options.examples; ++i) {
    const int64_t n = shown.lengths[i].item<int64_t>();
    const auto want = digits_text(shown_sequences[i].slice(0, n + 1, 2 * n + 1), n);
    const auto got = digits_text(decoded[i], n);
    std::fprintf(stderr, "%-17s  %-17s  %-17s %s\n", digits_text(shown_sequences[i], n).c_str(), got.c_str(),
                 want.c_str(), got == want ? "" : "  <- wrong");
  }

  std::vector<std::string> figures;
  if (!options.no_figures) {
    const fs::path out = options.out.empty() ? program_dir / "14_attention_figures" : fs::path(options.out);
    fs::create_directories(out);
    // A fixed input of the longest kind: which digit does each position copy?
    const auto example = torch::tensor({5, 2, 7, 3, 9, 0, 4, 1}, torch::TensorOptions().dtype(torch::kInt64));
    const int64_t n = std::min<int64_t>(options.max_digits, example.size(0));
    const auto input = example.slice(0, 0, n);
    const auto sequence = torch::cat({input, torch::tensor({kSeparator}), std::get<0>(input.sort())}).to(device);
    draw_attention(out / "attention.svg", model, sequence);
    draw_curves(out / "curves.svg", losses, eval_steps, accuracies);
    for (const char* name : {"attention.svg", "curves.svg"}) figures.push_back((out / name).string());
    std::fprintf(stderr, "wrote %zu figures to %s\n", figures.size(), out.string().c_str());
  }

  const double steps_per_second = train_seconds > 0.0 ? static_cast<double>(options.steps) / train_seconds : 0.0;
  if (options.json) {
    nlohmann::json result = {
        {"device", workbook::device_name(device)}, {"threads", threads},
        {"steps", options.steps},                  {"batch_size", options.batch_size},
        {"lr", options.lr},                        {"warmup", options.warmup},
        {"seed", options.seed},                    {"parameters", parameters},
        {"dim", options.model.dim},                {"heads", options.model.heads},
        {"layers", options.model.layers},          {"feedforward", options.model.feedforward},
        {"max_digits", options.max_digits},        {"repeats", options.repeats},
        {"eval_size", options.eval_size},
        {"sequence_accuracy", accuracy},           {"accuracy_by_length", by_length},
        {"train_seconds", train_seconds},          {"steps_per_second", steps_per_second},
        {"eval_steps", eval_steps},
        {"eval_accuracies", accuracies},           {"figures", figures},
    };
    std::cout << result.dump() << std::endl;
  } else {
    std::printf("sorted %.2f%% of %lld fresh sequences exactly (greedy decoding) after %lld steps; %lld parameters; "
                "training took %.1f s (%.1f steps/s)\n",
                100.0 * accuracy, static_cast<long long>(options.eval_size), static_cast<long long>(options.steps),
                static_cast<long long>(parameters), train_seconds, steps_per_second);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Trains the exercise 14 transformer to sort digit sequences, decodes new ones and draws its attention."};
  app.add_option("--device", options.device, "cpu, cuda, cuda:N, mps or auto (default: $WORKBOOK_DEVICE, else auto)");
  app.add_option("--steps", options.steps, "optimiser steps, each on a fresh batch")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", options.batch_size, "sequences per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", options.lr, "peak learning rate of Adam")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", options.warmup, "steps of linear warm-up")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--max-digits", options.max_digits, "the longest input, in digits")->capture_default_str()
      ->check(CLI::Range(int64_t{1}, kMaxDigits));
  app.add_flag("--repeats", options.repeats, "let digits repeat within a sequence (harder: counting)");
  app.add_option("--dim", options.model.dim, "width of the token vectors")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--heads", options.model.heads, "attention heads per block")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--layers", options.model.layers, "transformer blocks")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--feedforward", options.model.feedforward, "hidden width of the feed-forward layers")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--dropout", options.model.dropout, "dropout inside the blocks")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", options.seed, "random seed for the weights and the data")->capture_default_str();
  app.add_option("--threads", options.threads, "CPU threads (0: every core; WORKBOOK_THREADS overrides)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--eval-size", options.eval_size, "fresh sequences the accuracy is measured on")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--eval-every", options.eval_every, "steps between progress lines")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--examples", options.examples, "decoded examples to print")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--out", options.out, "folder for the figures (default: 14_attention_figures beside this program)");
  app.add_flag("--no-figures", options.no_figures, "draw no figures");
  app.add_flag("--json", options.json, "end with one JSON object on stdout (accuracy, timings, curves, figures)");
  const fs::path program_dir = fs::absolute(fs::path(argv[0])).parent_path();
  return workbook::run_program(app, argc, argv, "exercises/14_attention/attention.cpp", [&] { return run(options, program_dir); });
}
