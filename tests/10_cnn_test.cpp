// Tests of exercise 10: the window arithmetic, the network, initialisation, what train() and eval()
// change, one training step, prediction and the confusion matrix. All on tiny synthetic inputs;
// the oracles are LibTorch's own layers and functional ops (conv, pooling, batch_norm,
// cross_entropy, autograd), closed forms and hand-counted constants.
#include "workbook_test.h"
#include "cnn.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace F = torch::nn::functional;

// The oracle of the two convolution blocks, from the net's own parameters and buffers, in
// evaluation mode (BatchNorm with its running statistics).
torch::Tensor reference_features(Cnn& net, const torch::Tensor& x) {
  const auto block = [](const torch::Tensor& in, torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& bn) {
    auto h = F::conv2d(in, conv->weight, F::Conv2dFuncOptions().bias(conv->bias).padding(1));
    h = F::batch_norm(h, bn->running_mean, bn->running_var,
                      F::BatchNormFuncOptions().weight(bn->weight).bias(bn->bias).training(false));
    return F::max_pool2d(torch::relu(h), F::MaxPool2dFuncOptions(2));
  };
  return block(block(x, net->conv1, net->bn1), net->conv2, net->bn2);
}

// The oracle of the whole network in evaluation mode (dropout is the identity there).
torch::Tensor reference_logits(Cnn& net, const torch::Tensor& x) {
  auto h = reference_features(net, x).reshape({x.size(0), -1});
  h = torch::relu(F::linear(h, net->fc1->weight, net->fc1->bias));
  return F::linear(h, net->fc2->weight, net->fc2->bias);
}

// Gives every BatchNorm2d of `net` non-trivial running statistics and affine parameters, so that
// using the wrong statistics, or none, shows.
void randomise_batch_norms(Cnn& net) {
  torch::NoGradGuard no_grad;
  for (auto* bn : {net->bn1.get(), net->bn2.get()}) {
    bn->running_mean.copy_(torch::randn_like(bn->running_mean) * 0.5);
    bn->running_var.copy_(torch::rand_like(bn->running_var) + 0.5);
    bn->weight.copy_(torch::rand_like(bn->weight) + 0.5);
    bn->bias.copy_(torch::randn_like(bn->bias) * 0.1);
  }
}

// The width of the input window of a 1-D stack that reaches its middle output: the gradient of
// that output with respect to the input is non-zero exactly at the inputs it reads (all-ones kernels, average pooling:
// nothing cancels). Pooling layers are written as a kernel of ones divided by its size.
int64_t measured_receptive_field(const std::vector<Window>& layers) {
  auto x = torch::ones({1, 1, 200}, torch::requires_grad());
  torch::Tensor h = x;
  for (const Window& layer : layers) {
    const auto weight = torch::ones({1, 1, layer.kernel}) / static_cast<double>(layer.kernel);
    h = F::conv1d(h, weight, F::Conv1dFuncOptions().stride(layer.stride).dilation(layer.dilation));
  }
  h.select(2, h.size(2) / 2).sum().backward();
  // The span from the first to the last input reached (dilated windows skip positions in between).
  const auto reached = x.grad().view(-1).ne(0).nonzero().view(-1);
  return reached.max().item<int64_t>() - reached.min().item<int64_t>() + 1;
}

class ConvNet : public workbook::test::DeviceTest {};

// ---------------------------------------------------------------------------------------------
// Window arithmetic

TEST_P(ConvNet, ConvOutputSizeMatchesConv2dForEveryGeometry) {
  for (int64_t input : {5, 8, 28}) {
    for (int64_t kernel = 1; kernel <= 5; ++kernel) {
      for (int64_t stride = 1; stride <= 3; ++stride) {
        for (int64_t padding = 0; padding <= 2; ++padding) {
          for (int64_t dilation = 1; dilation <= 2; ++dilation) {
            const auto options = torch::nn::Conv2dOptions(1, 1, kernel).stride(stride).padding(padding).dilation(dilation);
            torch::nn::Conv2d conv(options);
            const auto where = "input " + std::to_string(input) + ", kernel " + std::to_string(kernel) + ", stride " +
                               std::to_string(stride) + ", padding " + std::to_string(padding) + ", dilation " +
                               std::to_string(dilation);
            int64_t expected = 0;
            try {
              expected = conv->forward(torch::zeros({1, 1, input, input})).size(2);
            } catch (const c10::Error&) {
              EXPECT_THROW(conv_output_size(input, kernel, stride, padding, dilation), std::invalid_argument)
                  << where << ": the window does not fit, Conv2d refuses it";
              continue;
            }
            EXPECT_EQ(conv_output_size(input, kernel, stride, padding, dilation), expected) << where;
          }
        }
      }
    }
  }
}

TEST_P(ConvNet, ConvOutputSizeMatchesMaxPool2d) {
  for (int64_t input : {7, 28}) {
    for (int64_t kernel = 2; kernel <= 3; ++kernel) {
      for (int64_t stride = 1; stride <= 3; ++stride) {
        for (int64_t padding = 0; padding <= kernel / 2; ++padding) {
          torch::nn::MaxPool2d pool(torch::nn::MaxPool2dOptions(kernel).stride(stride).padding(padding));
          const auto out = pool->forward(torch::zeros({1, 1, input, input}, options()));
          EXPECT_EQ(conv_output_size(input, kernel, stride, padding), out.size(2))
              << "MaxPool2d(" << kernel << ", stride " << stride << ", padding " << padding << ") on " << input;
        }
      }
    }
  }
}

TEST_P(ConvNet, ConvOutputSizeRejectsImpossibleGeometries) {
  EXPECT_THROW(conv_output_size(28, 3, 0), std::invalid_argument) << "stride 0";
  EXPECT_THROW(conv_output_size(28, 0), std::invalid_argument) << "kernel 0";
  EXPECT_THROW(conv_output_size(28, 3, 1, -1), std::invalid_argument) << "negative padding";
  EXPECT_THROW(conv_output_size(28, 3, 1, 0, 0), std::invalid_argument) << "dilation 0";
  EXPECT_THROW(conv_output_size(3, 5), std::invalid_argument) << "a 5-wide window in a 3-wide input";
  EXPECT_THROW(conv_output_size(5, 3, 1, 0, 3), std::invalid_argument) << "3 taps 3 apart span 7 > 5";
  EXPECT_EQ(conv_output_size(3, 5, 1, 1), 1) << "with padding 1 the 5-wide window fits once in 3 + 2";
}

TEST_P(ConvNet, ConvParameterCountMatchesConv2d) {
  const std::vector<std::pair<std::vector<int64_t>, bool>> cases = {
      {{1, 16, 3}, true}, {{16, 32, 3}, true}, {{3, 64, 7}, false}, {{8, 4, 1}, true}, {{5, 6, 5}, false}};
  for (const auto& [c, bias] : cases) {
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c[0], c[1], c[2]).bias(bias));
    int64_t expected = 0;
    for (const auto& p : conv->parameters()) expected += p.numel();
    EXPECT_EQ(conv_parameter_count(c[0], c[1], c[2], bias), expected)
        << "Conv2d(" << c[0] << ", " << c[1] << ", " << c[2] << ") " << (bias ? "with" : "without") << " bias";
  }
}

TEST_P(ConvNet, ReceptiveFieldIsWhatTheGradientReaches) {
  const std::vector<std::vector<Window>> stacks = {
      {},
      {{3, 1, 1}},
      {{3, 1, 1}, {3, 1, 1}},
      {{3, 1, 1}, {2, 2, 1}, {3, 1, 1}, {2, 2, 1}},  // this exercise's network
      {{5, 2, 1}, {3, 2, 1}, {3, 1, 1}},
      {{3, 1, 2}, {3, 1, 4}},                        // dilated
      {{7, 2, 1}, {3, 2, 1}, {3, 1, 2}, {1, 1, 1}},
  };
  for (const auto& stack : stacks) {
    std::string text;
    for (const auto& w : stack) {
      text += " (k" + std::to_string(w.kernel) + " s" + std::to_string(w.stride) + " d" + std::to_string(w.dilation) + ")";
    }
    EXPECT_EQ(receptive_field(stack), measured_receptive_field(stack)) << "stack" << (text.empty() ? " (empty)" : text);
  }
}

// ---------------------------------------------------------------------------------------------
// The network

TEST_P(ConvNet, CnnRegistersItsLayersWithTheRequestedNamesAndShapes) {
  Cnn net;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"conv1.weight", {16, 1, 3, 3}}, {"conv1.bias", {16}}, {"bn1.weight", {16}}, {"bn1.bias", {16}},
      {"conv2.weight", {32, 16, 3, 3}}, {"conv2.bias", {32}}, {"bn2.weight", {32}}, {"bn2.bias", {32}},
      {"fc1.weight", {64, 1568}}, {"fc1.bias", {64}}, {"fc2.weight", {10, 64}}, {"fc2.bias", {10}}};
  const auto params = net->named_parameters();
  ASSERT_EQ(params.size(), expected.size()) << "expected the parameters of conv1, bn1, conv2, bn2, fc1 and fc2";
  for (const auto& [name, shape] : expected) {
    const auto* found = params.find(name);
    ASSERT_NE(found, nullptr) << "no parameter named " << name << ": register each layer under its name";
    EXPECT_EQ(found->sizes().vec(), shape) << name << " has the wrong shape";
  }
  const auto buffers = net->named_buffers();
  EXPECT_NE(buffers.find("bn1.running_mean"), nullptr) << "bn1 must be a registered BatchNorm2d";
  EXPECT_NE(buffers.find("bn2.running_var"), nullptr) << "bn2 must be a registered BatchNorm2d";
  const auto children = net->named_children();
  for (const char* name : {"pool", "flatten", "dropout"}) {
    EXPECT_NE(children.find(name), nullptr) << "register the " << name << " layer too, so train()/eval() reach it";
  }
}

TEST_P(ConvNet, CnnHas105962Parameters) {
  Cnn net;
  int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  EXPECT_EQ(count, 160 + 32 + 4640 + 64 + 100416 + 650);
}

TEST_P(ConvNet, FeaturesAreTwoConvBatchNormReluPoolBlocks) {
  Cnn net;
  net->to(device());
  randomise_batch_norms(net);
  net->eval();
  const auto x = torch::randn({3, 1, 28, 28}, options());
  torch::NoGradGuard no_grad;
  const auto features = net->features(x);
  EXPECT_SHAPE(features, {3, 32, 7, 7});
  EXPECT_TENSOR_CLOSE(features, reference_features(net, x), 1e-4, 1e-5)
      << "expected pool(relu(bn(conv(x)))) twice, in that order";
}

TEST_P(ConvNet, ForwardReturnsTheLogitsOfTheHead) {
  Cnn net;
  net->to(device());
  randomise_batch_norms(net);
  net->eval();
  const auto x = torch::randn({4, 1, 28, 28}, options());
  torch::NoGradGuard no_grad;
  const auto logits = net->forward(x);
  EXPECT_SHAPE(logits, {4, 10});
  EXPECT_DTYPE(logits, torch::kFloat32);
  EXPECT_DEVICE(logits, device());
  EXPECT_TENSOR_CLOSE(logits, reference_logits(net, x), 1e-4, 1e-5)
      << "expected fc2(dropout(relu(fc1(flatten(features(x)))))) with no activation after fc2";
}

TEST_P(ConvNet, ForwardDropsUnitsInTrainingOnly) {
  Cnn net;
  net->to(device());
  const auto x = torch::randn({4, 1, 28, 28}, options());
  torch::NoGradGuard no_grad;
  net->train();
  const auto first = net->forward(x), second = net->forward(x);
  EXPECT_GT((first - second).abs().max().item<double>(), 1e-4)
      << "in train() two passes over the same batch differ, because dropout zeroes different units";
  net->eval();
  EXPECT_TENSOR_EQ(net->forward(x), net->forward(x)) << "in eval() forward is deterministic";
}

TEST_P(ConvNet, ForwardUpdatesBatchNormStatisticsInTrainingOnly) {
  Cnn net;
  net->to(device());
  const auto x = torch::randn({4, 1, 28, 28}, options()) * 3 + 2;
  torch::NoGradGuard no_grad;
  net->eval();
  net->forward(x);
  EXPECT_TENSOR_EQ(net->bn1->running_mean, torch::zeros({16}, options())) << "eval() must leave running_mean alone";
  net->train();
  net->forward(x);
  EXPECT_GT(net->bn1->running_mean.abs().sum().item<double>(), 0.0)
      << "in train() every forward pass through bn1 updates its running mean";
  EXPECT_GT(net->bn2->num_batches_tracked.item<int64_t>(), 0) << "bn2 is not used in train() forward";
}

TEST_P(ConvNet, InitWeightsGivesHeStandardDeviationsAndZeroBiases) {
  Cnn net;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.fill_(5.0);
  }
  init_weights(net);
  const auto std_of = [](const torch::Tensor& t) { return t.std().item<double>(); };
  EXPECT_NEAR(std_of(net->fc1->weight), std::sqrt(2.0 / 1568), 0.05 * std::sqrt(2.0 / 1568)) << "fc1: fan_in 1568";
  EXPECT_NEAR(std_of(net->conv2->weight), std::sqrt(2.0 / 144), 0.1 * std::sqrt(2.0 / 144)) << "conv2: fan_in 16*3*3";
  EXPECT_NEAR(std_of(net->fc2->weight), std::sqrt(2.0 / 64), 0.2 * std::sqrt(2.0 / 64)) << "fc2: fan_in 64";
  EXPECT_NEAR(std_of(net->conv1->weight), std::sqrt(2.0 / 9), 0.3 * std::sqrt(2.0 / 9)) << "conv1: fan_in 9";
  EXPECT_NEAR(net->fc1->weight.mean().item<double>(), 0.0, 0.002) << "Kaiming normal has mean 0";
  for (const auto* bias : {&net->conv1->bias, &net->conv2->bias, &net->fc1->bias, &net->fc2->bias, &net->bn1->bias,
                           &net->bn2->bias}) {
    EXPECT_TENSOR_EQ(*bias, torch::zeros_like(*bias)) << "biases start at 0";
  }
  EXPECT_TENSOR_EQ(net->bn1->weight, torch::ones({16})) << "BatchNorm2d weights start at 1";
  EXPECT_TENSOR_EQ(net->bn2->weight, torch::ones({32})) << "BatchNorm2d weights start at 1";
}

// ---------------------------------------------------------------------------------------------
// What train() and eval() change

struct BatchNormCase {
  torch::nn::BatchNorm2d layer{nullptr};
  torch::Tensor x, mean, var;  // input and copies of the layer's running statistics
};

BatchNormCase batch_norm_case(const torch::TensorOptions& options, double momentum) {
  BatchNormCase c;
  c.layer = torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(3).momentum(momentum).eps(1e-3));
  c.layer->to(options.device());
  {
    torch::NoGradGuard no_grad;
    c.layer->weight.copy_(torch::tensor({0.5, 2.0, -1.0}, options));
    c.layer->bias.copy_(torch::tensor({0.1, -0.3, 1.0}, options));
    c.layer->running_mean.copy_(torch::tensor({0.2, -1.0, 3.0}, options));
    c.layer->running_var.copy_(torch::tensor({1.5, 0.25, 4.0}, options));
  }
  c.x = torch::randn({4, 3, 5, 5}, options) * torch::tensor({1.0, 2.0, 0.5}, options).view({1, 3, 1, 1}) + 1.0;
  c.mean = c.layer->running_mean.clone();
  c.var = c.layer->running_var.clone();
  return c;
}

TEST_P(ConvNet, BatchNorm2dInTrainingUsesBatchStatisticsAndUpdatesTheRunningOnes) {
  auto c = batch_norm_case(options(), 0.2);
  c.layer->train();
  torch::NoGradGuard no_grad;
  const auto expected = c.layer->forward(c.x);
  const auto actual = batch_norm_2d(c.x, c.mean, c.var, c.layer->weight, c.layer->bias, /*training=*/true, 0.2, 1e-3);
  EXPECT_TENSOR_CLOSE(actual, expected, 1e-4, 1e-5) << "normalise with this batch's mean and biased variance";
  EXPECT_TENSOR_CLOSE(c.mean, c.layer->running_mean, 1e-5, 1e-6) << "running_mean = 0.8 * running_mean + 0.2 * mean";
  EXPECT_TENSOR_CLOSE(c.var, c.layer->running_var, 1e-5, 1e-6)
      << "running_var = 0.8 * running_var + 0.2 * the unbiased variance (divided by n - 1)";
}

TEST_P(ConvNet, BatchNorm2dInEvalUsesAndKeepsTheRunningStatistics) {
  auto c = batch_norm_case(options(), 0.1);
  c.layer->eval();
  torch::NoGradGuard no_grad;
  const auto expected = c.layer->forward(c.x);
  const auto actual = batch_norm_2d(c.x, c.mean, c.var, c.layer->weight, c.layer->bias, /*training=*/false, 0.1, 1e-3);
  EXPECT_TENSOR_CLOSE(actual, expected, 1e-4, 1e-5) << "in eval() normalise with running_mean and running_var";
  EXPECT_TENSOR_EQ(c.mean, c.layer->running_mean) << "eval() must not change running_mean";
  EXPECT_TENSOR_EQ(c.var, c.layer->running_var) << "eval() must not change running_var";
}

TEST_P(ConvNet, DropoutInEvalReturnsTheInputUnchanged) {
  const auto x = torch::randn({50, 20}, options());
  EXPECT_TENSOR_EQ(inverted_dropout(x, 0.5, /*training=*/false), x);
  EXPECT_TENSOR_EQ(inverted_dropout(x, 0.0, /*training=*/true), x) << "p = 0 drops nothing";
  EXPECT_THROW(inverted_dropout(x, 1.0, true), std::invalid_argument) << "p = 1 would drop everything";
  EXPECT_THROW(inverted_dropout(x, -0.1, true), std::invalid_argument) << "p must be a probability";
}

TEST_P(ConvNet, DropoutInTrainingZeroesAFractionPAndRescalesTheRest) {
  const double p = 0.3;
  const auto x = torch::rand({200000}, options()) + 1.0;  // no zeros of its own
  const auto y = inverted_dropout(x, p, /*training=*/true);
  EXPECT_SHAPE(y, {200000});
  const auto dropped = y.eq(0);
  EXPECT_NEAR(dropped.to(torch::kFloat64).mean().item<double>(), p, 0.01) << "each element is zeroed with probability p";
  const auto kept = dropped.logical_not();
  EXPECT_TENSOR_CLOSE(y.masked_select(kept), x.masked_select(kept) / (1.0 - p), 1e-5, 1e-6)
      << "the survivors are multiplied by 1 / (1 - p), so the expected value stays the same";
  EXPECT_GT((inverted_dropout(x, p, true) - y).abs().sum().item<double>(), 0.0) << "every call draws a new mask";
}

// ---------------------------------------------------------------------------------------------
// Training and evaluation

TEST_P(ConvNet, TrainStepTakesOneSgdStepOnTheBatchLoss) {
  torch::manual_seed(1);
  Cnn net;
  torch::manual_seed(1);
  Cnn twin;  // the same weights, trained by hand below
  net->to(device());
  twin->to(device());
  net->eval();
  const auto x = torch::randn({8, 1, 28, 28}, options());
  const auto y = torch::randint(0, 10, {8}, options(torch::kInt64));
  // Stale gradients that train_step must clear.
  for (auto& p : net->parameters()) p.mutable_grad() = torch::ones_like(p);
  constexpr double kLr = 0.1;
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(kLr));

  twin->train();
  torch::manual_seed(7);  // the same dropout mask for both
  const auto expected = F::cross_entropy(twin->forward(x), y);
  expected.backward();
  torch::manual_seed(7);
  const double loss = train_step(net, sgd, x, y);

  EXPECT_NEAR(loss, expected.item<double>(), 1e-5) << "return the cross-entropy of this batch, in train() mode";
  EXPECT_TRUE(net->is_training()) << "train_step must call net->train()";
  const auto updated = net->named_parameters();
  for (const auto& item : twin->named_parameters()) {
    EXPECT_TENSOR_CLOSE(updated[item.key()], item.value() - kLr * item.value().grad(), 1e-4, 1e-6)
        << item.key() << " after one step: zero_grad, backward, step, in that order";
  }
}

TEST_P(ConvNet, PredictIsTheArgmaxInEvalModeWithoutGradients) {
  Cnn net;
  net->to(device());
  randomise_batch_norms(net);
  net->train();
  const auto x = torch::randn({25, 1, 28, 28}, options());
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = reference_logits(net, x).argmax(1);
  }
  const auto predictions = predict(net, x, /*batch_size=*/7);
  EXPECT_FALSE(net->is_training()) << "predict must switch the net to eval(): BatchNorm's running statistics, no dropout";
  EXPECT_FALSE(predictions.requires_grad()) << "predict must run under torch::NoGradGuard";
  EXPECT_TENSOR_EQ(predictions, expected) << "all 25 images, in batches of 7 (the last one holds 4)";
}

TEST_P(ConvNet, ConfusionMatrixCountsLabelPredictionPairs) {
  const auto labels = torch::tensor({0, 0, 1, 2, 2, 2, 1}, options(torch::kInt64));
  const auto predictions = torch::tensor({0, 1, 1, 2, 0, 2, 1}, options(torch::kInt64));
  const auto expected = torch::tensor({1, 1, 0, 0, 0, 2, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0}, torch::kInt64).view({4, 4});
  EXPECT_TENSOR_EQ(confusion_matrix(predictions, labels, 4), expected)
      << "row = true label, column = prediction; a class nobody has stays a row and a column of zeros";
}

}  // namespace

WORKBOOK_INSTANTIATE_DEVICE_TESTS(ConvNet);
