// Exercise 14 — Attention and a small transformer. Replace each TODO with your code; README.md
// explains.
#include "attention.h"

#include "workbook/todo.h"

torch::Tensor stable_softmax(const torch::Tensor& logits, int64_t dim) {
  // TODO: subtract the largest logit along dim (keepdim), exponentiate, divide by the sum along dim.
  return workbook::todo("softmax that subtracts the maximum first");
}

torch::Tensor causal_mask(int64_t length, torch::Device device) {
  // TODO: a bool [length, length] tensor on device, true strictly above the diagonal (key after query).
  return workbook::todo("mask the keys after each query");
}

torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t max_length) {
  // TODO: throw std::invalid_argument when a length is below 0 or above max_length.
  // TODO: compare the positions 0 .. max_length - 1 with each length: true where position >= length.
  return workbook::todo("mask the positions past each sequence's length");
}

AttentionResult dot_product_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                      const torch::Tensor& mask) {
  // TODO: logits = query times key transposed (last two dimensions) divided by sqrt(D).
  // TODO: where the mask is true set the logits to -infinity; weights = stable_softmax over the keys.
  // TODO: return {weights times value, weights}.
  return workbook::todo("softmax(q kT / sqrt(D)) v with a mask");
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  // TODO: throw std::invalid_argument unless the last dimension is a multiple of heads.
  // TODO: view [B, L, E] as [B, L, H, E / H] and swap the positions and the heads.
  return workbook::todo("split the features into heads");
}

torch::Tensor merge_heads(const torch::Tensor& x) {
  // TODO: swap the heads and the positions back and reshape [B, L, H, D] to [B, L, H * D].
  return workbook::todo("merge the heads back into one feature vector");
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t dim, int64_t heads) : heads(heads) {
  // TODO: throw std::invalid_argument unless dim is a multiple of heads.
  // TODO: create and register q_proj, k_proj, v_proj and out_proj, each torch::nn::Linear(dim, dim).
  workbook::todo("register the four projections");
}

AttentionResult MultiHeadAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                const torch::Tensor& value, const torch::Tensor& padding,
                                                const torch::Tensor& mask) {
  // TODO: project query, key and value, and split each into the heads.
  // TODO: combine the masks: padding viewed as [B, 1, 1, Lk], or-ed with mask when both are given.
  // TODO: dot_product_attention in all heads at once; merge the heads, apply out_proj.
  // TODO: return {that output, the attention weights [B, H, Lq, Lk]}.
  return workbook::todo("multi-head attention: project, split, attend, merge, project");
}

torch::Tensor sinusoidal_positions(int64_t length, int64_t dim, torch::Device device) {
  // TODO: throw std::invalid_argument for an odd or non-positive dim or a negative length.
  // TODO: angle[pos, i] = pos / 10000^(2i / dim) for i < dim / 2; sin in column 2i, cos in 2i + 1.
  // TODO: return float32 [length, dim] on device.
  return workbook::todo("sinusoidal positional encodings");
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  // TODO: mean and biased variance along the last dimension (keepdim); normalise, scale, shift.
  return workbook::todo("normalise along the last dimension");
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads, int64_t feedforward, double dropout) {
  // TODO: create and register self_attn, linear1, linear2, norm1, norm2 and dropout.
  workbook::todo("register the block's layers");
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& padding,
                                            const torch::Tensor& mask) {
  // TODO: self-attention of x on itself with padding and mask; keep its weights, detached.
  // TODO: h = norm1(x + dropout(attention output)).
  // TODO: return norm2(h + dropout(linear2(dropout(relu(linear1(h)))))).
  return workbook::todo("attention and feed-forward, each with a residual connection and layer norm");
}

TransformerLmImpl::TransformerLmImpl(const TransformerConfig& config) : config(config) {
  // TODO: register embedding, blocks (a ModuleList of config.layers TransformerBlocks) and head.
  // TODO: register the buffer "positions" = sinusoidal_positions(config.max_length, config.dim).
  workbook::todo("register the embedding, the blocks, the head and the positions");
}

torch::Tensor TransformerLmImpl::forward(const torch::Tensor& tokens, const torch::Tensor& padding) {
  // TODO: throw std::invalid_argument when there are more tokens than config.max_length.
  // TODO: embed, multiply by sqrt(dim), add the first T rows of positions.
  // TODO: run every block with padding and causal_mask(T); return head's logits.
  return workbook::todo("embed, add positions, run the blocks, predict the next tokens");
}

double train_step(TransformerLm& model, torch::optim::Optimizer& optimizer, const torch::Tensor& tokens,
                  const torch::Tensor& targets, const torch::Tensor& padding) {
  // TODO: model->train(), zero the gradients, cross-entropy of the logits [B * T, V] against the
  //       targets [B * T] ignoring kIgnore, backward, optimizer.step(); return the loss.
  return workbook::todo("train on one batch of sequences and return its loss");
}

torch::Tensor greedy_decode(TransformerLm& model, const torch::Tensor& prompt, int64_t steps) {
  // TODO: model->eval() and a torch::NoGradGuard; steps times append the argmax of the last
  //       position's logits to the sequence; return the appended tokens only.
  return workbook::todo("append the most likely token, one at a time");
}
