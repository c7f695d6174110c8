// Exercise 11 — Transfer learning. Replace each TODO with your code; README.md explains.
#include "transfer.h"

#include "workbook/todo.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <utility>

void save_model(TransferNet& net, const std::string& path) {
  // TODO: throw CheckpointError naming the folder when the folder of `path` does not exist.
  // TODO: torch::save(net, path).
  workbook::todo("save the net's parameters and buffers with torch::save");
}

void read_parameters(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& source) {
  // TODO: for each of module.named_parameters(false) and named_buffers(false): archive.try_read(name,
  //       tensor, is_buffer); throw CheckpointError when it is missing or its sizes() differ.
  // TODO: for each of module.named_children(): try_read its nested InputArchive and do the same
  //       recursively, names prefixed with "child.".
  // TODO: only when everything checked out, copy_ each saved tensor into the module's (NoGradGuard).
  workbook::todo("check the archive's tensors against the module's, then copy them in");
}

void load_model(TransferNet& net, const std::string& path) {
  // TODO: throw CheckpointError when `path` is not a file; archive.load_from(path), turning a
  //       c10::Error into CheckpointError; then read_parameters(*net, archive, path).
  workbook::todo("open the checkpoint and read the parameters into the net");
}

void save_training_state(const std::string& path, TransferNet& net, torch::optim::Optimizer& optimizer,
                         int64_t epoch) {
  // TODO: one OutputArchive holding an archive "model" (net->save), an archive "optimizer"
  //       (optimizer.save) and the tensor "epoch"; archive.save_to(path).
  workbook::todo("write the model, the optimiser state and the epoch to one archive");
}

int64_t load_training_state(const std::string& path, TransferNet& net, torch::optim::Optimizer& optimizer) {
  // TODO: open the archive (as load_model does), try_read "model", "optimizer" and "epoch" (throw
  //       CheckpointError when one is missing), read_parameters, optimizer.load, return the epoch.
  return workbook::todo("restore the model and the optimiser state, return the epoch");
}

void set_extractor_trainable(TransferNet& net, bool trainable) {
  // TODO: requires_grad_(trainable) on every parameter of every layer in net->extractor().
  workbook::todo("set requires_grad of the extractor's parameters");
}

void replace_head(TransferNet& net, int64_t classes) {
  // TODO: throw std::invalid_argument when classes < 1.
  // TODO: net->fc1 = net->replace_module("fc1", torch::nn::Linear(...)); the same for fc2 with
  //       `classes` outputs; move both to the device of net->conv1->weight.
  workbook::todo("put a fresh fc1 and fc2 in place of the old head");
}

std::vector<torch::optim::OptimizerParamGroup> parameter_groups(TransferNet& net, double head_lr, double extractor_lr) {
  // TODO: a group of the head's parameters with std::make_unique<torch::optim::AdamOptions>(head_lr);
  //       then, if the extractor's parameters require grad, a group of them with extractor_lr.
  return workbook::todo("one parameter group per learning rate");
}

double train_step(TransferNet& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                  const torch::Tensor& labels) {
  // TODO: net->train(), then eval() on each BatchNorm2d of net->extractor() whose parameters do not
  //       require grad; zero_grad, cross-entropy, backward, step; return the loss.
  return workbook::todo("train on one batch, keeping frozen batch norms in evaluation mode");
}

double step_lr(double base_lr, int64_t epoch, int64_t step_size, double gamma) {
  // TODO: throw std::invalid_argument for step_size < 1 or epoch < 0;
  //       return base_lr * gamma^(epoch / step_size) (integer division).
  return workbook::todo("compute StepLR's learning rate");
}

double cosine_lr(double base_lr, double min_lr, int64_t epoch, int64_t total_epochs) {
  // TODO: throw std::invalid_argument for total_epochs < 1 or epoch < 0; min_lr from total_epochs on;
  //       else min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)) / 2.
  return workbook::todo("compute the cosine-annealed learning rate");
}

void scale_learning_rates(torch::optim::Optimizer& optimizer, double factor) {
  // TODO: throw std::invalid_argument for a negative factor; for each of optimizer.param_groups(),
  //       group.options().set_lr(group.options().get_lr() * factor).
  workbook::todo("multiply every group's learning rate by factor");
}

EarlyStopping::EarlyStopping(int64_t patience, double min_delta) : patience_(patience), min_delta_(min_delta) {
  // TODO: throw std::invalid_argument when patience < 1 or min_delta < 0.
  workbook::todo("check patience and min_delta");
}

bool EarlyStopping::update(double validation_loss) {
  // TODO: count the epoch in epochs_; if validation_loss < best_loss_ - min_delta_, it is the new best
  //       (remember its epoch, reset bad_epochs_), else count a bad epoch; return bad_epochs_ >= patience_.
  return workbook::todo("record the loss and say whether to stop");
}

SubsetSplit stratified_split(const torch::Tensor& labels, int64_t classes, int64_t train_per_class,
                             int64_t validation_per_class, uint64_t seed) {
  // TODO: throw std::invalid_argument for negative counts; labels to the CPU;
  //       auto generator = at::make_generator<at::CPUGeneratorImpl>(seed).
  // TODO: for each class: its indices (labels.eq(c).nonzero()), shuffled with
  //       torch::randperm(count, generator, torch::kInt64); throw when there are too few; the first
  //       train_per_class go to training, the next validation_per_class to validation.
  // TODO: concatenate each side and sort it.
  return workbook::todo("draw a stratified training and validation subset");
}
