// Exercise 12 — Running a Python-trained model in C++ (TorchScript). The contract: do not edit
// this file, edit torchscript.cpp. Every function below has a test in tests/12_torchscript_test.cpp
// that turns green once it is done; program.cpp then classifies the 10,000 MNIST test digits with
// the CNN that data/torchscript/export_models.py trained in Python.
#pragma once

// torch/script.h, not only torch/torch.h: it declares torch::jit::load and torch::jit::Module
// (without it: "'load' is not a member of 'torch::jit'").
#include <torch/script.h>
#include <torch/torch.h>

#include "workbook/mnist.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

/// A model file that cannot be loaded, or an input or output that the model cannot use. what()
/// names the file or the tensor, says what is wrong, and how to fix it, in a learner's words
/// (never LibTorch's C++ backtrace).
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The models that data/torchscript/export_models.py wrote with PyTorch 1.13 (README.md there):
///   tiny_mlp_traced.pt      traced 4 -> 8 -> 3 MLP: fc1 (Linear 4->8), ReLU, fc2 (Linear 8->3)
///   gate_traced.pt          traced `x * 2 if x.sum() > 0 else -x`, traced on a positive example
///   gate_scripted.pt        the same module, scripted
///   heads_scripted.pt       forward(x [B, 4]) -> (logits [B, 3], softmax(logits)), and
///                           as_dict(x) -> {"logits": ..., "probabilities": ...}
///   mnist_cnn_scripted.pt   the digit CNN, saved in training mode: forward(pixels [B, 1, 28, 28]
///                           in [0, 1]) -> logits [B, 10]; predict(x) -> int64 [B] digits;
///                           probabilities(x) -> softmax(logits / temperature); float attributes
///                           mean, std, temperature
///   mnist_cnn_state_dict.pth  the CNN's state_dict written by torch.save: NOT TorchScript
///   mnist_cnn.json          what Python measured: test_correct of test_size, first_1000_correct
/// Their folder is `<data root>/torchscript` (the data root of workbook/mnist.h).
inline std::filesystem::path model_file(const std::string& name) {
  return workbook::mnist::data_root() / "torchscript" / name;
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Loads the TorchScript archive `file` with its parameters and buffers on `device`, and puts it
/// in evaluation mode (a model saved straight from a training loop is still in training mode:
/// dropout would drop and BatchNorm would use each batch's statistics). Throws ModelError, whose
/// message contains the file's path and
///   - "does not exist" when there is no such file;
///   - "torch.save" and "torch.jit.save" when the file is a pickle written by torch.save (a
///     state_dict or a whole pickled model; either the zip format of PyTorch >= 1.6 or the older
///     format), not a TorchScript archive;
///   - "truncated or corrupt" when it is a zip archive that cannot be read to the end;
///   - "not a TorchScript archive" for any other file LibTorch rejects.
torch::jit::Module load_model(const std::filesystem::path& file, torch::Device device = torch::kCPU);

// ---------------------------------------------------------------------------------------------
// Inputs and outputs

/// model.forward(input) for a model whose forward takes one tensor and returns one tensor, run
/// under c10::InferenceMode (no autograd record; the result is an inference tensor). Throws
/// ModelError
///   - naming both devices (e.g. "meta" and "cpu") when the input is not on the device of the
///     model's parameters (check that before calling forward; a model without parameters accepts
///     any device);
///   - containing the input's shape as "[2, 784]" and the first line of LibTorch's message when
///     forward rejects the input;
///   - when forward returns something other than a tensor.
torch::Tensor infer(torch::jit::Module& model, const torch::Tensor& input);

/// The elements of a tuple returned by a TorchScript method, in order. Throws ModelError when
/// `output` is not a tuple or one of its elements is not a tensor.
std::vector<torch::Tensor> unpack_tuple(const torch::jit::IValue& output);

/// The entries of a Dict[str, Tensor] returned by a TorchScript method. Throws ModelError when
/// `output` is not a dict, or a key is not a string or a value not a tensor.
std::map<std::string, torch::Tensor> unpack_dict(const torch::jit::IValue& output);

/// Calls the method `method` of `model` (one defined with @torch.jit.export, such as the CNN's
/// "predict") on `input` under c10::InferenceMode and returns its tensor. Throws ModelError
/// naming the method when the model has no such method.
torch::Tensor call_method(torch::jit::Module& model, const std::string& method, const torch::Tensor& input);

// ---------------------------------------------------------------------------------------------
// What is inside

/// Every parameter and buffer of `model` and its submodules by its dotted name ("fc1.weight",
/// "bn1.running_mean"), the names PyTorch's state_dict() uses.
std::map<std::string, torch::Tensor> named_tensors(const torch::jit::Module& model);

/// The float attribute `name` of `model` (a Python `float` field, such as the CNN's "mean").
/// Throws ModelError naming the attribute when the model has none of that name or it is not a
/// float.
double float_attribute(const torch::jit::Module& model, const std::string& name);

// ---------------------------------------------------------------------------------------------
// Serving and saving

/// What classify_requests() returns.
struct Classified {
  std::vector<int64_t> digits;  ///< the predicted digit of each request, in request order
  int64_t forward_calls = 0;    ///< how many times the model ran: ceil(requests / max_batch)
};

/// Classifies single requests, each float32 [1, 28, 28] pixels in [0, 1] on the model's device,
/// by stacking up to `max_batch` of them into one [b, 1, 28, 28] batch per call of forward (one
/// call for 64 images costs far less than 64 calls for one). Throws ModelError naming the index
/// of the first request whose shape is not [1, 28, 28], and std::invalid_argument when max_batch
/// is below 1.
Classified classify_requests(torch::jit::Module& model, const std::vector<torch::Tensor>& requests,
                             int64_t max_batch);

/// How many of `images` (float32 [N, 1, 28, 28] in [0, 1]) the model classifies as their
/// `labels` (int64 [N]), computed `batch_size` images at a time in evaluation mode under
/// c10::InferenceMode, on the model's device wherever the images are.
int64_t count_correct(torch::jit::Module& model, const torch::Tensor& images, const torch::Tensor& labels,
                      int64_t batch_size = 1000);

/// Sets the model's float attribute "temperature" (used by its method probabilities) to
/// `temperature` and saves the whole model as a TorchScript archive to `file`, which
/// torch::jit::load and Python's torch.jit.load then read with the new value. Throws
/// std::invalid_argument when temperature is not positive.
void save_with_temperature(torch::jit::Module& model, double temperature, const std::filesystem::path& file);
