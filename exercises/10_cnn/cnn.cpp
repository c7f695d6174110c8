// Exercise 10 — A convolutional network you can see inside. Replace each TODO with your code;
// README.md explains.
#include "cnn.h"

#include "workbook/todo.h"

#include <vector>

int64_t conv_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  // TODO: throw std::invalid_argument for input, kernel, stride or dilation < 1 or padding < 0.
  // TODO: the window spans dilation * (kernel - 1) + 1 positions; throw if that is more than
  //       input + 2 * padding, else return (input + 2 * padding - span) / stride + 1.
  return workbook::todo("compute the output length of a sliding window");
}

int64_t conv_parameter_count(int64_t in_channels, int64_t out_channels, int64_t kernel, bool bias) {
  // TODO: count the out x in x kernel x kernel weights, plus out biases when bias is true.
  return workbook::todo("count the parameters of a Conv2d");
}

int64_t receptive_field(const std::vector<Window>& layers) {
  // TODO: start from a field of 1 and a jump of 1; for each layer add dilation * (kernel - 1) * jump
  //       to the field, then multiply the jump by the layer's stride.
  return workbook::todo("compute the receptive field of a stack of layers");
}

CnnImpl::CnnImpl() {
  // TODO: create and register conv1, bn1, conv2, bn2, pool, flatten, fc1, dropout and fc2, e.g.
  //       conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, kChannels1, 3).padding(1)));
  workbook::todo("create and register the nine layers");
}

torch::Tensor CnnImpl::features(torch::Tensor x) {
  // TODO: apply pool(relu(bn1(conv1(x)))), then pool(relu(bn2(conv2(x)))), and return the result.
  return workbook::todo("apply the two convolution blocks");
}

torch::Tensor CnnImpl::forward(torch::Tensor x) {
  // TODO: features, flatten, fc1, ReLU, dropout, fc2; return the [B, 10] logits (no softmax).
  return workbook::todo("features, then the linear head");
}

void init_weights(Cnn& net) {
  // TODO: for each module in net->modules(false): if module->as<torch::nn::Conv2d>() or
  //       as<torch::nn::Linear>() is not null, kaiming_normal_ its weight (fan in, ReLU) and zero its
  //       bias; if it is a BatchNorm2d, set its weight to 1 and its bias to 0 (torch::nn::init).
  workbook::todo("re-initialise the convolutions, linear layers and batch norms");
}

torch::Tensor batch_norm_2d(const torch::Tensor& x, torch::Tensor& running_mean, torch::Tensor& running_var,
                            const torch::Tensor& weight, const torch::Tensor& bias, bool training, double momentum,
                            double eps) {
  // TODO: in training mode take the mean and the biased variance of x over dims {0, 2, 3}, and
  //       update running_mean and running_var in place (the latter with the unbiased variance).
  // TODO: in evaluation mode use running_mean and running_var instead.
  // TODO: return (x - mean) / sqrt(var + eps) * weight + bias, the [C] tensors viewed as [1, C, 1, 1].
  return workbook::todo("normalise with batch or running statistics");
}

torch::Tensor inverted_dropout(const torch::Tensor& x, double p, bool training) {
  // TODO: throw std::invalid_argument unless 0 <= p < 1; in evaluation mode return x.
  // TODO: in training mode keep each element where torch::rand_like(x) >= p and divide by 1 - p.
  return workbook::todo("zero elements with probability p and rescale the rest");
}

double train_step(Cnn& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                  const torch::Tensor& labels) {
  // TODO: net->train(), zero the gradients, cross-entropy of net->forward(images) against labels,
  //       backward, optimizer.step(); return the loss as a double.
  return workbook::todo("train on one batch and return its loss");
}

torch::Tensor predict(Cnn& net, const torch::Tensor& images, int64_t batch_size) {
  // TODO: net->eval() and a torch::NoGradGuard; for each slice of batch_size images take the argmax
  //       of the logits along dimension 1; concatenate the slices with torch::cat.
  return workbook::todo("predict the classes batch by batch in evaluation mode");
}

torch::Tensor confusion_matrix(const torch::Tensor& predictions, const torch::Tensor& labels, int64_t classes) {
  // TODO: on the CPU, count each (label, prediction) pair, e.g. torch::bincount of
  //       label * classes + prediction with minlength classes * classes, viewed as [classes, classes].
  return workbook::todo("count the (label, prediction) pairs");
}
