// Tests of exercise 09: GPU acceleration. Every TEST_P runs once per device present (here the
// CPU; CUDA and MPS where they exist); the plain TESTs check pure logic on synthetic numbers.
// No test asserts a speed: timings belong in the program, not in tests that must never flake.
#include "workbook_test.h"

#include "gpu.h"

#include <cmath>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace F = torch::nn::functional;

constexpr int64_t kSmall = 16;  // hidden width of the test networks: big enough to be an MLP, fast anywhere

const torch::Device kMeta(torch::kMeta);

// Two networks built from the same seed start with identical weights: one to train with the
// learner's code, one for the test's own reference computation.
Mlp make_mlp(uint64_t seed, int64_t hidden = kSmall) {
  torch::manual_seed(seed);
  return Mlp(hidden);
}

// The test's own answer to "can this device train in this dtype?": a raw matrix product with a
// gradient, no nn::Linear, so it does not share code with the learner's probe.
bool oracle_trains_in(torch::Device device, torch::Dtype dtype) {
  if (dtype == torch::kFloat32) return true;
  try {
    const auto weight = torch::randn({3, 4}).to(device, dtype).requires_grad_();
    const auto input = torch::ones({2, 4}, torch::TensorOptions().dtype(dtype).device(device));
    input.matmul(weight.t()).sum().backward();
    workbook::synchronize(device);
    return true;
  } catch (const c10::Error&) {
    return false;
  }
}

torch::Dtype oracle_low_precision(torch::Device device) {
  if (oracle_trains_in(device, torch::kBFloat16)) return torch::kBFloat16;
  if (oracle_trains_in(device, torch::kFloat16)) return torch::kFloat16;
  return torch::kFloat32;
}

std::string joined(const std::vector<std::string>& events) {
  std::string text;
  for (const auto& event : events) text += (text.empty() ? "" : ", ") + event;
  return "[" + text + "]";
}

// A Timer that records every call in `events` and reads its times from `times`, in order.
Timer recording_timer(std::vector<std::string>& events, std::deque<double>& times) {
  return {[&events] { events.push_back("synchronize"); },
          [&events, &times] {
            events.push_back("now");
            if (times.empty()) return -1.0;  // read more often than twice: the value is wrong anyway
            const double t = times.front();
            times.pop_front();
            return t;
          }};
}

TrainOptions options_for(torch::Device device, int64_t batch_size = 64, int64_t steps = 1,
                         torch::Dtype dtype = torch::kFloat32, bool non_blocking = false) {
  TrainOptions options;
  options.device = device;
  options.dtype = dtype;
  options.non_blocking = non_blocking;
  options.batch_size = batch_size;
  options.steps = steps;
  return options;
}

constexpr const char* kPinHint =
    "pin_memory() needs a CUDA GPU and throws without one: pin only when non_blocking && device.is_cuda()";

class Gpu : public workbook::test::DeviceTest {};

// ---------------------------------------------------------------------------------------------
// move_batch

TEST_P(Gpu, MoveBatchDeliversFloatImagesAndInt64LabelsOnTheDevice) {
  const auto pixels = torch::randint(0, 256, {3, 28, 28}, torch::TensorOptions().dtype(torch::kUInt8));
  const auto labels = torch::tensor({7, 0, 3}, torch::kInt64);
  for (const bool non_blocking : {false, true}) {
    SCOPED_TRACE(non_blocking ? "with non_blocking = true" : "with non_blocking = false");
    ASSERT_RUNS(batch, move_batch(pixels, labels, device(), non_blocking), kPinHint);
    EXPECT_TENSOR_EQ(batch.images, pixels.to(torch::kFloat32).to(device()))
        << "the images arrive as float32 with the same values (convert after the copy)";
    EXPECT_TENSOR_EQ(batch.labels, labels.to(device()));
  }
  // The meta device exists in every LibTorch: it shows a device argument being ignored even
  // where there is no GPU.
  ASSERT_RUNS(on_meta, move_batch(pixels, labels, kMeta, /*non_blocking=*/true), kPinHint);
  EXPECT_DEVICE(on_meta.images, kMeta);
  EXPECT_DTYPE(on_meta.images, torch::kFloat32);
  EXPECT_SHAPE(on_meta.images, {3, 28, 28});
  EXPECT_DEVICE(on_meta.labels, kMeta);
}

TEST_P(Gpu, MoveBatchNonBlockingCopyEqualsTheBlockingCopy) {
  const auto images = torch::randn({4, 1, 28, 28});
  const auto labels = torch::tensor({1, 2, 3, 4}, torch::kInt64);
  const auto images_before = images.clone();
  ASSERT_RUNS(blocking, move_batch(images, labels, device(), /*non_blocking=*/false), kPinHint);
  ASSERT_RUNS(asynchronous, move_batch(images, labels, device(), /*non_blocking=*/true), kPinHint);
  workbook::synchronize(device());
  EXPECT_TENSOR_EQ(asynchronous.images, blocking.images)
      << "a pinned, non-blocking copy must deliver exactly the same values as a plain one";
  EXPECT_TENSOR_EQ(asynchronous.labels, blocking.labels);
  EXPECT_TENSOR_EQ(asynchronous.images, images.to(device()));
  EXPECT_TENSOR_EQ(images, images_before) << "move_batch must leave its arguments unchanged";
  EXPECT_DEVICE(images, torch::Device(torch::kCPU)) << "move_batch must leave its arguments on the CPU";
}

// ---------------------------------------------------------------------------------------------
// measure

TEST(Measure, WarmsUpThenSynchronisesBeforeEachClockRead) {
  std::vector<std::string> events;
  std::deque<double> times{100.0, 106.0};
  const double seconds = measure([&] { events.push_back("work"); }, /*warmup=*/2, /*repeats=*/3,
                                 recording_timer(events, times));
  const std::vector<std::string> expected{"work", "work", "synchronize", "now", "work",
                                          "work", "work", "synchronize", "now"};
  EXPECT_EQ(joined(events), joined(expected))
      << "the warm-up runs come first and are not timed; synchronize() comes right before each "
         "clock read, or the clock starts while the warm-up is still queued and stops before the "
         "GPU has finished";
  EXPECT_DOUBLE_EQ(seconds, 2.0) << "(106 - 100) seconds over 3 timed runs is 2 seconds per run";
}

TEST(Measure, ReturnsSecondsPerRepeatAndRejectsBadCounts) {
  std::vector<std::string> events;
  std::deque<double> times{10.0, 12.0};
  int runs = 0;
  const double seconds = measure([&] { ++runs; }, /*warmup=*/0, /*repeats=*/4, recording_timer(events, times));
  EXPECT_EQ(runs, 4) << "no warm-up, four timed runs";
  EXPECT_DOUBLE_EQ(seconds, 0.5) << "(12 - 10) seconds over 4 runs is 0.5 seconds per run";
  EXPECT_THROW(measure([] {}, /*warmup=*/-1, /*repeats=*/1, recording_timer(events, times)), std::invalid_argument)
      << "a negative warm-up count is an error";
  EXPECT_THROW(measure([] {}, /*warmup=*/0, /*repeats=*/0, recording_timer(events, times)), std::invalid_argument)
      << "at least one timed run is needed to divide by";
}

TEST_P(Gpu, MeasureWithTheDeviceTimerTimesRealWork) {
  auto x = torch::randn({64, 64}, options());
  int runs = 0;
  const double seconds = measure(
      [&] {
        x = x.matmul(x).tanh();  // tanh keeps the values bounded run after run
        ++runs;
      },
      /*warmup=*/1, /*repeats=*/3, device_timer(device()));
  EXPECT_EQ(runs, 4) << "one warm-up run and three timed runs";
  EXPECT_TRUE(std::isfinite(seconds) && seconds >= 0.0) << "got " << seconds << " seconds per run";
}

// ---------------------------------------------------------------------------------------------
// supports_dtype, low_precision_dtype, loss_in_precision

TEST_P(Gpu, SupportsDtypeTellsWhichDtypesCanTrainOnTheDevice) {
  EXPECT_TRUE(supports_dtype(device(), torch::kFloat32)) << "every device trains in float32";
  EXPECT_FALSE(supports_dtype(device(), torch::kInt64)) << "integer weights have no gradients";
  EXPECT_FALSE(supports_dtype(device(), torch::kBool)) << "bool weights have no gradients";
  for (const auto dtype : {torch::kBFloat16, torch::kFloat16}) {
    EXPECT_EQ(supports_dtype(device(), dtype), oracle_trains_in(device(), dtype))
        << "for " << workbook::test::dtype_name(dtype) << " on " << workbook::device_name(device())
        << ": try a forward and backward pass and catch c10::Error";
  }
  if (device().is_cpu()) {
    EXPECT_TRUE(supports_dtype(device(), torch::kBFloat16)) << "the CPU trains in bfloat16 (LibTorch 1.13 and 2.x)";
  }
}

TEST_P(Gpu, LowPrecisionDtypePrefersBfloat16ThenFloat16) {
  EXPECT_EQ(low_precision_dtype(device()), oracle_low_precision(device()))
      << "bfloat16 when the device trains in it, else float16, else float32";
  if (device().is_cpu()) {
    EXPECT_EQ(low_precision_dtype(device()), torch::kBFloat16) << "on the CPU the answer is bfloat16";
  }
}

TEST_P(Gpu, LossInPrecisionInFloat32IsTheCrossEntropy) {
  Mlp model = make_mlp(1);
  model->to(device());
  const auto x = torch::randn({6, 1, 28, 28}, options());
  const auto y = torch::tensor({0, 1, 2, 3, 9, 9}, options(torch::kInt64));
  ASSERT_RUNS(loss, loss_in_precision(model, x, y, torch::kFloat32), "run the model on the images, then the loss");
  EXPECT_TENSOR_CLOSE(loss, F::cross_entropy(model->forward(x), y), 1e-5, 1e-6)
      << "the mean cross-entropy of the logits and the labels";
}

TEST_P(Gpu, LossInPrecisionRunsTheModelIn16BitsAndTheLossInFloat32) {
  const torch::Dtype low = oracle_low_precision(device());
  if (low == torch::kFloat32) {
    GTEST_SKIP() << workbook::device_name(device()) << " trains in neither bfloat16 nor float16";
  }
  Mlp reference = make_mlp(2);
  reference->to(device());
  Mlp model = make_mlp(2);
  model->to(device(), low);
  const auto x = torch::randn({8, 1, 28, 28}, options());
  const auto y = torch::tensor({0, 1, 2, 3, 4, 5, 6, 7}, options(torch::kInt64));
  ASSERT_RUNS(loss, loss_in_precision(model, x, y, low),
              "the model's weights are 16-bit now: convert the images to dtype before the forward pass");
  EXPECT_DTYPE(loss, torch::kFloat32) << "convert the logits to float32 before taking the loss";
  EXPECT_SHAPE(loss, {});
  ASSERT_TRUE(loss.grad_fn() != nullptr) << "the loss must be connected to the model's parameters";
  EXPECT_NE(loss.grad_fn()->name(), "ToCopyBackward0")
      << "the loss was computed in 16 bits and converted afterwards: convert the logits to float32 "
         "first, then take the cross-entropy";
  // bfloat16 keeps about 3 significant digits: a loss near 2.3 may be off by a hundredth.
  EXPECT_TENSOR_CLOSE(loss, F::cross_entropy(reference->forward(x), y).detach(), 3e-2, 1e-3)
      << "the 16-bit loss should be close to the float32 loss of the same weights";
  loss.backward();
  ASSERT_TRUE(model->fc1->weight.grad().defined()) << "backward() must reach the model's parameters";
  EXPECT_DTYPE(model->fc1->weight.grad(), low);
}

// ---------------------------------------------------------------------------------------------
// train_step and train_on

TEST_P(Gpu, TrainStepTakesOneStepAndReturnsTheLossBeforeIt) {
  Mlp model = make_mlp(3);
  model->to(device());
  Mlp reference = make_mlp(3);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  torch::optim::SGD reference_optimizer(reference->parameters(), torch::optim::SGDOptions(0.1));
  const auto x = torch::randn({8, 1, 28, 28});  // on the CPU, as a data loader delivers it
  const auto y = torch::tensor({9, 8, 7, 6, 5, 4, 3, 2}, torch::kInt64);

  reference_optimizer.zero_grad();
  const auto expected = F::cross_entropy(reference->forward(x), y);
  expected.backward();
  reference_optimizer.step();

  ASSERT_RUNS(loss, train_step(model, optimizer, x, y, options_for(device())),
              "move the batch to options.device with move_batch first");
  EXPECT_DEVICE(loss, device()) << "return the loss where it was computed: reading it is the caller's choice";
  EXPECT_FALSE(loss.requires_grad()) << "return loss.detach(): the caller only wants the number";
  EXPECT_TENSOR_CLOSE(loss.cpu(), expected.detach(), 1e-4, 1e-5) << "the loss of the batch before the update";
  const auto params = model->named_parameters();
  for (const auto& item : reference->named_parameters()) {
    EXPECT_DEVICE(params[item.key()], device()) << item.key() << " must stay on the device";
    EXPECT_TENSOR_CLOSE(params[item.key()].detach().cpu(), item.value().detach(), 1e-4, 1e-6)
        << item.key() << " after one SGD step: zero_grad, loss, backward, step";
  }
}

TEST_P(Gpu, TrainOnMatchesAReferenceLoopOverWrappingBatches) {
  Mlp model = make_mlp(4);
  model->to(device());
  model->eval();
  Mlp reference = make_mlp(4);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.05));
  torch::optim::SGD reference_optimizer(reference->parameters(), torch::optim::SGDOptions(0.05));
  const auto images = torch::randn({12, 1, 28, 28});
  const auto labels = torch::randint(0, kDigits, {12}, torch::TensorOptions().dtype(torch::kInt64));

  // Batches of 5 from 12 samples: rows 0-4, 5-9, 10-11 (cut at the end), then 3-7 (15 % 12 = 3).
  double expected_sum = 0.0;
  for (const int64_t start : {0, 5, 10, 3}) {
    const int64_t end = std::min<int64_t>(start + 5, 12);
    reference_optimizer.zero_grad();
    const auto loss = F::cross_entropy(reference->forward(images.slice(0, start, end)), labels.slice(0, start, end));
    loss.backward();
    reference_optimizer.step();
    expected_sum += loss.item<double>();
  }

  const double mean = train_on(model, optimizer, images, labels, options_for(device(), /*batch_size=*/5, /*steps=*/4));
  EXPECT_NEAR(mean, expected_sum / 4, 1e-4)
      << "the mean of the 4 step losses; step s starts at row (s * batch_size) % N and stops at N at the latest";
  EXPECT_TRUE(model->is_training()) << "call model->train() before training";
  const auto params = model->named_parameters();
  for (const auto& item : reference->named_parameters()) {
    EXPECT_DEVICE(params[item.key()], device()) << item.key() << " must stay on the device";
    EXPECT_TENSOR_CLOSE(params[item.key()].detach().cpu(), item.value().detach(), 1e-3, 1e-5)
        << item.key() << " after 4 steps on the batches described in gpu.h";
  }
}

TEST(TrainOn, RejectsNonPositiveSettingsAndAnEmptyDataSet) {
  Mlp model = make_mlp(5);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));
  const auto images = torch::randn({4, 1, 28, 28});
  const auto labels = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  EXPECT_THROW(train_on(model, optimizer, images, labels, options_for(torch::kCPU, /*batch_size=*/0, 1)),
               std::invalid_argument)
      << "batch_size 0";
  EXPECT_THROW(train_on(model, optimizer, images, labels, options_for(torch::kCPU, 2, /*steps=*/0)),
               std::invalid_argument)
      << "steps 0";
  EXPECT_THROW(train_on(model, optimizer, images.slice(0, 0, 0), labels.slice(0, 0, 0), options_for(torch::kCPU, 2, 1)),
               std::invalid_argument)
      << "no samples at all";
}

TEST_P(Gpu, TrainOnNonBlockingGivesIdenticalResults) {
  const auto images = torch::randn({16, 1, 28, 28});
  const auto labels = torch::randint(0, kDigits, {16}, torch::TensorOptions().dtype(torch::kInt64));
  Mlp plain = make_mlp(6);
  plain->to(device());
  Mlp pinned = make_mlp(6);
  pinned->to(device());
  torch::optim::SGD plain_optimizer(plain->parameters(), torch::optim::SGDOptions(0.05));
  torch::optim::SGD pinned_optimizer(pinned->parameters(), torch::optim::SGDOptions(0.05));
  const double plain_loss =
      train_on(plain, plain_optimizer, images, labels, options_for(device(), 4, 6, torch::kFloat32, false));
  ASSERT_RUNS(pinned_loss,
              train_on(pinned, pinned_optimizer, images, labels, options_for(device(), 4, 6, torch::kFloat32, true)),
              kPinHint);
  EXPECT_EQ(pinned_loss, plain_loss) << "pinned memory and non-blocking copies change the speed, never the numbers";
  const auto params = pinned->named_parameters();
  for (const auto& item : plain->named_parameters()) {
    EXPECT_TENSOR_EQ(params[item.key()], item.value()) << item.key();
  }
}

TEST_P(Gpu, TrainOnInLowPrecisionStaysCloseToFloat32) {
  const torch::Dtype low = oracle_low_precision(device());
  if (low == torch::kFloat32) {
    GTEST_SKIP() << workbook::device_name(device()) << " trains in neither bfloat16 nor float16";
  }
  const auto images = torch::randn({12, 1, 28, 28});
  const auto labels = torch::randint(0, kDigits, {12}, torch::TensorOptions().dtype(torch::kInt64));
  Mlp full = make_mlp(7);
  full->to(device());
  Mlp half = make_mlp(7);
  half->to(device(), low);
  torch::optim::SGD full_optimizer(full->parameters(), torch::optim::SGDOptions(0.05));
  torch::optim::SGD half_optimizer(half->parameters(), torch::optim::SGDOptions(0.05));
  const double full_loss = train_on(full, full_optimizer, images, labels, options_for(device(), 4, 3));
  ASSERT_RUNS(half_loss, train_on(half, half_optimizer, images, labels, options_for(device(), 4, 3, low)),
              "pass options.dtype on to loss_in_precision");
  EXPECT_NEAR(half_loss, full_loss, 0.05 * full_loss)
      << "training in " << workbook::test::dtype_name(low) << " should stay within 5% of float32 for a few steps";
  for (const auto& p : half->parameters()) EXPECT_DTYPE(p, low) << "the parameters keep their 16-bit dtype";
}

// ---------------------------------------------------------------------------------------------
// throughput, batch_size_sweep

TEST_P(Gpu, ThroughputIsAPositiveNumberOfSamplesPerSecond) {
  const double rate = throughput(device(), /*batch_size=*/8, /*steps=*/2, torch::kFloat32, kSmall);
  EXPECT_TRUE(std::isfinite(rate) && rate > 0.0) << "got " << rate << " samples per second";
  const torch::Dtype low = oracle_low_precision(device());
  ASSERT_RUNS(low_rate, throughput(device(), 4, 1, low, kSmall),
              "convert the model to dtype as well as moving it: model->to(device, dtype)");
  EXPECT_TRUE(std::isfinite(low_rate) && low_rate > 0.0) << "got " << low_rate << " samples per second in "
                                                         << workbook::test::dtype_name(low);
  EXPECT_THROW(throughput(device(), 0, 1, torch::kFloat32, kSmall), std::invalid_argument) << "batch_size 0";
  EXPECT_THROW(throughput(device(), 4, 0, torch::kFloat32, kSmall), std::invalid_argument) << "steps 0";
}

TEST_P(Gpu, BatchSizeSweepMeasuresEveryDeviceAtEveryBatchSize) {
  std::vector<torch::Device> devices{torch::kCPU};
  if (!device().is_cpu()) devices.push_back(device());
  const std::vector<int64_t> sizes{3, 1, 2};
  const auto table = batch_size_sweep(devices, sizes, /*steps=*/1, torch::kFloat32, kSmall);
  ASSERT_EQ(table.size(), devices.size() * sizes.size()) << "one row per device and batch size";
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].device, devices[i / sizes.size()]) << "row " << i << ": all sizes of one device, then the next";
    EXPECT_EQ(table[i].batch_size, sizes[i % sizes.size()]) << "row " << i << ": batch sizes in the order given";
    EXPECT_TRUE(std::isfinite(table[i].samples_per_second) && table[i].samples_per_second > 0.0)
        << "row " << i << ": " << table[i].samples_per_second << " samples per second";
  }
}

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Gpu);

// ---------------------------------------------------------------------------------------------
// crossover_batch_size, on made-up tables: pure logic, no timing

const torch::Device kCpu(torch::kCPU);
const torch::Device kCuda(torch::kCUDA, 0);  // a Device value needs no GPU
const torch::Device kMps(torch::kMPS);

TEST(CrossoverBatchSize, IsTheSizeFromWhichTheAcceleratorStaysAhead) {
  // Rows in no particular order; the MPS rows belong to another device and must be ignored.
  const std::vector<Measurement> table{
      {kCuda, 64, 30000}, {kCpu, 1, 1000},    {kCuda, 1, 200},    {kMps, 1, 99999},   {kCpu, 256, 9500},
      {kCuda, 4, 900},    {kCpu, 16, 8000},   {kCuda, 256, 1e5},  {kCpu, 4, 3000},    {kCuda, 16, 9000},
      {kCpu, 64, 9000},   {kMps, 4, 99999}};
  EXPECT_EQ(crossover_batch_size(table, kCuda), std::optional<int64_t>(16))
      << "CUDA is slower at 1 and 4 and faster at 16, 64 and 256";
  EXPECT_EQ(crossover_batch_size({{kCpu, 8, 10}, {kCuda, 8, 20}, {kCpu, 2, 10}, {kCuda, 2, 11}}, kCuda),
            std::optional<int64_t>(2))
      << "ahead at every size: the smallest size";
}

TEST(CrossoverBatchSize, IgnoresALeadThatIsLostAgainAndSizesNotMeasuredOnBoth) {
  const std::vector<Measurement> table{{kCpu, 1, 100},  {kCuda, 1, 150},  {kCpu, 4, 400},  {kCuda, 4, 300},
                                       {kCpu, 16, 900}, {kCuda, 16, 2000}, {kCpu, 64, 950}, {kCuda, 64, 8000},
                                       {kCuda, 512, 1}, {kCpu, 2048, 1e6}};
  EXPECT_EQ(crossover_batch_size(table, kCuda), std::optional<int64_t>(16))
      << "the lead at batch size 1 is lost at 4; from 16 on it holds. 512 (CUDA only) and 2048 "
         "(CPU only) were not measured on both and do not count";
}

TEST(CrossoverBatchSize, IsNoneWhenTheCpuKeepsUpOrNothingCanBeCompared) {
  EXPECT_EQ(crossover_batch_size({{kCpu, 4, 500}, {kMps, 4, 100}, {kCpu, 16, 900}, {kMps, 16, 900}}, kMps),
            std::nullopt)
      << "a tie at the largest size is not overtaking";
  EXPECT_EQ(crossover_batch_size({{kCpu, 4, 500}, {kCuda, 4, 800}, {kCpu, 16, 900}, {kCuda, 16, 850}}, kCuda),
            std::nullopt)
      << "ahead at 4 but behind at the largest size, 16";
  EXPECT_EQ(crossover_batch_size({}, kCuda), std::nullopt) << "an empty table";
  EXPECT_EQ(crossover_batch_size({{kCpu, 4, 1}, {kCuda, 8, 100}}, kCuda), std::nullopt) << "no size measured on both";
  EXPECT_EQ(crossover_batch_size({{kCpu, 4, 1}, {kCuda, 4, 100}}, kMps), std::nullopt)
      << "the accelerator asked about (mps) was not measured";
}

}  // namespace
