// Exercise 11 — Transfer learning: checkpoints, frozen features, a new head. The contract: do not
// edit this file, edit transfer.cpp. Every function below has a test in
// tests/11_transfer_learning_test.cpp that turns green once it is done; program.cpp then trains the
// network on MNIST digits, reuses its convolutions for Fashion-MNIST clothes learned from 1,000
// images, and measures what that reuse is worth against training from scratch.
#pragma once

#include "workbook/setup_error.h"

#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------------------
// The network (given: exercise 10's CNN, complete; you do not write it)

inline constexpr int64_t kChannels1 = 16;  ///< feature maps of the first convolution
inline constexpr int64_t kChannels2 = 32;  ///< feature maps of the second convolution
inline constexpr int64_t kHidden = 64;     ///< width of the hidden linear layer
inline constexpr int64_t kClasses = 10;    ///< digits 0-9, or ten kinds of clothing
inline constexpr double kDropout = 0.1;    ///< probability that dropout zeroes a hidden unit

/// Exercise 10's network, with the same layer names, so that a checkpoint written by
/// `./workbook run 10 -- --save FILE` loads into it:
///   feature extractor  conv1 (3x3, padding 1) -> bn1 -> ReLU -> pool -> conv2 -> bn2 -> ReLU -> pool
///                      [B, 1, 28, 28] -> [B, 32, 7, 7]
///   head               flatten -> fc1 (1568 -> 64) -> ReLU -> dropout -> fc2 (64 -> classes)
struct TransferNetImpl : torch::nn::Module {
  explicit TransferNetImpl(int64_t classes = kClasses)
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, kChannels1, 3).padding(1)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(kChannels1))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels1, kChannels2, 3).padding(1)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(kChannels2))),
        pool(register_module("pool", torch::nn::MaxPool2d(2))),
        flatten(register_module("flatten", torch::nn::Flatten())),
        fc1(register_module("fc1", torch::nn::Linear(kChannels2 * 7 * 7, kHidden))),
        dropout(register_module("dropout", torch::nn::Dropout(kDropout))),
        fc2(register_module("fc2", torch::nn::Linear(kHidden, classes))) {}

  /// The feature extractor: float32 [B, 1, 28, 28] -> [B, 32, 7, 7].
  torch::Tensor features(torch::Tensor x) {
    x = pool->forward(torch::relu(bn1->forward(conv1->forward(x))));
    return pool->forward(torch::relu(bn2->forward(conv2->forward(x))));
  }

  /// The logits, float32 [B, classes]: features, then the head. No softmax.
  torch::Tensor forward(torch::Tensor x) {
    return fc2->forward(dropout->forward(torch::relu(fc1->forward(flatten->forward(features(x))))));
  }

  /// The layers of the feature extractor that hold parameters or buffers: conv1, bn1, conv2, bn2.
  std::vector<std::shared_ptr<torch::nn::Module>> extractor() const {
    return {conv1.ptr(), bn1.ptr(), conv2.ptr(), bn2.ptr()};
  }
  /// The layers of the head that hold parameters: fc1, fc2.
  std::vector<std::shared_ptr<torch::nn::Module>> head() const { return {fc1.ptr(), fc2.ptr()}; }

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::MaxPool2d pool{nullptr};
  torch::nn::Flatten flatten{nullptr};
  torch::nn::Linear fc1{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc2{nullptr};
};
/// TransferNet is a shared handle to a TransferNetImpl (net->forward(x), net->parameters(), ...).
TORCH_MODULE(TransferNet);

/// A checkpoint file that is missing, unreadable, corrupt, or written for another network. what()
/// names the file, says what is wrong (for a different network: the first tensor that is missing
/// or has another shape) and how to fix it.
class CheckpointError : public workbook::SetupError {
 public:
  using workbook::SetupError::SetupError;
};

// ---------------------------------------------------------------------------------------------
// Checkpoints

/// Writes every parameter and buffer of `net` (BatchNorm's running statistics included) to `path`
/// with torch::save, in the layout torch::load reads back (one archive per submodule, as
/// exercise 10's `--save` writes too). Throws CheckpointError when the folder that should hold
/// `path` does not exist.
void save_model(TransferNet& net, const std::string& path);

/// Copies into `module` every parameter and buffer that `archive` holds for it, checking them all
/// first: it throws CheckpointError (and changes nothing) when a tensor the module has is absent
/// from the archive or has another shape, naming it by its full name ("fc2.weight") with both
/// shapes. `source` (the file name) starts every message. Keeps the module's own tensors (copies
/// the values into them, onto their device), so an optimiser that holds them stays valid.
/// (torch::load alone does not check shapes: it would silently turn fc2.weight [10, 64] into
/// [3, 64].)
void read_parameters(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& source);

/// Loads a checkpoint written by save_model (or by exercise 10's `--save`) into `net`, through
/// read_parameters. Throws CheckpointError naming the file when it is missing, is not a LibTorch
/// archive (corrupt, truncated, some other file) or was written for a different network.
void load_model(TransferNet& net, const std::string& path);

/// Writes what resuming training needs to `path`, in one OutputArchive: the model under the key
/// "model" (net->save), the optimiser's state (Adam's moments, SGD's momentum, the step counts)
/// under "optimizer" (optimizer.save), and the number of finished epochs under "epoch" (an int64
/// tensor). Throws CheckpointError when the folder does not exist.
void save_training_state(const std::string& path, TransferNet& net, torch::optim::Optimizer& optimizer,
                         int64_t epoch);

/// Restores what save_training_state wrote into `net` (through read_parameters) and `optimizer`
/// (built over net's parameters the same way as when saving), and returns the epoch. One step
/// after this equals the step the uninterrupted run would have taken. Throws CheckpointError for a
/// missing or corrupt file, a file without "model", "optimizer" or "epoch" (a save_model file), or
/// an optimiser state that does not fit this optimiser.
int64_t load_training_state(const std::string& path, TransferNet& net, torch::optim::Optimizer& optimizer);

// ---------------------------------------------------------------------------------------------
// Reusing the feature extractor

/// Freezes (trainable false) or unfreezes (true) the feature extractor: sets requires_grad of every
/// parameter of net->extractor() to `trainable`. The head is left as it is.
void set_extractor_trainable(TransferNet& net, bool trainable);

/// Replaces the head with a fresh, untrained one for `classes` classes: a new fc1 (1568 -> 64) and a
/// new fc2 (64 -> classes), registered under the same names (replace_module) and moved to the
/// device of the net's parameters. The feature extractor is untouched. Throws
/// std::invalid_argument when classes < 1.
void replace_head(TransferNet& net, int64_t classes);

/// The parameter groups of a fine-tuning optimiser, for torch::optim::Adam(groups, AdamOptions(...)):
/// first the head's parameters with learning rate head_lr, then, unless the extractor is frozen
/// (its parameters do not require grad), the extractor's parameters with extractor_lr. A frozen
/// extractor gets no group at all, so the optimiser cannot touch it. Each group's options are
/// AdamOptions with that learning rate (the other settings default). Build the optimiser with
/// AdamOptions(head_lr) as its defaults: LibTorch 2.x (not 1.13) replaces a group's option that
/// equals AdamOptions' own default (lr 1e-3) by the optimiser's default.
std::vector<torch::optim::OptimizerParamGroup> parameter_groups(TransferNet& net, double head_lr, double extractor_lr);

/// One optimiser step on one batch, like exercise 10's train_step, with one difference: the net is
/// in training mode except for the BatchNorm layers of a frozen extractor (parameters not requiring
/// grad), which stay in evaluation mode, so that their running statistics do not drift to the new
/// data. Zeroes the gradients, computes the cross-entropy of net(images) against labels (int64
/// [B]), back-propagates, steps, returns the loss.
double train_step(TransferNet& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                  const torch::Tensor& labels);

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules and early stopping

/// torch::optim::StepLR's learning rate after `epoch` epochs (epoch 0 is the start):
/// base_lr * gamma^floor(epoch / step_size). Throws std::invalid_argument when step_size < 1 or
/// epoch < 0.
double step_lr(double base_lr, int64_t epoch, int64_t step_size, double gamma);

/// Cosine annealing from base_lr at epoch 0 down to min_lr at epoch total_epochs:
/// min_lr + (base_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)) / 2, and min_lr after
/// total_epochs. Throws std::invalid_argument when total_epochs < 1 or epoch < 0.
double cosine_lr(double base_lr, double min_lr, int64_t epoch, int64_t total_epochs);

/// Multiplies the learning rate of every parameter group of `optimizer` by `factor`, whatever its
/// options type (Adam, SGD, ...): a schedule applied to groups that have different rates keeps
/// their ratio. Throws std::invalid_argument when factor is negative.
void scale_learning_rates(torch::optim::Optimizer& optimizer, double factor);

/// Stops training once the validation loss has not improved for `patience` epochs in a row. A loss
/// improves when it is below the best so far by more than min_delta.
class EarlyStopping {
 public:
  /// Throws std::invalid_argument when patience < 1 or min_delta < 0.
  explicit EarlyStopping(int64_t patience, double min_delta = 0.0);

  /// Records the validation loss of the epoch just finished (epochs count from 0 with the first
  /// call). Returns true when training should stop: `patience` epochs in a row without improvement.
  /// An improvement resets that count and becomes the best; a NaN loss never improves.
  bool update(double validation_loss);

  /// The lowest validation loss recorded (+infinity before the first update()).
  double best_loss() const { return best_loss_; }
  /// The epoch of best_loss(), -1 before the first improvement: the checkpoint to keep.
  int64_t best_epoch() const { return best_epoch_; }
  /// How many losses update() has recorded.
  int64_t epochs() const { return epochs_; }
  /// The epochs in a row, up to the latest, without improvement.
  int64_t bad_epochs() const { return bad_epochs_; }
  int64_t patience() const { return patience_; }
  double min_delta() const { return min_delta_; }

 private:
  int64_t patience_;
  double min_delta_;
  double best_loss_ = std::numeric_limits<double>::infinity();
  int64_t best_epoch_ = -1;
  int64_t epochs_ = 0;
  int64_t bad_epochs_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A small labelled subset

/// Indices into a labelled set, int64 [N] on the CPU.
struct SubsetSplit {
  torch::Tensor train;       ///< train_per_class indices of each class
  torch::Tensor validation;  ///< validation_per_class further indices of each class
};

/// A stratified, seeded subset of `labels` (int64 [N], classes 0..classes-1, any device): for each
/// class, train_per_class indices for training and validation_per_class other indices for
/// validation, drawn at random with a torch::Generator seeded with `seed` (the same seed, the same
/// split; the global generator is left alone). The two sets are disjoint; each is sorted
/// ascending. Throws std::invalid_argument when a count is negative or a class has fewer than
/// train_per_class + validation_per_class samples (naming the class and both numbers).
SubsetSplit stratified_split(const torch::Tensor& labels, int64_t classes, int64_t train_per_class,
                             int64_t validation_per_class, uint64_t seed);
