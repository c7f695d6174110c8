// Exercise 14 — Attention and a small transformer: the reference solution.
#include "attention.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace F = torch::nn::functional;

torch::Tensor stable_softmax(const torch::Tensor& logits, int64_t dim) {
  // softmax(x) = softmax(x - c) for any c; with c = max the largest exponent is exp(0) = 1.
  const auto shifted = logits - std::get<0>(logits.max(dim, /*keepdim=*/true));
  const auto e = shifted.exp();
  return e / e.sum(dim, /*keepdim=*/true);
}

torch::Tensor causal_mask(int64_t length, torch::Device device) {
  // Strictly above the diagonal: keys after the query.
  return torch::ones({length, length}, torch::TensorOptions().dtype(torch::kBool).device(device)).triu(/*diagonal=*/1);
}

torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t max_length) {
  if (lengths.numel() > 0 && !lengths.is_meta()) {
    const auto low = lengths.min().item<int64_t>(), high = lengths.max().item<int64_t>();
    if (low < 0 || high > max_length) {
      throw std::invalid_argument("padding_mask: a length of " + std::to_string(low < 0 ? low : high) +
                                  " is outside [0, " + std::to_string(max_length) +
                                  "]: pad to at least the longest sequence");
    }
  }
  // Position j is padding in sequence b when j >= lengths[b]: broadcast [1, L] against [B, 1].
  const auto positions = torch::arange(max_length, lengths.options().dtype(torch::kInt64));
  return positions.unsqueeze(0) >= lengths.unsqueeze(1);
}

AttentionResult dot_product_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                      const torch::Tensor& mask) {
  // Dividing by sqrt(D) keeps the logits' spread independent of the width.
  auto logits = query.matmul(key.transpose(-2, -1)) / std::sqrt(static_cast<double>(query.size(-1)));
  if (mask.defined()) logits = logits.masked_fill(mask, -std::numeric_limits<double>::infinity());
  const auto weights = stable_softmax(logits, -1);
  return {weights.matmul(value), weights};
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  const int64_t width = x.size(-1);
  if (heads < 1 || width % heads != 0) {
    throw std::invalid_argument("split_heads: " + std::to_string(width) + " features do not split into " +
                                std::to_string(heads) + " heads: choose a width that is a multiple of the heads");
  }
  // [B, L, E] -> [B, L, H, D] -> [B, H, L, D]
  return x.view({x.size(0), x.size(1), heads, width / heads}).transpose(1, 2);
}

torch::Tensor merge_heads(const torch::Tensor& x) {
  // [B, H, L, D] -> [B, L, H, D] -> [B, L, H * D]; transpose made it non-contiguous, reshape copies.
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t dim, int64_t heads) : heads(heads) {
  if (heads < 1 || dim % heads != 0) {
    throw std::invalid_argument("MultiHeadAttention: dim " + std::to_string(dim) + " is not a multiple of " +
                                std::to_string(heads) + " heads");
  }
  q_proj = register_module("q_proj", torch::nn::Linear(dim, dim));
  k_proj = register_module("k_proj", torch::nn::Linear(dim, dim));
  v_proj = register_module("v_proj", torch::nn::Linear(dim, dim));
  out_proj = register_module("out_proj", torch::nn::Linear(dim, dim));
}

AttentionResult MultiHeadAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                const torch::Tensor& value, const torch::Tensor& padding,
                                                const torch::Tensor& mask) {
  const auto q = split_heads(q_proj->forward(query), heads);
  const auto k = split_heads(k_proj->forward(key), heads);
  const auto v = split_heads(v_proj->forward(value), heads);
  // One mask for [B, H, Lq, Lk]: padding blocks a key for every head and query.
  torch::Tensor blocked = mask;
  if (padding.defined()) {
    const auto keys = padding.view({padding.size(0), 1, 1, padding.size(1)});
    blocked = blocked.defined() ? (keys | blocked) : keys;
  }
  const auto attended = dot_product_attention(q, k, v, blocked);
  return {out_proj->forward(merge_heads(attended.output)), attended.weights};
}

torch::Tensor sinusoidal_positions(int64_t length, int64_t dim, torch::Device device) {
  if (dim < 2 || dim % 2 != 0 || length < 0) {
    throw std::invalid_argument("sinusoidal_positions: dim must be even and positive (got " + std::to_string(dim) +
                                ") and length not negative (got " + std::to_string(length) + ")");
  }
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // Computed in float64 so that the angles of late positions keep their digits.
  const auto pos = torch::arange(length, options.dtype(torch::kFloat64)).unsqueeze(1);
  const auto frequencies = torch::pow(10000.0, -torch::arange(0, dim, 2, options.dtype(torch::kFloat64)) / dim);
  const auto angles = pos * frequencies;  // [L, dim / 2]
  // Interleave: sin in the even columns, cos in the odd ones.
  return torch::stack({angles.sin(), angles.cos()}, /*dim=*/2).view({length, dim}).to(torch::kFloat32);
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  const auto mean = x.mean(-1, /*keepdim=*/true);
  const auto var = (x - mean).pow(2).mean(-1, /*keepdim=*/true);  // biased, as LayerNorm uses
  return (x - mean) / torch::sqrt(var + eps) * weight + bias;
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads, int64_t feedforward, double dropout)
    : self_attn(register_module("self_attn", MultiHeadAttention(dim, heads))),
      linear1(register_module("linear1", torch::nn::Linear(dim, feedforward))),
      linear2(register_module("linear2", torch::nn::Linear(feedforward, dim))),
      norm1(register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
      norm2(register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
      dropout(register_module("dropout", torch::nn::Dropout(dropout))) {}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& padding,
                                            const torch::Tensor& mask) {
  const auto attended = self_attn->forward(x, x, x, padding, mask);
  attention_weights = attended.weights.detach();
  // Residual connections: each sub-layer adds to its input, then the sum is normalised.
  const auto h = norm1->forward(x + dropout->forward(attended.output));
  const auto ff = linear2->forward(dropout->forward(torch::relu(linear1->forward(h))));
  return norm2->forward(h + dropout->forward(ff));
}

TransformerLmImpl::TransformerLmImpl(const TransformerConfig& config)
    : config(config),
      embedding(register_module("embedding", torch::nn::Embedding(config.vocabulary, config.dim))),
      blocks(register_module("blocks", torch::nn::ModuleList())),
      head(register_module("head", torch::nn::Linear(config.dim, config.vocabulary))) {
  for (int64_t i = 0; i < config.layers; ++i) {
    blocks->push_back(TransformerBlock(config.dim, config.heads, config.feedforward, config.dropout));
  }
  // A buffer, not a parameter: it moves with the model but is not trained.
  positions = register_buffer("positions", sinusoidal_positions(config.max_length, config.dim));
}

torch::Tensor TransformerLmImpl::forward(const torch::Tensor& tokens, const torch::Tensor& padding) {
  const int64_t length = tokens.size(1);
  if (length > config.max_length) {
    throw std::invalid_argument("TransformerLm: " + std::to_string(length) + " tokens, but the model has positions for " +
                                std::to_string(config.max_length) + ": raise max_length or shorten the input");
  }
  // sqrt(dim) brings the embeddings to the scale of the positions' values (about 1).
  auto x = embedding->forward(tokens) * std::sqrt(static_cast<double>(config.dim)) + positions.slice(0, 0, length);
  const auto mask = causal_mask(length, tokens.device());
  for (const auto& block : *blocks) x = block->as<TransformerBlockImpl>()->forward(x, padding, mask);
  return head->forward(x);
}

double train_step(TransformerLm& model, torch::optim::Optimizer& optimizer, const torch::Tensor& tokens,
                  const torch::Tensor& targets, const torch::Tensor& padding) {
  model->train();
  optimizer.zero_grad();
  const auto logits = model->forward(tokens, padding);
  // One row per position; kIgnore rows (the input digits, the padding) add nothing.
  const auto loss = F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}),
                                     F::CrossEntropyFuncOptions().ignore_index(kIgnore));
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

torch::Tensor greedy_decode(TransformerLm& model, const torch::Tensor& prompt, int64_t steps) {
  model->eval();
  torch::NoGradGuard no_grad;
  auto sequence = prompt;
  for (int64_t step = 0; step < steps; ++step) {
    // The last position's logits predict the next token; the most likely one is appended.
    const auto next = model->forward(sequence).select(1, -1).argmax(-1, /*keepdim=*/true);
    sequence = torch::cat({sequence, next}, /*dim=*/1);
  }
  return sequence.slice(1, prompt.size(1));
}
