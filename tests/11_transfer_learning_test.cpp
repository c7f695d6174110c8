// Tests of exercise 11: checkpoints (round trips through LibTorch's own torch::save/torch::load
// and archives, bad files), resuming training (one step after loading equals the uninterrupted
// step), freezing, a new head, parameter groups, learning-rate schedules (against
// torch::optim::StepLR and closed forms), early stopping on given loss sequences and the
// stratified split. Tiny networks and batches; checkpoints in temporary files, removed after.
#include "workbook_test.h"
#include "transfer.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

// A checkpoint path in the temporary folder, removed when the test ends.
class TempFile {
 public:
  TempFile() {
    std::random_device random;
    path_ = (fs::temp_directory_path() / ("workbook_11_" + std::to_string(random()) + ".pt")).string();
  }
  ~TempFile() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class TransferLearning : public workbook::test::DeviceTest {
 protected:
  // A net on this test's device, initialised from `seed`, with dropout off (so that steps are
  // reproducible) and BatchNorm statistics that are not the defaults (so that forgetting buffers shows).
  TransferNet make_net(uint64_t seed, int64_t classes = kClasses) const {
    torch::manual_seed(seed);
    TransferNet net(classes);
    net->dropout->options.p(0.0);
    torch::NoGradGuard no_grad;
    for (auto* bn : {net->bn1.get(), net->bn2.get()}) {
      bn->running_mean.copy_(torch::randn_like(bn->running_mean) * 0.5);
      bn->running_var.copy_(torch::rand_like(bn->running_var) + 0.5);
      bn->num_batches_tracked.fill_(static_cast<int64_t>(seed) + 3);
    }
    net->to(device());
    return net;
  }
  torch::Tensor images(int64_t n = 6) const { return torch::randn({n, 1, 28, 28}, options()); }
  torch::Tensor labels(int64_t n = 6, int64_t classes = kClasses) const {
    return torch::randint(classes, {n}, options(torch::kInt64));
  }
};

// Every parameter and buffer of `actual` equals the one of the same name in `expected`.
void expect_same_state(torch::nn::Module& actual, torch::nn::Module& expected, const std::string& hint) {
  const auto expected_parameters = expected.named_parameters();
  for (const auto& item : actual.named_parameters()) {
    SCOPED_TRACE("parameter " + item.key());
    EXPECT_TENSOR_EQ(item.value(), expected_parameters[item.key()]) << hint;
  }
  const auto expected_buffers = expected.named_buffers();
  for (const auto& item : actual.named_buffers()) {
    SCOPED_TRACE("buffer " + item.key());
    EXPECT_TENSOR_EQ(item.value(), expected_buffers[item.key()]) << hint;
  }
}

// Copies of every parameter and buffer, by name.
std::vector<std::pair<std::string, torch::Tensor>> snapshot(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> all;
  for (const auto& item : module.named_parameters()) all.emplace_back(item.key(), item.value().detach().clone());
  for (const auto& item : module.named_buffers()) all.emplace_back(item.key(), item.value().clone());
  return all;
}

// The oracle's training step: exercise 10's, with every layer in training mode.
void reference_step(TransferNet& net, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                    const torch::Tensor& y) {
  net->train();
  optimizer.zero_grad();
  F::cross_entropy(net->forward(x), y).backward();
  optimizer.step();
}

// The identity of each tensor, to compare sets of parameters.
std::set<const void*> identities(const std::vector<torch::Tensor>& tensors) {
  std::set<const void*> ids;
  for (const auto& t : tensors) ids.insert(t.unsafeGetTensorImpl());
  return ids;
}

std::vector<torch::Tensor> parameters_of(const std::vector<std::shared_ptr<torch::nn::Module>>& layers) {
  std::vector<torch::Tensor> all;
  for (const auto& layer : layers) {
    for (const auto& p : layer->parameters()) all.push_back(p);
  }
  return all;
}

// Expects `statement` to throw CheckpointError whose message contains every one of `needles`.
#define EXPECT_CHECKPOINT_ERROR(statement, ...)                                                          \
  do {                                                                                                  \
    try {                                                                                               \
      statement;                                                                                        \
      ADD_FAILURE() << #statement << " did not throw: a bad checkpoint must raise CheckpointError";   \
    } catch (const CheckpointError& error) {                                                           \
      for (const std::string& needle : std::vector<std::string>{__VA_ARGS__}) {                        \
        EXPECT_NE(std::string(error.what()).find(needle), std::string::npos)                           \
            << "the message should mention \"" << needle << "\"; it is: " << error.what();             \
      }                                                                                                 \
    } catch (const std::exception& error) {                                                            \
      ADD_FAILURE() << #statement << " threw something other than CheckpointError: " << error.what();  \
    }                                                                                                   \
  } while (false)

// ---------------------------------------------------------------------------------------------
// Checkpoints

TEST_P(TransferLearning, SaveModelWritesWhatTorchLoadReads) {
  TempFile file;
  auto saved = make_net(1);
  save_model(saved, file.path());
  auto loaded = make_net(2);
  torch::load(loaded, file.path());
  expect_same_state(*loaded, *saved, "save_model should write every parameter and buffer (torch::save(net, path))");
}

TEST_P(TransferLearning, SaveModelNamesAMissingFolder) {
  auto net = make_net(1);
  const auto folder = fs::temp_directory_path() / "workbook_11_no_such_folder";
  EXPECT_CHECKPOINT_ERROR(save_model(net, (folder / "net.pt").string()), folder.string(), "does not exist");
}

TEST_P(TransferLearning, LoadModelRestoresParametersAndBuffersIntoAFreshNet) {
  TempFile file;
  auto saved = make_net(1);
  torch::save(saved, file.path());
  auto loaded = make_net(2);
  load_model(loaded, file.path());
  expect_same_state(*loaded, *saved, "load_model should restore every parameter and buffer (running statistics too)");
  saved->eval();
  loaded->eval();
  torch::NoGradGuard no_grad;
  const auto x = images();
  EXPECT_TENSOR_EQ(loaded->forward(x), saved->forward(x)) << "the loaded net should compute what the saved one did";
}

TEST_P(TransferLearning, LoadModelNamesAMissingFile) {
  auto net = make_net(1);
  const std::string path = (fs::temp_directory_path() / "workbook_11_missing.pt").string();
  EXPECT_CHECKPOINT_ERROR(load_model(net, path), path, "not found");
}

TEST_P(TransferLearning, LoadModelRejectsACorruptFileAndChangesNothing) {
  TempFile garbage;
  std::ofstream(garbage.path(), std::ios::binary) << "this is not a checkpoint";
  TempFile truncated;
  {
    TempFile whole;
    torch::save(make_net(1), whole.path());
    std::ifstream in(whole.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated.path(), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  auto net = make_net(2);
  const auto before = snapshot(*net);
  EXPECT_CHECKPOINT_ERROR(load_model(net, garbage.path()), garbage.path());
  EXPECT_CHECKPOINT_ERROR(load_model(net, truncated.path()), truncated.path());
  for (const auto& [name, value] : before) {
    SCOPED_TRACE(name);
    EXPECT_TENSOR_EQ(net->named_parameters().contains(name) ? net->named_parameters()[name] : net->named_buffers()[name], value);
  }
}

TEST_P(TransferLearning, LoadModelRejectsADifferentArchitecture) {
  TempFile three_classes;
  torch::save(make_net(1, /*classes=*/3), three_classes.path());
  auto net = make_net(2);
  const auto fc2_before = net->fc2->weight.detach().clone();
  EXPECT_CHECKPOINT_ERROR(load_model(net, three_classes.path()), three_classes.path(), "fc2.weight", "[3, 64]", "[10, 64]");
  EXPECT_TENSOR_EQ(net->fc2->weight, fc2_before) << "a rejected checkpoint must leave the net unchanged";

  TempFile linear;
  torch::save(torch::nn::Linear(4, 2), linear.path());
  EXPECT_CHECKPOINT_ERROR(load_model(net, linear.path()), linear.path(), "conv1");
}

TEST_P(TransferLearning, ReadParametersCopiesIntoTheModulesOwnTensors) {
  TempFile file;
  auto saved = make_net(1);
  torch::save(saved, file.path());
  auto loaded = make_net(2);
  const auto weight = loaded->conv1->weight;
  const auto* storage = weight.data_ptr();
  torch::serialize::InputArchive archive;
  archive.load_from(file.path());
  read_parameters(*loaded, archive, file.path());
  expect_same_state(*loaded, *saved, "read_parameters should copy every parameter and buffer");
  EXPECT_EQ(loaded->conv1->weight.data_ptr(), storage)
      << "copy the values into the module's tensors (copy_) instead of replacing them: an optimiser "
         "built before loading holds the old ones";
  EXPECT_TRUE(loaded->conv1->weight.requires_grad()) << "loading must not switch gradients off";
}

TEST_P(TransferLearning, ReadParametersNamesTheTensorAndBothShapes) {
  TempFile file;
  torch::nn::Sequential small(torch::nn::Linear(3, 2), torch::nn::ReLU(), torch::nn::Linear(2, 5));
  torch::save(small, file.path());
  torch::nn::Sequential other(torch::nn::Linear(3, 2), torch::nn::ReLU(), torch::nn::Linear(2, 4));
  const auto before = other[0]->as<torch::nn::Linear>()->weight.detach().clone();
  torch::serialize::InputArchive archive;
  archive.load_from(file.path());
  EXPECT_CHECKPOINT_ERROR(read_parameters(*other, archive, "small.pt"), "small.pt", "2.weight", "[5, 2]", "[4, 2]");
  EXPECT_TENSOR_EQ(other[0]->as<torch::nn::Linear>()->weight, before)
      << "check every tensor before copying any: layer 0 fitted, but the module must stay unchanged";
}

TEST_P(TransferLearning, SaveTrainingStateWritesModelOptimizerAndEpoch) {
  TempFile file;
  const auto x = images();
  const auto y = labels();
  auto net = make_net(1);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-2));
  reference_step(net, adam, x, y);
  reference_step(net, adam, x, y);
  save_training_state(file.path(), net, adam, /*epoch=*/2);
  reference_step(net, adam, x, y);  // the uninterrupted third step

  // Read it back with LibTorch's own archive API.
  torch::serialize::InputArchive archive, model, state;
  archive.load_from(file.path());
  torch::Tensor epoch;
  ASSERT_TRUE(archive.try_read("model", model)) << "the archive should hold an archive \"model\" (net->save)";
  ASSERT_TRUE(archive.try_read("optimizer", state)) << "the archive should hold an archive \"optimizer\"";
  ASSERT_TRUE(archive.try_read("epoch", epoch)) << "the archive should hold a tensor \"epoch\"";
  EXPECT_EQ(epoch.item<int64_t>(), 2);
  auto resumed = make_net(2);
  resumed->load(model);
  torch::optim::Adam resumed_adam(resumed->parameters(), torch::optim::AdamOptions(1e-2));
  resumed_adam.load(state);
  reference_step(resumed, resumed_adam, x, y);
  expect_same_state(*resumed, *net, "the step after resuming should equal the uninterrupted step: save the optimiser too");
}

TEST_P(TransferLearning, LoadTrainingStateResumesAdamAndSgdExactly) {
  const auto x = images();
  const auto y = labels();
  using MakeOptimizer = std::function<std::unique_ptr<torch::optim::Optimizer>(TransferNet&)>;
  const std::vector<std::pair<std::string, MakeOptimizer>> kinds = {
      {"Adam", [](TransferNet& n) { return std::make_unique<torch::optim::Adam>(n->parameters(), torch::optim::AdamOptions(1e-2)); }},
      {"SGD with momentum",
       [](TransferNet& n) { return std::make_unique<torch::optim::SGD>(n->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9)); }},
  };
  for (const auto& [kind, make_optimizer] : kinds) {
    SCOPED_TRACE(kind);
    TempFile file;
    auto net = make_net(1);
    auto optimizer = make_optimizer(net);
    reference_step(net, *optimizer, x, y);
    reference_step(net, *optimizer, x, y);
    {
      torch::serialize::OutputArchive archive, model, state;
      net->save(model);
      optimizer->save(state);
      archive.write("model", model);
      archive.write("optimizer", state);
      archive.write("epoch", torch::tensor(int64_t{7}));
      archive.save_to(file.path());
    }
    reference_step(net, *optimizer, x, y);

    auto resumed = make_net(2);
    auto resumed_optimizer = make_optimizer(resumed);
    EXPECT_EQ(load_training_state(file.path(), resumed, *resumed_optimizer), 7) << "return the saved epoch";
    reference_step(resumed, *resumed_optimizer, x, y);
    expect_same_state(*resumed, *net, "one step after resuming should equal the uninterrupted one: restore the "
                                      "optimiser's state (optimizer.load) as well as the model");
  }
}

TEST_P(TransferLearning, LoadTrainingStateRejectsAModelOnlyOrMissingFile) {
  TempFile model_only;
  torch::save(make_net(1), model_only.path());
  auto net = make_net(2);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  EXPECT_CHECKPOINT_ERROR(load_training_state(model_only.path(), net, adam), model_only.path(), "optimizer");
  const std::string missing = (fs::temp_directory_path() / "workbook_11_missing_state.pt").string();
  EXPECT_CHECKPOINT_ERROR(load_training_state(missing, net, adam), missing, "not found");
}

// ---------------------------------------------------------------------------------------------
// Reusing the feature extractor

TEST_P(TransferLearning, SetExtractorTrainableFreezesAndUnfreezesOnlyTheExtractor) {
  auto net = make_net(1);
  set_extractor_trainable(net, false);
  for (const auto& p : parameters_of(net->extractor())) EXPECT_FALSE(p.requires_grad()) << "the extractor should be frozen";
  for (const auto& p : parameters_of(net->head())) EXPECT_TRUE(p.requires_grad()) << "the head must stay trainable";
  set_extractor_trainable(net, true);
  for (const auto& p : net->parameters()) EXPECT_TRUE(p.requires_grad()) << "trainable = true should unfreeze";
}

TEST_P(TransferLearning, ReplaceHeadGivesANewOutputSizeAndKeepsTheExtractor) {
  auto net = make_net(1);
  const auto extractor_before = net->conv2->weight.detach().clone();
  const auto fc1_before = net->fc1->weight.detach().clone();
  replace_head(net, 3);
  const auto parameters = net->named_parameters();
  ASSERT_TRUE(parameters.contains("fc2.weight")) << "register the new layer under the old name (replace_module)";
  EXPECT_SHAPE(parameters["fc2.weight"], {3, kHidden});
  EXPECT_SHAPE(parameters["fc1.weight"], {kHidden, kChannels2 * 7 * 7});
  EXPECT_EQ(net->fc2->weight.unsafeGetTensorImpl(), parameters["fc2.weight"].unsafeGetTensorImpl())
      << "net->fc2 should be the registered layer: assign what replace_module returns";
  EXPECT_DEVICE(parameters["fc2.weight"], device());
  EXPECT_DEVICE(parameters["fc1.weight"], device());
  EXPECT_FALSE(net->fc1->weight.detach().equal(fc1_before)) << "fc1 should be new too: the whole head is replaced";
  EXPECT_TENSOR_EQ(net->conv2->weight, extractor_before) << "the extractor must be untouched";
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_SHAPE(net->forward(images(4)), {4, 3});
  EXPECT_THROW(replace_head(net, 0), std::invalid_argument);
}

// The rates below avoid 1e-3, AdamOptions' default: LibTorch 2.x (not 1.13) replaces a group's
// option that equals its constructor default by the optimiser's default when it builds the groups.
TEST_P(TransferLearning, ParameterGroupsGiveTheHeadAndTheExtractorTheirOwnRates) {
  auto net = make_net(1);
  const auto groups = parameter_groups(net, 3e-3, 3e-4);
  ASSERT_EQ(groups.size(), 2u) << "a trainable extractor gets its own group after the head's";
  EXPECT_EQ(identities(groups[0].params()), identities(parameters_of(net->head()))) << "group 0: the head's parameters";
  EXPECT_EQ(identities(groups[1].params()), identities(parameters_of(net->extractor()))) << "group 1: the extractor's";
  torch::optim::Adam adam(groups, torch::optim::AdamOptions(0.5));
  ASSERT_EQ(adam.param_groups().size(), 2u);
  EXPECT_DOUBLE_EQ(adam.param_groups()[0].options().get_lr(), 3e-3) << "the head's group has head_lr";
  EXPECT_DOUBLE_EQ(adam.param_groups()[1].options().get_lr(), 3e-4) << "the extractor's group has extractor_lr";
}

TEST_P(TransferLearning, ParameterGroupsLeaveAFrozenExtractorOut) {
  auto net = make_net(1);
  for (const auto& p : parameters_of(net->extractor())) p.requires_grad_(false);
  const auto groups = parameter_groups(net, 3e-3, 3e-4);
  ASSERT_EQ(groups.size(), 1u) << "a frozen extractor gets no group: the optimiser should hold the head only";
  EXPECT_EQ(identities(groups[0].params()), identities(parameters_of(net->head())));
  EXPECT_DOUBLE_EQ(groups[0].options().get_lr(), 3e-3);
}

TEST_P(TransferLearning, TrainStepWithAFrozenExtractorChangesOnlyTheHead) {
  auto net = make_net(1);
  for (const auto& p : parameters_of(net->extractor())) p.requires_grad_(false);
  torch::optim::SGD sgd(parameters_of(net->head()), torch::optim::SGDOptions(0.1));
  const auto x = images();
  const auto y = labels();
  torch::Tensor expected;
  {
    // The frozen batch norms use their running statistics, as in evaluation mode (dropout is off).
    net->eval();
    torch::NoGradGuard no_grad;
    expected = F::cross_entropy(net->forward(x), y);
  }
  const auto extractor_before = snapshot(*net->conv1);
  const auto bn_before = snapshot(*net->bn2);
  const auto head_before = net->fc2->weight.detach().clone();
  const double loss = train_step(net, sgd, x, y);
  EXPECT_NEAR(loss, expected.item<double>(), 1e-5)
      << "frozen BatchNorm layers should normalise with their running statistics: eval() them after net->train()";
  for (const auto& [name, value] : extractor_before) EXPECT_TENSOR_EQ(net->conv1->named_parameters()[name], value);
  for (const auto& [name, value] : bn_before) {
    SCOPED_TRACE("bn2." + name);
    const auto buffers = net->bn2->named_buffers();
    EXPECT_TENSOR_EQ(buffers.contains(name) ? buffers[name] : net->bn2->named_parameters()[name], value)
        << "a frozen extractor's running statistics must not drift to the new data";
  }
  EXPECT_FALSE(net->fc2->weight.detach().equal(head_before)) << "the head should have taken a step";
  EXPECT_TRUE(net->is_training()) << "leave the net itself in training mode";
}

TEST_P(TransferLearning, TrainStepWithATrainableExtractorUsesBatchStatistics) {
  auto net = make_net(1);
  auto copy = make_net(1);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  const auto x = images();
  const auto y = labels();
  torch::Tensor expected;
  {
    copy->train();
    torch::NoGradGuard no_grad;
    expected = F::cross_entropy(copy->forward(x), y);
  }
  const auto running_before = net->bn1->running_mean.clone();
  const auto conv_before = net->conv1->weight.detach().clone();
  const double loss = train_step(net, sgd, x, y);
  EXPECT_NEAR(loss, expected.item<double>(), 1e-5) << "a trainable extractor trains like exercise 10's net";
  EXPECT_FALSE(net->bn1->running_mean.equal(running_before)) << "in training mode BatchNorm updates its statistics";
  EXPECT_FALSE(net->conv1->weight.detach().equal(conv_before)) << "the extractor should have taken a step";
}

// ---------------------------------------------------------------------------------------------
// Schedules and early stopping

TEST_P(TransferLearning, StepLrMatchesTorchStepLR) {
  for (const auto& [step_size, gamma] : std::vector<std::pair<int64_t, double>>{{1, 0.5}, {3, 0.1}, {4, 0.7}}) {
    auto w = torch::zeros({1}, torch::requires_grad());
    torch::optim::SGD sgd({w}, torch::optim::SGDOptions(0.2));
    torch::optim::StepLR scheduler(sgd, static_cast<unsigned>(step_size), gamma);
    for (int64_t epoch = 0; epoch <= 12; ++epoch) {
      // LibTorch's StepLR (1.13 and 2.x) takes no step at construction, unlike Python's: the
      // learning rate for epoch e is the one after e + 1 calls of step().
      scheduler.step();
      EXPECT_NEAR(step_lr(0.2, epoch, step_size, gamma), sgd.param_groups()[0].options().get_lr(), 1e-12)
          << "epoch " << epoch << ", step_size " << step_size << ", gamma " << gamma;
    }
  }
  EXPECT_THROW(step_lr(0.1, 1, 0, 0.5), std::invalid_argument);
  EXPECT_THROW(step_lr(0.1, -1, 2, 0.5), std::invalid_argument);
}

TEST_P(TransferLearning, CosineLrFollowsHalfACosine) {
  // Hand-computed: 0.001 + 0.099 * (1 + cos(pi * e / 10)) / 2.
  EXPECT_NEAR(cosine_lr(0.1, 0.001, 0, 10), 0.1, 1e-12);
  EXPECT_NEAR(cosine_lr(0.1, 0.001, 2, 10), 0.0905463, 1e-7);  // cos(pi/5) = 0.809017
  EXPECT_NEAR(cosine_lr(0.1, 0.001, 5, 10), 0.0505, 1e-12);     // halfway: the mean
  EXPECT_NEAR(cosine_lr(0.1, 0.001, 8, 10), 0.0104537, 1e-7);  // symmetric to epoch 2
  EXPECT_NEAR(cosine_lr(0.1, 0.001, 10, 10), 0.001, 1e-12);
  EXPECT_NEAR(cosine_lr(0.1, 0.001, 15, 10), 0.001, 1e-12) << "after total_epochs the rate stays at min_lr";
  EXPECT_THROW(cosine_lr(0.1, 0.0, 0, 0), std::invalid_argument);
  EXPECT_THROW(cosine_lr(0.1, 0.0, -1, 5), std::invalid_argument);
}

TEST_P(TransferLearning, ScaleLearningRatesKeepsTheRatioOfTheGroups) {
  auto a = torch::zeros({2}, torch::requires_grad());
  auto b = torch::zeros({3}, torch::requires_grad());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  // Not 1e-3, AdamOptions' default (see ParameterGroupsGiveTheHeadAndTheExtractorTheirOwnRates).
  groups.emplace_back(std::vector<torch::Tensor>{a}, std::make_unique<torch::optim::AdamOptions>(4e-3));
  groups.emplace_back(std::vector<torch::Tensor>{b}, std::make_unique<torch::optim::AdamOptions>(4e-4));
  torch::optim::Adam adam(groups, torch::optim::AdamOptions(4e-3));
  scale_learning_rates(adam, 0.5);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options()).lr(), 2e-3);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::AdamOptions&>(adam.param_groups()[1].options()).lr(), 2e-4);
  torch::optim::SGD sgd({a}, torch::optim::SGDOptions(0.3));
  scale_learning_rates(sgd, 0.1);
  EXPECT_DOUBLE_EQ(static_cast<torch::optim::SGDOptions&>(sgd.param_groups()[0].options()).lr(), 0.03)
      << "any optimiser: use OptimizerOptions::get_lr/set_lr";
  EXPECT_THROW(scale_learning_rates(sgd, -1.0), std::invalid_argument);
}

TEST_P(TransferLearning, UpdateStopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping stopping(/*patience=*/3);
  const std::vector<double> losses = {1.0, 0.8, 0.9, 0.85, 0.95, 0.7};
  const std::vector<bool> expected = {false, false, false, false, true};
  for (size_t epoch = 0; epoch < expected.size(); ++epoch) {
    EXPECT_EQ(stopping.update(losses[epoch]), expected[epoch])
        << "epoch " << epoch << ": stop after 3 epochs in a row without a new best (the best was 0.8, at epoch 1)";
  }
  EXPECT_DOUBLE_EQ(stopping.best_loss(), 0.8);
  EXPECT_EQ(stopping.best_epoch(), 1);
  EXPECT_EQ(stopping.bad_epochs(), 3);
  EXPECT_EQ(stopping.epochs(), 5);
  EXPECT_FALSE(stopping.update(losses[5])) << "a new best resets the count";
  EXPECT_EQ(stopping.best_epoch(), 5);
}

TEST_P(TransferLearning, UpdateHonoursMinDeltaAndIgnoresNaN) {
  EarlyStopping stopping(/*patience=*/2, /*min_delta=*/0.05);
  EXPECT_FALSE(stopping.update(1.0));
  EXPECT_FALSE(stopping.update(0.97)) << "0.97 is not 0.05 below 1.0: no improvement (1 bad epoch)";
  EXPECT_FALSE(stopping.update(0.90)) << "0.90 is 0.1 below 1.0: an improvement";
  EXPECT_EQ(stopping.best_epoch(), 2);
  EXPECT_FALSE(stopping.update(std::numeric_limits<double>::quiet_NaN())) << "NaN: a bad epoch";
  EXPECT_TRUE(stopping.update(std::numeric_limits<double>::quiet_NaN())) << "two bad epochs in a row: stop";
  EXPECT_DOUBLE_EQ(stopping.best_loss(), 0.90);
}

TEST_P(TransferLearning, EarlyStoppingRejectsBadSettings) {
  EXPECT_THROW(EarlyStopping(0), std::invalid_argument);
  EXPECT_THROW(EarlyStopping(2, -0.1), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// A small labelled subset

// Labels with class c present 20 + c times, shuffled, on this test's device.
torch::Tensor uneven_labels(const torch::Device& device) {
  std::vector<torch::Tensor> parts;
  for (int64_t c = 0; c < 5; ++c) parts.push_back(torch::full({20 + c}, c, torch::kInt64));
  const auto all = torch::cat(parts);
  return all.index_select(0, torch::randperm(all.size(0))).to(device);
}

TEST_P(TransferLearning, StratifiedSplitDrawsTheRequestedCountPerClassDisjointly) {
  const auto y = uneven_labels(device());
  const auto split = stratified_split(y, 5, /*train_per_class=*/6, /*validation_per_class=*/4, /*seed=*/3);
  EXPECT_DTYPE(split.train, torch::kInt64);
  EXPECT_DEVICE(split.train, torch::Device(torch::kCPU));
  EXPECT_SHAPE(split.train, {30});
  EXPECT_SHAPE(split.validation, {20});
  const auto cpu = y.cpu();
  EXPECT_TENSOR_EQ(torch::bincount(cpu.index_select(0, split.train), {}, 5), torch::full({5}, 6, torch::kInt64));
  EXPECT_TENSOR_EQ(torch::bincount(cpu.index_select(0, split.validation), {}, 5), torch::full({5}, 4, torch::kInt64));
  EXPECT_TENSOR_EQ(std::get<0>(split.train.sort()), split.train) << "return the indices sorted ascending";
  const auto both = torch::cat({split.train, split.validation});
  EXPECT_EQ(std::get<0>(torch::_unique(both)).size(0), both.size(0)) << "no index may be in both sets, or twice";
}

TEST_P(TransferLearning, StratifiedSplitIsReproducibleAndSeedDependent) {
  const auto y = uneven_labels(device());
  torch::manual_seed(11);
  const auto expected_next = torch::rand({3});
  torch::manual_seed(11);
  const auto a = stratified_split(y, 5, 6, 4, 42);
  EXPECT_TENSOR_EQ(torch::rand({3}), expected_next) << "use a generator of your own: leave the global one alone";
  const auto b = stratified_split(y, 5, 6, 4, 42);
  EXPECT_TENSOR_EQ(a.train, b.train) << "the same seed must give the same split";
  EXPECT_TENSOR_EQ(a.validation, b.validation);
  const auto c = stratified_split(y, 5, 6, 4, 43);
  EXPECT_FALSE(c.train.equal(a.train)) << "another seed should draw another subset";
}

TEST_P(TransferLearning, StratifiedSplitNamesAClassWithTooFewSamples) {
  const auto y = uneven_labels(device());  // class 0 has 20 samples
  try {
    stratified_split(y, 5, 15, 6, 0);
    ADD_FAILURE() << "21 samples of class 0 were asked for, it has 20: throw std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("class 0"), std::string::npos) << error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "expected std::invalid_argument, got: " << error.what();
  }
  EXPECT_THROW(stratified_split(y, 5, -1, 2, 0), std::invalid_argument);
}

}  // namespace

WORKBOOK_INSTANTIATE_DEVICE_TESTS(TransferLearning);
