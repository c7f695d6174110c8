// Exercise 12 — Running a Python-trained model in C++ (TorchScript). Replace each TODO with your
// code; README.md explains.
#include "torchscript.h"

#include "workbook/todo.h"

torch::jit::Module load_model(const std::filesystem::path& file, torch::Device device) {
  // TODO: throw ModelError("<file> does not exist: ...") when the file is not there.
  // TODO: call torch::jit::load(file.string(), device) inside try; catch c10::Error and throw a
  //       ModelError that names the file and says which case it is (the header lists them).
  // TODO: put the model in evaluation mode and return it.
  return workbook::todo("load a TorchScript model onto a device, in evaluation mode");
}

torch::Tensor infer(torch::jit::Module& model, const torch::Tensor& input) {
  // TODO: compare the input's device with the device of the model's first parameter.
  // TODO: open a c10::InferenceMode guard, call model.forward({input}) and return .toTensor();
  //       turn a c10::Error into a ModelError that shows the input's shape.
  return workbook::todo("run forward on one tensor under InferenceMode");
}

std::vector<torch::Tensor> unpack_tuple(const torch::jit::IValue& output) {
  // TODO: check output.isTuple(), then collect output.toTupleRef().elements() as tensors.
  return workbook::todo("unpack a tuple of tensors");
}

std::map<std::string, torch::Tensor> unpack_dict(const torch::jit::IValue& output) {
  // TODO: check output.isGenericDict(), then copy each entry's key().toStringRef() and
  //       value().toTensor() into a std::map.
  return workbook::todo("unpack a dict of tensors");
}

torch::Tensor call_method(torch::jit::Module& model, const std::string& method, const torch::Tensor& input) {
  // TODO: model.find_method(method) returns an optional Method; throw ModelError if it is empty,
  //       else call it with {input} under c10::InferenceMode and return the tensor.
  return workbook::todo("call a method other than forward");
}

std::map<std::string, torch::Tensor> named_tensors(const torch::jit::Module& model) {
  // TODO: collect model.named_parameters() and model.named_buffers() (each item has .name, .value).
  return workbook::todo("list the parameters and buffers by name");
}

double float_attribute(const torch::jit::Module& model, const std::string& name) {
  // TODO: model.hasattr(name), model.attr(name).isDouble() and .toDouble(); throw ModelError otherwise.
  return workbook::todo("read a float attribute");
}

Classified classify_requests(torch::jit::Module& model, const std::vector<torch::Tensor>& requests,
                             int64_t max_batch) {
  // TODO: check max_batch and every request's shape; then, for each group of up to max_batch
  //       requests, torch::stack them, run infer once, and append argmax(1) of each row.
  return workbook::todo("batch single requests");
}

int64_t count_correct(torch::jit::Module& model, const torch::Tensor& images, const torch::Tensor& labels,
                      int64_t batch_size) {
  // TODO: for each batch_size slice: infer on the model's device, argmax(1), count equals labels.
  return workbook::todo("count the correctly classified images");
}

void save_with_temperature(torch::jit::Module& model, double temperature, const std::filesystem::path& file) {
  // TODO: check temperature > 0, model.setattr("temperature", temperature), model.save(file.string()).
  workbook::todo("set an attribute and save the model");
}
