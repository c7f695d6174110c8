// Exercise 08 — An MNIST multilayer perceptron. Replace each TODO with your code; README.md explains.
#include "mnist_mlp.h"

#include "workbook/todo.h"

#include <string>

NetImpl::NetImpl() {
  // TODO: create fc1 = Linear(784, 256), fc2 = Linear(256, 128), fc3 = Linear(128, 10)
  //       and register each one: fc1 = register_module("fc1", torch::nn::Linear(kInputs, kHidden1)); ...
  workbook::todo("create and register the layers fc1, fc2 and fc3");
}

torch::Tensor NetImpl::forward(torch::Tensor x) {
  // TODO: flatten x to [B, 784] (x.view({x.size(0), kInputs}) or x.flatten(1)).
  // TODO: apply fc1, ReLU, fc2, ReLU, fc3 and return the [B, 10] logits (no softmax).
  return workbook::todo("flatten, then fc1 -> ReLU -> fc2 -> ReLU -> fc3");
}

double train_epoch(Net& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                   const torch::Tensor& labels, int64_t batch_size, const BatchCallback& on_batch) {
  // TODO: put the net in training mode and draw a random order with torch::randperm (on the images' device).
  // TODO: for each batch of indices: select its images and labels (index_select), zero the
  //       gradients, forward, torch::nn::functional::cross_entropy, backward, optimizer.step(),
  //       then call on_batch(batch, batches, loss) if it is set.
  // TODO: return the mean loss over all samples (sum of loss * batch size, divided by N).
  return workbook::todo("train one epoch and return the mean loss");
}

torch::Tensor predict(Net& net, const torch::Tensor& images) {
  // TODO: switch to evaluation mode, create a torch::NoGradGuard, and return the argmax of the
  //       logits along dimension 1.
  return workbook::todo("predict the class of each image without recording gradients");
}

double accuracy(const torch::Tensor& predictions, const torch::Tensor& labels) {
  // TODO: compare predictions with labels and return the fraction that are equal, as a double.
  return workbook::todo("return the fraction of correct predictions");
}

void save_checkpoint(const Net& net, const std::string& path) {
  // TODO: write the net to path with torch::save.
  workbook::todo("save the net with torch::save");
}

void load_checkpoint(Net& net, const std::string& path) {
  // TODO: read path into net with torch::load, passing the device of the net's parameters so the
  //       tensors land where the net is.
  workbook::todo("load the net with torch::load onto its own device");
}
