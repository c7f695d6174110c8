// Exercise 11 — reference solution.
#include "transfer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace {

namespace fs = std::filesystem;

std::string shape_of(const torch::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

// torch::save would fail with "open file failed" and a C++ backtrace: say which folder is missing.
void check_folder(const std::string& path) {
  const fs::path folder = fs::absolute(path).parent_path();
  std::error_code ignored;
  if (!fs::is_directory(folder, ignored)) {
    throw CheckpointError(path + ": cannot write the checkpoint, the folder " + folder.string() +
                          " does not exist. Create it first (mkdir -p) or choose another path.");
  }
}

// Opens a checkpoint, turning LibTorch's errors into one that names the file and the fix.
torch::serialize::InputArchive open_archive(const std::string& path) {
  std::error_code ignored;
  if (!fs::is_regular_file(path, ignored)) {
    throw CheckpointError(path + ": checkpoint not found. Check the path, or write one first (save_model, or "
                          "`./workbook run 10 -- --save " + path + "`).");
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& error) {
    throw CheckpointError(path + ": not a LibTorch checkpoint, or a damaged one (" +
                          std::string(error.what_without_backtrace()).substr(0, 120) +
                          "). Write it again with torch::save / save_model.");
  }
  return archive;
}

// The tensors of `module` paired with the archive's, checked, in the order they will be copied.
void collect(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& prefix,
             const std::string& source, std::vector<std::pair<torch::Tensor, torch::Tensor>>& pairs) {
  const auto check = [&](const std::string& name, const torch::Tensor& own, bool is_buffer) {
    torch::Tensor saved;
    if (!archive.try_read(name, saved, is_buffer)) {
      throw CheckpointError(source + ": has no tensor '" + prefix + name +
                            "': it was written for a different network. Load it into the network that wrote "
                            "it, or train this one from scratch.");
    }
    if (saved.sizes() != own.sizes()) {
      throw CheckpointError(source + ": tensor '" + prefix + name + "' has shape " + shape_of(saved) +
                            " but this network's has " + shape_of(own) +
                            ": the checkpoint is from a different architecture (another number of classes? "
                            "then load it before replace_head).");
    }
    pairs.emplace_back(own, saved);
  };
  for (const auto& parameter : module.named_parameters(/*recurse=*/false)) check(parameter.key(), parameter.value(), false);
  for (const auto& buffer : module.named_buffers(/*recurse=*/false)) check(buffer.key(), buffer.value(), true);
  // torch::save writes each submodule into an archive of its own, under the submodule's name.
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive child_archive;
    if (!archive.try_read(child.key(), child_archive)) {
      throw CheckpointError(source + ": has no module '" + prefix + child.key() +
                            "': it was written for a different network. Load it into the network that wrote it.");
    }
    collect(*child.value(), child_archive, prefix + child.key() + ".", source, pairs);
  }
}

bool frozen(const std::shared_ptr<torch::nn::Module>& layer) {
  const auto parameters = layer->parameters();
  return !parameters.empty() && !parameters.front().requires_grad();
}

}  // namespace

void save_model(TransferNet& net, const std::string& path) {
  check_folder(path);
  // torch::save(module) writes parameters and buffers, one nested archive per submodule.
  torch::save(net, path);
}

void read_parameters(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& source) {
  // Check everything before copying anything, so that a bad checkpoint leaves the module as it was.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs;
  collect(module, archive, "", source, pairs);
  torch::NoGradGuard no_grad;
  for (auto& [own, saved] : pairs) own.copy_(saved);  // copy_: same tensors, their device
}

void load_model(TransferNet& net, const std::string& path) {
  auto archive = open_archive(path);
  read_parameters(*net, archive, path);
}

void save_training_state(const std::string& path, TransferNet& net, torch::optim::Optimizer& optimizer,
                         int64_t epoch) {
  check_folder(path);
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model;
  net->save(model);
  archive.write("model", model);
  torch::serialize::OutputArchive state;
  optimizer.save(state);
  archive.write("optimizer", state);
  archive.write("epoch", torch::tensor(epoch, torch::kInt64));
  archive.save_to(path);
}

int64_t load_training_state(const std::string& path, TransferNet& net, torch::optim::Optimizer& optimizer) {
  auto archive = open_archive(path);
  torch::serialize::InputArchive model;
  torch::serialize::InputArchive state;
  torch::Tensor epoch;
  if (!archive.try_read("model", model) || !archive.try_read("optimizer", state) || !archive.try_read("epoch", epoch)) {
    throw CheckpointError(path + ": not a training checkpoint (it lacks \"model\", \"optimizer\" or \"epoch\"; "
                          "a save_model file holds the model only). Load it with load_model, or write it with "
                          "save_training_state.");
  }
  read_parameters(*net, model, path);
  try {
    optimizer.load(state);
  } catch (const c10::Error& error) {
    throw CheckpointError(path + ": its optimiser state does not fit this optimiser (" +
                          std::string(error.what_without_backtrace()).substr(0, 120) +
                          "). Build the optimiser as when saving: same kind, same parameter groups.");
  }
  return epoch.item<int64_t>();
}

void set_extractor_trainable(TransferNet& net, bool trainable) {
  // A parameter that does not require grad gets no gradient, so backward() skips it.
  for (const auto& layer : net->extractor()) {
    for (auto& parameter : layer->parameters()) parameter.requires_grad_(trainable);
  }
}

void replace_head(TransferNet& net, int64_t classes) {
  if (classes < 1) {
    throw std::invalid_argument("replace_head: classes is " + std::to_string(classes) + ", need at least 1");
  }
  const auto device = net->conv1->weight.device();
  // replace_module swaps the registered submodule; the member handles must follow it.
  net->fc1 = net->replace_module("fc1", torch::nn::Linear(kChannels2 * 7 * 7, kHidden));
  net->fc2 = net->replace_module("fc2", torch::nn::Linear(kHidden, classes));
  net->fc1->to(device);
  net->fc2->to(device);
}

std::vector<torch::optim::OptimizerParamGroup> parameter_groups(TransferNet& net, double head_lr, double extractor_lr) {
  const auto parameters_of = [](const std::vector<std::shared_ptr<torch::nn::Module>>& layers) {
    std::vector<torch::Tensor> all;
    for (const auto& layer : layers) {
      for (const auto& parameter : layer->parameters()) all.push_back(parameter);
    }
    return all;
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(parameters_of(net->head()), std::make_unique<torch::optim::AdamOptions>(head_lr));
  const auto extractor = parameters_of(net->extractor());
  // A frozen extractor gets no group: the optimiser never sees it.
  if (!extractor.empty() && extractor.front().requires_grad()) {
    groups.emplace_back(extractor, std::make_unique<torch::optim::AdamOptions>(extractor_lr));
  }
  return groups;
}

double train_step(TransferNet& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                  const torch::Tensor& labels) {
  net->train();
  // Frozen BatchNorm layers keep normalising with, and keeping, the statistics they learned.
  for (const auto& layer : net->extractor()) {
    if (frozen(layer) && layer->as<torch::nn::BatchNorm2d>() != nullptr) layer->eval();
  }
  optimizer.zero_grad();
  auto loss = torch::nn::functional::cross_entropy(net->forward(images), labels);
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

double step_lr(double base_lr, int64_t epoch, int64_t step_size, double gamma) {
  if (step_size < 1 || epoch < 0) {
    throw std::invalid_argument("step_lr: need step_size >= 1 and epoch >= 0 (got " + std::to_string(step_size) +
                                " and " + std::to_string(epoch) + ")");
  }
  // Integer division: the rate drops once every step_size epochs.
  return base_lr * std::pow(gamma, static_cast<double>(epoch / step_size));
}

double cosine_lr(double base_lr, double min_lr, int64_t epoch, int64_t total_epochs) {
  if (total_epochs < 1 || epoch < 0) {
    throw std::invalid_argument("cosine_lr: need total_epochs >= 1 and epoch >= 0 (got " +
                                std::to_string(total_epochs) + " and " + std::to_string(epoch) + ")");
  }
  if (epoch >= total_epochs) return min_lr;
  const double pi = std::acos(-1.0);
  return min_lr + (base_lr - min_lr) * (1.0 + std::cos(pi * static_cast<double>(epoch) / static_cast<double>(total_epochs))) / 2.0;
}

void scale_learning_rates(torch::optim::Optimizer& optimizer, double factor) {
  if (factor < 0.0) throw std::invalid_argument("scale_learning_rates: factor " + std::to_string(factor) + " is negative");
  // get_lr/set_lr are virtual on OptimizerOptions: no need to know Adam from SGD.
  for (auto& group : optimizer.param_groups()) group.options().set_lr(group.options().get_lr() * factor);
}

EarlyStopping::EarlyStopping(int64_t patience, double min_delta) : patience_(patience), min_delta_(min_delta) {
  if (patience < 1 || !(min_delta >= 0.0)) {
    throw std::invalid_argument("EarlyStopping: need patience >= 1 and min_delta >= 0 (got " +
                                std::to_string(patience) + " and " + std::to_string(min_delta) + ")");
  }
}

bool EarlyStopping::update(double validation_loss) {
  const int64_t epoch = epochs_++;
  // Written so that NaN compares false: it never improves.
  if (validation_loss < best_loss_ - min_delta_) {
    best_loss_ = validation_loss;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return bad_epochs_ >= patience_;
}

SubsetSplit stratified_split(const torch::Tensor& labels, int64_t classes, int64_t train_per_class,
                             int64_t validation_per_class, uint64_t seed) {
  if (train_per_class < 0 || validation_per_class < 0) {
    throw std::invalid_argument("stratified_split: the counts per class must not be negative");
  }
  const auto cpu = labels.to(torch::kCPU, torch::kInt64);
  // A generator of our own: the same seed gives the same split, whatever else drew numbers.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> train, validation;
  for (int64_t c = 0; c < classes; ++c) {
    const auto members = cpu.eq(c).nonzero().view(-1);
    const int64_t needed = train_per_class + validation_per_class;
    if (members.size(0) < needed) {
      throw std::invalid_argument("stratified_split: class " + std::to_string(c) + " has " +
                                  std::to_string(members.size(0)) + " samples, fewer than the " +
                                  std::to_string(needed) + " asked for (" + std::to_string(train_per_class) +
                                  " + " + std::to_string(validation_per_class) + "): ask for fewer");
    }
    const auto shuffled = members.index_select(0, torch::randperm(members.size(0), generator, torch::kInt64));
    train.push_back(shuffled.slice(0, 0, train_per_class));
    validation.push_back(shuffled.slice(0, train_per_class, needed));
  }
  const auto sorted = [](const std::vector<torch::Tensor>& parts) {
    return parts.empty() ? torch::empty({0}, torch::kInt64) : std::get<0>(torch::cat(parts).sort());
  };
  return {sorted(train), sorted(validation)};
}
