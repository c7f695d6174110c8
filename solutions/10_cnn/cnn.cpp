// Exercise 10 — A convolutional network you can see inside: the reference solution.
#include "cnn.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace F = torch::nn::functional;

int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  if (input < 1 || kernel < 1 || stride < 1 || dilation < 1 || padding < 0) {
    throw std::invalid_argument("conv_output_size: input, kernel, stride and dilation must be at least 1 and "
                                "padding at least 0");
  }
  // The window spans dilation*(kernel-1)+1 positions; it fits (padded - span) / stride + 1 times.
  const int64_t span = dilation * (kernel - 1) + 1;
  const int64_t padded = input + 2 * padding;
  if (span > padded) {
    throw std::invalid_argument("conv_output_size: a window spanning " + std::to_string(span) +
                                " positions does not fit in a padded input of " + std::to_string(padded) +
                                ": use a smaller kernel or dilation, or more padding");
  }
  return (padded - span) / stride + 1;
}

int64_t conv_parameter_count(int64_t in_channels, int64_t out_channels, int64_t kernel, bool bias) {
  // Every output channel has its own kernel over every input channel, and one bias.
  return out_channels * in_channels * kernel * kernel + (bias ? out_channels : 0);
}

int64_t receptive_field(const std::vector<Window>& layers) {
  int64_t field = 1;
  int64_t jump = 1;  // distance in input pixels between neighbouring positions of this layer's input
  for (const Window& layer : layers) {
    field += layer.dilation * (layer.kernel - 1) * jump;
    jump *= layer.stride;
  }
  return field;
}

CnnImpl::CnnImpl()
    // Padding 1 keeps a 3x3 convolution's output the size of its input; pooling halves it.
    : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, kChannels1, 3).padding(1)))),
      bn1(register_module("bn1", torch::nn::BatchNorm2d(kChannels1))),
      conv2(register_module("conv2",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels1, kChannels2, 3).padding(1)))),
      bn2(register_module("bn2", torch::nn::BatchNorm2d(kChannels2))),
      pool(register_module("pool", torch::nn::MaxPool2d(2))),
      flatten(register_module("flatten", torch::nn::Flatten())),
      fc1(register_module("fc1", torch::nn::Linear(kChannels2 * 7 * 7, kHidden))),
      dropout(register_module("dropout", torch::nn::Dropout(kDropout))),
      fc2(register_module("fc2", torch::nn::Linear(kHidden, kClasses))) {}

torch::Tensor CnnImpl::features(torch::Tensor x) {
  // Normalise before the non-linearity, pool after it.
  x = pool->forward(torch::relu(bn1->forward(conv1->forward(x))));
  return pool->forward(torch::relu(bn2->forward(conv2->forward(x))));
}

torch::Tensor CnnImpl::forward(torch::Tensor x) {
  x = flatten->forward(features(x));
  // Dropout on the hidden layer only; it is the identity in eval().
  x = dropout->forward(torch::relu(fc1->forward(x)));
  return fc2->forward(x);
}

void init_weights(Cnn& net) {
  for (const auto& module : net->modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      // He initialisation keeps the activations' variance steady through ReLU layers.
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kReLU);
      torch::nn::init::zeros_(conv->bias);
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      torch::nn::init::kaiming_normal_(linear->weight, 0.0, torch::kFanIn, torch::kReLU);
      torch::nn::init::zeros_(linear->bias);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
}

torch::Tensor batch_norm_2d(const torch::Tensor& x, torch::Tensor& running_mean, torch::Tensor& running_var,
                            const torch::Tensor& weight, const torch::Tensor& bias, bool training, double momentum,
                            double eps) {
  const std::vector<int64_t> dims = {0, 2, 3};  // everything but the channel
  torch::Tensor mean, var;
  if (training) {
    mean = x.mean(dims);
    var = (x - mean.view({1, -1, 1, 1})).pow(2).mean(dims);
    // The running statistics are state, not part of the graph.
    torch::NoGradGuard no_grad;
    const double n = static_cast<double>(x.numel() / x.size(1));
    running_mean.mul_(1.0 - momentum).add_(mean.detach(), momentum);
    running_var.mul_(1.0 - momentum).add_(var.detach() * (n / (n - 1.0)), momentum);
  } else {
    mean = running_mean;
    var = running_var;
  }
  const auto shape = std::vector<int64_t>{1, -1, 1, 1};
  return (x - mean.view(shape)) / (var.view(shape) + eps).sqrt() * weight.view(shape) + bias.view(shape);
}

torch::Tensor inverted_dropout(const torch::Tensor& x, double p, bool training) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw std::invalid_argument("inverted_dropout: p = " + std::to_string(p) + " is not a probability in [0, 1)");
  }
  if (!training || p == 0.0) return x;
  // Keep each element with probability 1 - p; scale so that the expectation is unchanged.
  const auto keep = torch::rand_like(x).ge(p).to(x.scalar_type());
  return x * keep / (1.0 - p);
}

double train_step(Cnn& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                  const torch::Tensor& labels) {
  // train(): batch statistics in BatchNorm, dropout on.
  net->train();
  optimizer.zero_grad();
  const auto loss = F::cross_entropy(net->forward(images), labels);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

torch::Tensor predict(Cnn& net, const torch::Tensor& images, int64_t batch_size) {
  // eval(): running statistics in BatchNorm, no dropout; no graph is needed.
  net->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const auto batch = images.slice(/*dim=*/0, start, std::min(images.size(0), start + batch_size));
    parts.push_back(net->forward(batch).argmax(/*dim=*/1));
  }
  return parts.empty() ? torch::empty({0}, images.options().dtype(torch::kInt64)) : torch::cat(parts);
}

torch::Tensor confusion_matrix(const torch::Tensor& predictions, const torch::Tensor& labels, int64_t classes) {
  // Each (label, prediction) pair is one cell of a row-major classes x classes table.
  const auto cells = labels.cpu().to(torch::kInt64) * classes + predictions.cpu().to(torch::kInt64);
  return torch::bincount(cells, /*weights=*/{}, /*minlength=*/classes * classes).view({classes, classes});
}
