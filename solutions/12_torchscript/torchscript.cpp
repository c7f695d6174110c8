// Exercise 12 — reference solution.
#include "torchscript.h"

#include <fstream>
#include <sstream>
#include <string>

namespace {

// What went wrong, in one line. A c10::Error's text is the message, then a C++ backtrace; an error
// raised inside TorchScript code comes wrapped in the interpreter's traceback, the Python-style
// "RuntimeError: ..." line last.
std::string one_line(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  const std::string text = c10_error ? c10_error->what_without_backtrace() : error.what();
  const auto raised = text.rfind("RuntimeError: ");
  const auto start = raised == std::string::npos ? 0 : raised + 14;
  return text.substr(start, text.find('\n', start) - start);
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();  // IntArrayRef prints as "[2, 784]"
  return out.str();
}

// The first bytes of the file: a zip archive (TorchScript, or torch.save since PyTorch 1.6) starts
// with "PK", a legacy torch.save pickle with the pickle PROTO opcode 0x80.
std::string leading_bytes(const std::filesystem::path& file, std::size_t count) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes(count, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(count));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

// The device of the model's first parameter (or buffer); nullopt for a model that has none.
c10::optional<torch::Device> model_device(const torch::jit::Module& model) {
  for (const auto& p : model.parameters()) return p.device();
  for (const auto& b : model.buffers()) return b.device();
  return c10::nullopt;
}

}  // namespace

torch::jit::Module load_model(const std::filesystem::path& file, torch::Device device) {
  const std::string name = file.string();
  // torch::jit::load's own message for a missing file does not say which path it looked in.
  if (!std::filesystem::is_regular_file(file)) {
    throw ModelError(name + " does not exist: check the path, or export the model again with "
                            "data/torchscript/export_models.py (data/torchscript/README.md)");
  }
  const std::string fix = " In Python, export the model with torch.jit.script(model) (or torch.jit.trace) "
                          "and torch.jit.save(scripted, path), then load that file.";
  if (leading_bytes(file, 1) == "\x80") {
    throw ModelError(name + " is a pickle written by torch.save (the format before PyTorch 1.6), not a "
                            "TorchScript archive: C++ cannot rebuild Python classes from it." + fix);
  }
  torch::jit::Module model;
  try {
    model = torch::jit::load(name, device);
  } catch (const c10::Error& error) {
    const std::string why = one_line(error);
    // A torch.save zip has data.pkl but none of the code and constants TorchScript stores.
    if (why.find("constants.pkl") != std::string::npos) {
      throw ModelError(name + " was written by torch.save (a state_dict or a pickled model), not "
                              "torch.jit.save: it holds tensors but no TorchScript code." + fix);
    }
    if (leading_bytes(file, 2) == "PK") {
      throw ModelError(name + " is truncated or corrupt (" + why +
                       "): copy or download it again, or export it again.");
    }
    throw ModelError(name + " is not a TorchScript archive (" + why + ")." + fix);
  }
  // A model saved from a training loop comes back in training mode: dropout and BatchNorm would
  // behave as in training.
  model.eval();
  return model;
}

torch::Tensor infer(torch::jit::Module& model, const torch::Tensor& input) {
  const auto device = model_device(model);
  if (device && *device != input.device()) {
    throw ModelError("the input is on " + input.device().str() + " but the model is on " + device->str() +
                     ": move the input with .to(device) (or load the model onto the input's device)");
  }
  c10::InferenceMode inference;  // no autograd record: faster, less memory
  torch::jit::IValue output;
  try {
    output = model.forward({input});  // the arguments are a std::vector<IValue>
  } catch (const std::exception& error) {  // c10::Error, or the interpreter's own (1.13)
    throw ModelError("the model rejected an input of shape " + shape_of(input) + " (" +
                     c10::toString(input.scalar_type()) + "): " + one_line(error));
  }
  if (!output.isTensor()) {
    throw ModelError("forward returned a " + output.tagKind() +
                     ", not a tensor: unpack it with unpack_tuple or unpack_dict");
  }
  return output.toTensor();
}

std::vector<torch::Tensor> unpack_tuple(const torch::jit::IValue& output) {
  if (!output.isTuple()) throw ModelError("expected a tuple but the model returned a " + output.tagKind());
  std::vector<torch::Tensor> tensors;
  for (const auto& element : output.toTupleRef().elements()) {
    if (!element.isTensor()) throw ModelError("a tuple element is a " + element.tagKind() + ", not a tensor");
    tensors.push_back(element.toTensor());
  }
  return tensors;
}

std::map<std::string, torch::Tensor> unpack_dict(const torch::jit::IValue& output) {
  if (!output.isGenericDict()) throw ModelError("expected a dict but the model returned a " + output.tagKind());
  std::map<std::string, torch::Tensor> entries;
  for (const auto& entry : output.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw ModelError("expected Dict[str, Tensor] but an entry is " + entry.key().tagKind() + " -> " +
                       entry.value().tagKind());
    }
    entries.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }
  return entries;
}

torch::Tensor call_method(torch::jit::Module& model, const std::string& method, const torch::Tensor& input) {
  const auto found = model.find_method(method);
  if (!found) {
    std::string names;
    for (const auto& m : model.get_methods()) names += (names.empty() ? "" : ", ") + m.name();
    throw ModelError("the model has no method '" + method + "' (it has: " + names +
                     "); in Python, mark a method other than forward with @torch.jit.export");
  }
  c10::InferenceMode inference;
  return (*found)({input}).toTensor();
}

std::map<std::string, torch::Tensor> named_tensors(const torch::jit::Module& model) {
  std::map<std::string, torch::Tensor> tensors;
  // Both are recursive by default and name submodules' tensors "fc1.weight".
  for (const auto& p : model.named_parameters()) tensors.emplace(p.name, p.value);
  for (const auto& b : model.named_buffers()) tensors.emplace(b.name, b.value);
  return tensors;
}

double float_attribute(const torch::jit::Module& model, const std::string& name) {
  if (!model.hasattr(name)) throw ModelError("the model has no attribute '" + name + "'");
  const auto value = model.attr(name);
  if (!value.isDouble()) throw ModelError("attribute '" + name + "' is a " + value.tagKind() + ", not a float");
  return value.toDouble();
}

Classified classify_requests(torch::jit::Module& model, const std::vector<torch::Tensor>& requests,
                             int64_t max_batch) {
  if (max_batch < 1) throw std::invalid_argument("max_batch must be at least 1, got " + std::to_string(max_batch));
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].sizes() != torch::IntArrayRef{1, 28, 28}) {
      throw ModelError("request " + std::to_string(i) + " has shape " + shape_of(requests[i]) +
                       ", expected [1, 28, 28] (one image)");
    }
  }
  Classified result;
  const auto n = static_cast<int64_t>(requests.size());
  for (int64_t start = 0; start < n; start += max_batch) {
    const auto end = std::min(n, start + max_batch);
    // torch::stack adds the batch dimension: b tensors [1, 28, 28] -> [b, 1, 28, 28].
    const std::vector<torch::Tensor> batch(requests.begin() + start, requests.begin() + end);
    const auto digits = infer(model, torch::stack(batch)).argmax(1).cpu();
    ++result.forward_calls;
    for (int64_t i = 0; i < digits.size(0); ++i) result.digits.push_back(digits[i].item<int64_t>());
  }
  return result;
}

int64_t count_correct(torch::jit::Module& model, const torch::Tensor& images, const torch::Tensor& labels,
                      int64_t batch_size) {
  model.eval();
  const auto device = model_device(model).value_or(images.device());
  int64_t correct = 0;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const auto end = std::min(images.size(0), start + batch_size);
    const auto logits = infer(model, images.slice(0, start, end).to(device));
    correct += logits.argmax(1).eq(labels.slice(0, start, end).to(device)).sum().item<int64_t>();
  }
  return correct;
}

void save_with_temperature(torch::jit::Module& model, double temperature, const std::filesystem::path& file) {
  if (!(temperature > 0)) throw std::invalid_argument("temperature must be positive, got " + std::to_string(temperature));
  model.setattr("temperature", temperature);  // the IValue holds a double, as Python's float
  model.save(file.string());
}
