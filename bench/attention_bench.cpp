// bench_attention: the exercise 14 reference attention (solutions/14_attention), written by hand
// from matrix products and a softmax, against LibTorch's own at a few sequence lengths, and the
// exercise's training step against the same model trained in Python (attention_bench.py, run by
// the program in the same run) on the same threads.
//
//   bench_attention                     name value unit lines (and # comments)
//   bench_attention --json              one JSON object
//   bench_attention --lengths 16 256 --threads 1 --reps 5 --no-python
//
// Attention, C++ only, causal self-attention of B sequences of width 64 in 4 heads, inference
// (no autograd), per call:
//   hand_mha   MultiHeadAttention::forward (projections, split, dot_product_attention, merge, out_proj)
//   torch_mha  torch::nn::MultiheadAttention::forward with the same weights (per-head weights too)
//   hand_core  dot_product_attention on [B, H, L, D] alone
//   sdpa       torch::scaled_dot_product_attention on the same tensors (LibTorch 2.x only)
// Training, C++ and Python taking turns: --steps steps of train_step (Adam, batch --batch, the
// program's 17-token sequences) per timed run; the first run's mean losses must agree.
// Figures, not assertions: nothing here fails because it is slow.
#include "attention.h"
#include "bench_config.h"
#include "bench_support.h"
#include "workbook/runtime.h"

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace bench = workbook::bench;

namespace {

constexpr int64_t kDim = 64;    // the program's width
constexpr int64_t kHeads = 4;   // and heads

struct Settings : bench::Options {
  std::vector<int64_t> lengths{16, 64, 256, 1024};
  int64_t sequences = 4;        // B of the attention timings
  int64_t batch = 128;          // sequences per training step
  int64_t steps = 20;           // training steps per timed run
  uint64_t seed = 0;
};

/// Floating-point operations of one causal self-attention call at length L (the masked half is
/// computed all the same): q kᵀ and weights v, 2·B·H·L²·D each, plus four projections 2·B·L·E².
double core_flops(int64_t b, int64_t length) { return 4.0 * double(b) * double(length * length) * double(kDim); }
double mha_flops(int64_t b, int64_t length) { return core_flops(b, length) + 8.0 * double(b * length) * kDim * kDim; }

/// LibTorch's C++ MultiheadAttention adds its attn_mask to the logits: 0 allowed, -inf blocked.
torch::Tensor additive(const torch::Tensor& blocked) {
  return torch::zeros(blocked.sizes()).masked_fill(blocked, -std::numeric_limits<float>::infinity());
}

void time_attention(bench::Report& report, const Settings& s, int64_t length, const std::string& t) {
  torch::manual_seed(s.seed);
  MultiHeadAttention hand(kDim, kHeads);
  torch::nn::MultiheadAttention library(torch::nn::MultiheadAttentionOptions(kDim, kHeads));
  {
    torch::NoGradGuard no_grad;  // the same weights on both sides
    const auto w = library->in_proj_weight.chunk(3), b = library->in_proj_bias.chunk(3);
    hand->q_proj->weight.copy_(w[0]), hand->k_proj->weight.copy_(w[1]), hand->v_proj->weight.copy_(w[2]);
    hand->q_proj->bias.copy_(b[0]), hand->k_proj->bias.copy_(b[1]), hand->v_proj->bias.copy_(b[2]);
    hand->out_proj->weight.copy_(library->out_proj->weight), hand->out_proj->bias.copy_(library->out_proj->bias);
  }
  torch::InferenceMode inference;
  const auto x = torch::randn({s.sequences, length, kDim});
  const auto x_first = x.transpose(0, 1).contiguous();  // [L, B, E], the library module's layout
  const auto blocked = causal_mask(length);
  const auto blocked_float = additive(blocked);
  const auto q = torch::randn({s.sequences, kHeads, length, kDim / kHeads}), k = torch::randn_like(q),
             v = torch::randn_like(q);
  const std::string tag = "attention_L" + std::to_string(length) + "_" + t;

  // The check first: both modules compute the same thing.
  const auto ours = hand->forward(x, x, x, {}, blocked).output;
  const auto theirs = std::get<0>(library->forward(x_first, x_first, x_first, {}, true, blocked_float, false));
  const double difference = (ours - theirs.transpose(0, 1)).abs().max().item<double>();
  report.checks[tag + "_max_difference"] = difference;

  const double mha = mha_flops(s.sequences, length), core = core_flops(s.sequences, length);
  const auto hand_mha = bench::time_per_call([&] { hand->forward(x, x, x, {}, blocked); }, mha, s.reps);
  const auto torch_mha = bench::time_per_call(
      [&] { library->forward(x_first, x_first, x_first, {}, /*need_weights=*/true, blocked_float, false); }, mha, s.reps);
  const auto hand_core = bench::time_per_call([&] { dot_product_attention(q, k, v, blocked); }, core, s.reps);
  report.add(tag + "_hand_mha", 1e6 * bench::median(hand_mha), "us/call");
  report.add(tag + "_torch_mha", 1e6 * bench::median(torch_mha), "us/call");
  report.add(tag + "_hand_mha_ratio", bench::median(hand_mha) / bench::median(torch_mha), "x");
  report.add(tag + "_hand_core", 1e6 * bench::median(hand_core), "us/call");
  report.add(tag + "_hand_core_gflops", core / bench::median(hand_core) / 1e9, "GFLOP/s");
  report.seconds[tag + "_hand_mha"] = hand_mha;
  report.seconds[tag + "_torch_mha"] = torch_mha;
  report.seconds[tag + "_hand_core"] = hand_core;
#if TORCH_VERSION_MAJOR >= 2  // torch::scaled_dot_product_attention exists from LibTorch 2.0
  const auto sdpa = bench::time_per_call(
      [&] { torch::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true); }, core, s.reps);
  report.add(tag + "_sdpa", 1e6 * bench::median(sdpa), "us/call");
  report.add(tag + "_hand_core_ratio", bench::median(hand_core) / bench::median(sdpa), "x");
  report.seconds[tag + "_sdpa"] = sdpa;
  const auto fused = torch::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
  report.checks[tag + "_sdpa_max_difference"] = (dot_product_attention(q, k, v, blocked).output - fused).abs().max().item<double>();
#endif
}

/// The program's configuration, after seeding the generator that initialises the weights.
TransformerConfig seeded(uint64_t seed) {
  torch::manual_seed(seed);
  return TransformerConfig{};
}

/// The training workload: the model, then the batches, drawn from the seed in the order
/// attention_bench.py draws them; one call of run() is `steps` steps, returning the mean loss.
struct Training {
  TransformerLm model;
  torch::Tensor tokens, targets;  // [steps, batch, kMaxLength - 1]
  std::unique_ptr<torch::optim::Adam> optimizer;
  int64_t steps;

  explicit Training(const Settings& s) : model(seeded(s.seed)), steps(s.steps) {
    tokens = torch::randint(0, kVocabulary, {s.steps, s.batch, kMaxLength - 1}, torch::kInt64);
    targets = torch::randint(0, kVocabulary, {s.steps, s.batch, kMaxLength - 1}, torch::kInt64);
    optimizer = std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
  }
  double run() {
    double total = 0.0;
    for (int64_t step = 0; step < steps; ++step) total += train_step(model, *optimizer, tokens[step], targets[step]);
    return total / static_cast<double>(steps);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  s.reps = 5;
  CLI::App app{"The exercise 14 attention against LibTorch's, and its training step against Python's"};
  app.add_option("--lengths", s.lengths, "sequence lengths of the attention timings")->capture_default_str()
      ->check(CLI::Range(1, 1 << 14));
  app.add_option("--sequences", s.sequences, "sequences per attention call")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch", s.batch, "sequences per training step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--steps", s.steps, "training steps per timed run")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", s.seed, "seed of the weights and the data")->capture_default_str();
  bench::add_options(app, s, "runs");
  CLI11_PARSE(app, argc, argv);

  workbook::init_runtime();  // warns about the reference BLAS; threads are set per measurement below
  bench::resolve(s);

  bench::Report report("attention", s.json);
  report.describe_machine();
  const bench::Python python = bench::choose_python(s.python, s.no_python);
  auto server = bench::start_python(python, WORKBOOK_BENCH_DIR "/attention_bench.py");
  report.describe_python(python, s.no_python);
  report.context.update({{"lengths", s.lengths}, {"sequences", s.sequences}, {"dim", kDim}, {"heads", kHeads},
                         {"batch", s.batch}, {"steps", s.steps}, {"reps", s.reps}, {"warmup", s.warmup},
                         {"seed", s.seed}});
  report.comment("attention: causal self-attention of " + std::to_string(s.sequences) + " sequences, width " +
                 std::to_string(kDim) + ", " + std::to_string(kHeads) + " heads, no autograd; median of " +
                 std::to_string(s.reps) + "; ratio = hand-written / LibTorch's");
  report.comment("train: " + std::to_string(s.steps) + " Adam steps of batch " + std::to_string(s.batch) +
                 " per run, C++ and Python taking turns; ratio = C++ steps/s / Python steps/s");

  for (const int threads : s.threads) {
    at::set_num_threads(threads);
    const std::string t = "t" + std::to_string(threads);
    for (const int64_t length : s.lengths) {
      std::cerr << "bench_attention: length " << length << ", " << bench::thread_word(threads) << "\n";
      time_attention(report, s, length, t);
    }

    std::cerr << "bench_attention: training, " << bench::thread_word(threads) << "\n";
    Training training(s);
    std::ostringstream setup;
    setup << "setup " << s.batch << " " << threads << " " << s.steps << " " << s.seed;
    const bench::Paired run = bench::measure_paired([&] { return training.run(); }, server.get(), setup.str(),
                                                    s.warmup, s.reps);
    report.add_paired("train_b" + std::to_string(s.batch) + "_" + t + "_%", run, double(s.steps), "steps/s");
  }
  server.reset();
  report.finish();
  return 0;
}
