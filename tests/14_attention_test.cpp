// Tests of exercise 14: the stable softmax, the masks, scaled dot-product attention, multi-head
// attention, positional encodings, layer norm, the transformer block, the language model, one
// training step and greedy decoding. All on tiny inputs; the oracles are LibTorch's own
// torch::softmax, torch::nn::MultiheadAttention, torch::layer_norm and
// torch::nn::TransformerEncoderLayer given the same weights, closed forms computed in float64,
// and hand-written constants.
#include "workbook_test.h"
#include "attention.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

constexpr double kInf = std::numeric_limits<double>::infinity();

// LibTorch's C++ MultiheadAttention and TransformerEncoderLayer (1.13 and 2.x) add attn_mask to the
// logits: a bool mask would add 1, not block. They want 0 where allowed and -inf where blocked.
torch::Tensor additive(const torch::Tensor& blocked) {
  if (!blocked.defined()) return blocked;
  return torch::zeros(blocked.sizes(), torch::TensorOptions().device(blocked.device())).masked_fill(blocked, -kInf);
}

// LibTorch's multi-head attention, sequence first ([L, B, E], the only layout LibTorch 1.13's C++
// module has), on batch-first tensors; returns its output [B, Lq, E] and per-head weights.
AttentionResult torch_attention(torch::nn::MultiheadAttention& mha, const torch::Tensor& query,
                                const torch::Tensor& key, const torch::Tensor& value,
                                const torch::Tensor& padding = {}, const torch::Tensor& mask = {}) {
  auto [output, weights] = mha->forward(query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), padding,
                                        /*need_weights=*/true, additive(mask), /*average_attn_weights=*/false);
  return {output.transpose(0, 1), weights};
}

// A one-head torch::nn::MultiheadAttention whose projections are identities: it computes exactly
// softmax(q kᵀ / sqrt(E)) v, the oracle of dot_product_attention.
torch::nn::MultiheadAttention identity_attention(int64_t dim, const torch::Device& device) {
  torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(dim, 1));
  mha->to(device);
  torch::NoGradGuard no_grad;
  const auto eye = torch::eye(dim, torch::TensorOptions().device(device));
  mha->in_proj_weight.copy_(torch::cat({eye, eye, eye}));
  mha->in_proj_bias.zero_();
  mha->out_proj->weight.copy_(eye);
  mha->out_proj->bias.zero_();
  return mha;
}

// Gives `ours` the weights of LibTorch's module (random biases too, so that a missing bias shows).
void copy_attention_weights(MultiHeadAttention& ours, torch::nn::MultiheadAttention& theirs) {
  torch::NoGradGuard no_grad;
  theirs->in_proj_bias.copy_(torch::randn_like(theirs->in_proj_bias) * 0.1);
  theirs->out_proj->bias.copy_(torch::randn_like(theirs->out_proj->bias) * 0.1);
  const auto w = theirs->in_proj_weight.chunk(3);
  const auto b = theirs->in_proj_bias.chunk(3);
  ours->q_proj->weight.copy_(w[0]);
  ours->k_proj->weight.copy_(w[1]);
  ours->v_proj->weight.copy_(w[2]);
  ours->q_proj->bias.copy_(b[0]);
  ours->k_proj->bias.copy_(b[1]);
  ours->v_proj->bias.copy_(b[2]);
  ours->out_proj->weight.copy_(theirs->out_proj->weight);
  ours->out_proj->bias.copy_(theirs->out_proj->bias);
}

// The oracle of dot_product_attention on any leading dimensions, in float64.
AttentionResult closed_form_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      const torch::Tensor& mask = {}) {
  auto logits = q.to(torch::kFloat64).matmul(k.to(torch::kFloat64).transpose(-2, -1)) / std::sqrt(q.size(-1));
  if (mask.defined()) logits = logits.masked_fill(mask, -kInf);
  const auto weights = torch::softmax(logits, -1);
  return {weights.matmul(v.to(torch::kFloat64)).to(q.scalar_type()), weights.to(q.scalar_type())};
}

// Right-padded lengths for a batch of sequences of length `length`.
torch::Tensor right_padding(const std::vector<int64_t>& lengths, int64_t length, const torch::Device& device) {
  const auto positions = torch::arange(length, torch::TensorOptions().dtype(torch::kInt64).device(device));
  return positions.unsqueeze(0) >= torch::tensor(lengths, torch::TensorOptions().device(device)).unsqueeze(1);
}

torch::Tensor upper_triangle(int64_t length, const torch::Device& device) {
  return torch::triu(torch::ones({length, length}, torch::TensorOptions().device(device)), 1).to(torch::kBool);
}

TransformerConfig tiny_config() {
  TransformerConfig config;
  config.max_length = 10;
  config.dim = 16;
  config.heads = 2;
  config.layers = 2;
  config.feedforward = 32;
  return config;
}

class Attention : public workbook::test::DeviceTest {};

// ---------------------------------------------------------------------------------------------
// Softmax and masks

TEST_P(Attention, StableSoftmaxMatchesSoftmaxAlongAnyDim) {
  const auto logits = torch::randn({3, 4, 5}, options()) * 3;
  for (int64_t dim : {0, 1, 2, -1}) {
    EXPECT_TENSOR_CLOSE(stable_softmax(logits, dim), torch::softmax(logits, dim), 1e-5, 1e-7) << "along dim " << dim;
  }
}

TEST_P(Attention, StableSoftmaxSurvivesLogitsThatOverflowExp) {
  // exp(10000) is inf in float32 (and in float64): a naive softmax gives inf / inf = NaN.
  const auto logits = torch::randn({4, 6}, options()) * 5 + 10000;
  const auto naive = torch::exp(logits) / torch::exp(logits).sum(-1, true);
  ASSERT_TRUE(torch::isnan(naive).all().item<bool>()) << "the test's premise: exp overflows";
  const auto result = stable_softmax(logits, -1);
  EXPECT_TRUE(torch::isfinite(result).all().item<bool>())
      << "exp(10000) overflows to inf: subtract each row's largest logit before exponentiating";
  EXPECT_TENSOR_CLOSE(result, torch::softmax(logits.to(torch::kFloat64), -1).to(torch::kFloat32), 1e-4, 1e-6);
  const auto negative = -logits;  // exp(-10000) underflows to 0: 0 / 0
  EXPECT_TENSOR_CLOSE(stable_softmax(negative, -1), torch::softmax(negative.to(torch::kFloat64), -1).to(torch::kFloat32),
                      1e-4, 1e-6)
      << "logits of -10000 must work too";
}

TEST_P(Attention, StableSoftmaxGivesMinusInfinityProbabilityZero) {
  const auto logits = torch::tensor({{1.0, -kInf, 2.0, -kInf}, {-kInf, 0.5, 0.5, 3.0}}, options());
  const auto expected = torch::tensor({{1.0 / (1.0 + std::exp(1.0)), 0.0, std::exp(1.0) / (1.0 + std::exp(1.0)), 0.0},
                                       {0.0, 1.0 / (2.0 + std::exp(2.5)), 1.0 / (2.0 + std::exp(2.5)),
                                        std::exp(2.5) / (2.0 + std::exp(2.5))}},
                                      options());
  EXPECT_TENSOR_CLOSE(stable_softmax(logits, 1), expected, 1e-5, 1e-7) << "exp(-inf) = 0: a masked key gets no weight";
}

TEST_P(Attention, CausalMaskBlocksEveryKeyAfterItsQuery) {
  const auto expected = torch::tensor({0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0}, options(torch::kInt64))
                            .view({4, 4})
                            .to(torch::kBool);
  EXPECT_TENSOR_EQ(causal_mask(4, device()), expected) << "row = query, column = key; true where key > query";
  EXPECT_TENSOR_EQ(causal_mask(7, device()), upper_triangle(7, device()));
  EXPECT_TENSOR_EQ(causal_mask(1, device()), torch::zeros({1, 1}, options(torch::kBool)));
  EXPECT_TENSOR_EQ(causal_mask(3, workbook::test::kMeta), torch::empty({3, 3}, torch::dtype(torch::kBool).device(torch::kMeta)))
      << workbook::test::kMetaNote;
}

TEST_P(Attention, PaddingMaskMarksThePositionsPastEachLength) {
  const auto lengths = torch::tensor({3, 5, 0, 1}, options(torch::kInt64));
  const auto expected = torch::tensor({0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1}, options(torch::kInt64))
                            .view({4, 5})
                            .to(torch::kBool);
  EXPECT_TENSOR_EQ(padding_mask(lengths, 5), expected) << "row b is true from position lengths[b] on";
  EXPECT_THROW(padding_mask(torch::tensor({2, 6}, options(torch::kInt64)), 5), std::invalid_argument)
      << "a sequence of 6 does not fit in 5 positions";
  EXPECT_THROW(padding_mask(torch::tensor({-1, 2}, options(torch::kInt64)), 5), std::invalid_argument)
      << "a negative length";
}

// ---------------------------------------------------------------------------------------------
// Scaled dot-product attention

TEST_P(Attention, DotProductAttentionMatchesMultiheadAttentionWithIdentityProjections) {
  auto mha = identity_attention(8, device());
  const auto q = torch::randn({2, 5, 8}, options()), k = torch::randn({2, 6, 8}, options()),
             v = torch::randn({2, 6, 8}, options());
  torch::NoGradGuard no_grad;
  const auto expected = torch_attention(mha, q, k, v);
  ASSERT_RUNS(result, dot_product_attention(q, k, v), "query [B, Lq, D] times key transposed [B, D, Lk]");
  EXPECT_TENSOR_CLOSE(result.output, expected.output, 1e-4, 1e-5) << "output = softmax(q kT / sqrt(D)) v";
  EXPECT_TENSOR_CLOSE(result.weights, expected.weights.squeeze(1), 1e-4, 1e-6) << "weights [B, Lq, Lk]";

  // With a causal mask and a padding mask, both true = blocked, as MultiheadAttention reads them.
  const auto x = torch::randn({3, 6, 8}, options());
  const auto padding = right_padding({6, 4, 2}, 6, device());
  const auto masked = torch_attention(mha, x, x, x, padding, upper_triangle(6, device()));
  const auto blocked = upper_triangle(6, device()).unsqueeze(0) | padding.unsqueeze(1);  // [B, Lq, Lk]
  ASSERT_RUNS(ours, dot_product_attention(x, x, x, blocked), "the mask broadcasts against the [B, Lq, Lk] logits");
  EXPECT_TENSOR_CLOSE(ours.output, masked.output, 1e-4, 1e-5) << "blocked logits become -inf before the softmax";
  EXPECT_TENSOR_CLOSE(ours.weights, masked.weights.squeeze(1), 1e-4, 1e-6);
}

TEST_P(Attention, DotProductAttentionRunsEveryHeadAtOnce) {
  // [B, H, L, D] with a value width other than D and more keys than queries.
  const auto q = torch::randn({2, 3, 4, 6}, options()), k = torch::randn({2, 3, 7, 6}, options()),
             v = torch::randn({2, 3, 7, 5}, options());
  auto mask = torch::rand({2, 1, 4, 7}, options()) < 0.3;
  mask.index_put_({"...", 0}, false);  // every query keeps at least one key
  const auto expected = closed_form_attention(q, k, v, mask);
  ASSERT_RUNS(result, dot_product_attention(q, k, v, mask), "use matmul and transpose(-2, -1): they keep [B, H]");
  EXPECT_SHAPE(result.output, {2, 3, 4, 5});
  EXPECT_SHAPE(result.weights, {2, 3, 4, 7});
  EXPECT_TENSOR_CLOSE(result.output, expected.output, 1e-4, 1e-5) << "scale by 1 / sqrt(6): D is the query's width";
  EXPECT_TENSOR_CLOSE(result.weights, expected.weights, 1e-4, 1e-6);
}

TEST_P(Attention, DotProductAttentionSurvivesLogitsThatOverflowExp) {
  // Integer entries times 64, D = 4: the logits are exact integers in float32, up to about 1e5.
  const auto q = torch::randint(-4, 5, {2, 5, 4}, options()) * 64;
  const auto k = torch::randint(-4, 5, {2, 5, 4}, options()) * 64;
  const auto v = torch::randn({2, 5, 3}, options());
  const auto expected = closed_form_attention(q, k, v);
  const auto result = dot_product_attention(q, k, v);
  EXPECT_TRUE(torch::isfinite(result.output).all().item<bool>()) << "logits of 1e5 overflow exp(): use stable_softmax";
  EXPECT_TENSOR_CLOSE(result.output, expected.output, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(result.weights, expected.weights, 1e-4, 1e-6);
}

TEST_P(Attention, DotProductAttentionAveragesTheAllowedValuesWhenTheQueryIsZero) {
  // q = 0: every logit is 0, so each query averages the values of the keys it may see.
  const auto q = torch::zeros({1, 4, 3}, options());
  const auto k = torch::randn({1, 4, 3}, options());
  const auto v = torch::arange(4, options()).view({1, 4, 1}) * 4;  // values 0, 4, 8, 12
  const auto result = dot_product_attention(q, k, v, upper_triangle(4, device()));
  EXPECT_TENSOR_CLOSE(result.output, torch::tensor({0.0, 2.0, 4.0, 6.0}, options()).view({1, 4, 1}), 1e-5, 1e-6)
      << "query i sees keys 0..i: the running means of 0, 4, 8, 12";
  const auto zero = result.weights.masked_select(upper_triangle(4, device()).unsqueeze(0));
  EXPECT_TENSOR_EQ(zero, torch::zeros({6}, options())) << "a blocked key gets weight exactly 0";
}

// ---------------------------------------------------------------------------------------------
// Multi-head attention

TEST_P(Attention, SplitHeadsCutsTheFeaturesIntoConsecutivePieces) {
  const auto x = torch::randn({2, 5, 12}, options());
  EXPECT_TENSOR_EQ(split_heads(x, 3), torch::stack(x.chunk(3, -1), /*dim=*/1))
      << "head h holds features 4h .. 4h + 3 of every position: [B, H, L, E / H]";
  EXPECT_TENSOR_EQ(split_heads(x, 1), x.unsqueeze(1));
  EXPECT_THROW(split_heads(x, 5), std::invalid_argument) << "12 features do not split into 5 heads";
}

TEST_P(Attention, MergeHeadsPutsTheHeadsSideBySide) {
  const auto x = torch::randn({2, 3, 5, 4}, options());
  const auto merged = merge_heads(x);
  EXPECT_TENSOR_EQ(merged, torch::cat(x.unbind(1), /*dim=*/-1)) << "[B, H, L, D] -> [B, L, H * D], head 0 first";
  EXPECT_TRUE(merged.is_contiguous()) << "return a contiguous tensor (reshape, or contiguous() before view)";
}

TEST_P(Attention, MultiHeadAttentionRegistersFourProjections) {
  MultiHeadAttention attention(12, 3);
  EXPECT_EQ(attention->heads, 3);
  const auto params = attention->named_parameters();
  for (const char* name : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
    for (const std::string part : {".weight", ".bias"}) {
      const auto* found = params.find(name + part);
      ASSERT_NE(found, nullptr) << "no parameter " << name << part << ": register a Linear(dim, dim) named " << name;
      const std::vector<int64_t> shape = part == ".weight" ? std::vector<int64_t>{12, 12} : std::vector<int64_t>{12};
      EXPECT_EQ(found->sizes().vec(), shape) << name << part;
    }
  }
  EXPECT_EQ(params.size(), 8U);
  EXPECT_THROW(MultiHeadAttention(10, 3), std::invalid_argument) << "10 features do not split into 3 heads";
}

TEST_P(Attention, MultiHeadAttentionMatchesTorchMultiheadAttention) {
  torch::nn::MultiheadAttention theirs(torch::nn::MultiheadAttentionOptions(16, 4));
  MultiHeadAttention ours(16, 4);
  theirs->to(device());
  ours->to(device());
  copy_attention_weights(ours, theirs);
  torch::NoGradGuard no_grad;

  // Self-attention with a causal mask and right padding.
  const auto x = torch::randn({3, 6, 16}, options());
  const auto padding = right_padding({6, 3, 1}, 6, device());
  const auto mask = upper_triangle(6, device());
  const auto expected = torch_attention(theirs, x, x, x, padding, mask);
  ASSERT_RUNS(result, ours->forward(x, x, x, padding, mask), "split_heads needs [B, L, E]: the input is batch first");
  EXPECT_SHAPE(result.output, {3, 6, 16});
  EXPECT_SHAPE(result.weights, {3, 4, 6, 6});
  EXPECT_TENSOR_CLOSE(result.weights, expected.weights, 1e-4, 1e-6)
      << "per-head weights: q and k projected, split into 4 heads of 4, scaled by 1 / sqrt(4), both masks applied";
  EXPECT_TENSOR_CLOSE(result.output, expected.output, 1e-4, 1e-5) << "merge the heads, then out_proj";

  // Cross-attention: 4 queries, 7 keys and values, padding only.
  const auto q = torch::randn({2, 4, 16}, options()), kv = torch::randn({2, 7, 16}, options());
  const auto kv_padding = right_padding({7, 5}, 7, device());
  const auto cross = torch_attention(theirs, q, kv, kv, kv_padding);
  ASSERT_RUNS(crossed, ours->forward(q, kv, kv, kv_padding), "key and value may be longer than query");
  EXPECT_TENSOR_CLOSE(crossed.output, cross.output, 1e-4, 1e-5) << "cross-attention with a padding mask only";
  EXPECT_TENSOR_CLOSE(crossed.weights, cross.weights, 1e-4, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Positions, layer norm and the block

TEST_P(Attention, SinusoidalPositionsFollowTheFormula) {
  const int64_t length = 50, dim = 8;
  std::vector<float> expected;
  for (int64_t pos = 0; pos < length; ++pos) {
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double angle = static_cast<double>(pos) / std::pow(10000.0, 2.0 * static_cast<double>(i) / dim);
      expected.push_back(static_cast<float>(std::sin(angle)));
      expected.push_back(static_cast<float>(std::cos(angle)));
    }
  }
  EXPECT_TENSOR_CLOSE(sinusoidal_positions(length, dim, device()), torch::tensor(expected, options()).view({length, dim}),
                      1e-4, 1e-5)
      << "P[pos, 2i] = sin(pos / 10000^(2i / dim)), P[pos, 2i + 1] = cos(the same)";
  EXPECT_TENSOR_EQ(sinusoidal_positions(4, 6, workbook::test::kMeta), torch::empty({4, 6}, torch::device(torch::kMeta)))
      << workbook::test::kMetaNote;
  EXPECT_THROW(sinusoidal_positions(4, 7, device()), std::invalid_argument) << "an odd dim has no cos for its last sin";
}

TEST_P(Attention, LayerNormMatchesTorchLayerNorm) {
  const auto x = torch::randn({3, 5, 10}, options()) * 4 + 2;
  const auto weight = torch::randn({10}, options()), bias = torch::randn({10}, options());
  EXPECT_TENSOR_CLOSE(layer_norm(x, weight, bias), torch::layer_norm(x, {10}, weight, bias, 1e-5), 1e-4, 1e-5)
      << "normalise each vector along the last dimension with the biased variance";
  EXPECT_TENSOR_CLOSE(layer_norm(x, weight, bias, 0.5), torch::layer_norm(x, {10}, weight, bias, 0.5), 1e-4, 1e-5)
      << "eps goes inside the square root";
}

TEST_P(Attention, TransformerBlockRegistersItsLayers) {
  TransformerBlock block(16, 4, 40, 0.25);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"self_attn.q_proj.weight", {16, 16}}, {"self_attn.out_proj.bias", {16}}, {"linear1.weight", {40, 16}},
      {"linear1.bias", {40}}, {"linear2.weight", {16, 40}}, {"norm1.weight", {16}}, {"norm2.bias", {16}}};
  const auto params = block->named_parameters();
  for (const auto& [name, shape] : expected) {
    const auto* found = params.find(name);
    ASSERT_NE(found, nullptr) << "no parameter named " << name << ": register each layer under its name";
    EXPECT_EQ(found->sizes().vec(), shape) << name;
  }
  EXPECT_EQ(params.size(), 8U + 4U + 4U) << "self_attn 8, linear1 and linear2 4, norm1 and norm2 4";
  ASSERT_NE(block->named_children().find("dropout"), nullptr) << "register the dropout layer";
  EXPECT_DOUBLE_EQ(block->dropout->options.p(), 0.25);
}

TEST_P(Attention, TransformerBlockMatchesTransformerEncoderLayer) {
  const int64_t dim = 16, heads = 4, feedforward = 24;
  torch::nn::TransformerEncoderLayer theirs(
      torch::nn::TransformerEncoderLayerOptions(dim, heads).dim_feedforward(feedforward).dropout(0.0));
  TransformerBlock ours(dim, heads, feedforward);
  theirs->to(device());
  ours->to(device());
  copy_attention_weights(ours->self_attn, theirs->self_attn);
  {
    torch::NoGradGuard no_grad;
    for (auto* pair : {&theirs->norm1, &theirs->norm2}) {
      (*pair)->weight.copy_(torch::rand_like((*pair)->weight) + 0.5);
      (*pair)->bias.copy_(torch::randn_like((*pair)->bias) * 0.1);
    }
    ours->linear1->weight.copy_(theirs->linear1->weight);
    ours->linear1->bias.copy_(theirs->linear1->bias);
    ours->linear2->weight.copy_(theirs->linear2->weight);
    ours->linear2->bias.copy_(theirs->linear2->bias);
    ours->norm1->weight.copy_(theirs->norm1->weight);
    ours->norm1->bias.copy_(theirs->norm1->bias);
    ours->norm2->weight.copy_(theirs->norm2->weight);
    ours->norm2->bias.copy_(theirs->norm2->bias);
  }
  theirs->eval();
  ours->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 5, dim}, options());
  const auto padding = right_padding({5, 3}, 5, device());
  const auto mask = upper_triangle(5, device());
  // TransformerEncoderLayer is sequence first: [L, B, E].
  const auto expected = theirs->forward(x.transpose(0, 1), additive(mask), padding).transpose(0, 1);
  ASSERT_RUNS(result, ours->forward(x, padding, mask), "self-attention of x on itself, then the feed-forward layers");
  EXPECT_SHAPE(result, {2, 5, 16});
  EXPECT_TENSOR_CLOSE(result, expected, 1e-4, 1e-5)
      << "norm1(x + attention), then norm2(h + linear2(relu(linear1(h)))): normalise after each residual sum";
  const auto weights = torch_attention(theirs->self_attn, x, x, x, padding, mask).weights;
  EXPECT_TENSOR_CLOSE(ours->attention_weights, weights, 1e-4, 1e-6)
      << "keep the self-attention's weights [B, H, L, L] in attention_weights";
  EXPECT_FALSE(ours->attention_weights.requires_grad()) << "detach() the kept weights";
}

// ---------------------------------------------------------------------------------------------
// The language model

TEST_P(Attention, TransformerLmRegistersEmbeddingBlocksHeadAndPositions) {
  TransformerLm model(tiny_config());
  const auto params = model->named_parameters();
  ASSERT_NE(params.find("embedding.weight"), nullptr) << "register the Embedding as \"embedding\"";
  EXPECT_EQ(params["embedding.weight"].sizes().vec(), (std::vector<int64_t>{12, 16}));
  ASSERT_NE(params.find("head.weight"), nullptr) << "register the Linear(dim, vocabulary) as \"head\"";
  EXPECT_EQ(params["head.weight"].sizes().vec(), (std::vector<int64_t>{12, 16}));
  EXPECT_NE(params.find("blocks.1.linear1.weight"), nullptr) << "two TransformerBlocks in a ModuleList named \"blocks\"";
  EXPECT_EQ(params.find("blocks.2.linear1.weight"), nullptr) << "config.layers is 2";
  EXPECT_EQ(params.size(), 1U + 2U * 16U + 2U) << "embedding 1, two blocks of 16, head 2";
  const auto buffers = model->named_buffers();
  ASSERT_NE(buffers.find("positions"), nullptr) << "register the positional encodings as a buffer named \"positions\"";
  EXPECT_TENSOR_CLOSE(buffers["positions"], sinusoidal_positions(10, 16), 1e-6, 1e-7);
}

TEST_P(Attention, TransformerLmForwardEmbedsAddsPositionsAndRunsTheBlocks) {
  TransformerLm model(tiny_config());
  model->to(device());
  model->eval();
  const auto tokens = torch::randint(0, kVocabulary, {3, 7}, options(torch::kInt64));
  const auto padding = right_padding({7, 5, 6}, 7, device());
  torch::NoGradGuard no_grad;
  // The oracle: the same layers composed by hand, with a closed-form causal mask.
  auto x = F::embedding(tokens, model->embedding->weight) * 4.0 + sinusoidal_positions(7, 16, device());
  for (const auto& block : *model->blocks) x = block->as<TransformerBlockImpl>()->forward(x, padding, upper_triangle(7, device()));
  const auto expected = F::linear(x, model->head->weight, model->head->bias);
  ASSERT_RUNS(logits, model->forward(tokens, padding), "embedding, positions, blocks, head");
  EXPECT_SHAPE(logits, {3, 7, 12});
  EXPECT_DEVICE(logits, device());
  EXPECT_TENSOR_CLOSE(logits, expected, 1e-4, 1e-5)
      << "embedding * sqrt(16) + the first 7 positions, every block with the padding and a causal mask, then head";
  EXPECT_THROW(model->forward(torch::zeros({1, 11}, options(torch::kInt64))), std::invalid_argument)
      << "11 tokens, but only 10 positions";
}

TEST_P(Attention, TransformerLmPositionsSeeOnlyThePast) {
  TransformerLm model(tiny_config());
  model->to(device());
  model->eval();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(0, 10, {2, 8}, options(torch::kInt64));
  const auto before = model->forward(tokens);
  tokens.index_put_({Slice(), 5}, kSeparator);  // change position 5 only
  const auto after = model->forward(tokens);
  EXPECT_TENSOR_CLOSE(after.index({Slice(), Slice(0, 5)}), before.index({Slice(), Slice(0, 5)}), 1e-5, 1e-6)
      << "positions 0-4 must not see position 5: pass causal_mask to every block";
  EXPECT_GT((after.index({Slice(), Slice(5)}) - before.index({Slice(), Slice(5)})).abs().max().item<double>(), 1e-4)
      << "positions 5 and later see the change";
}

TEST_P(Attention, TrainStepTakesOneStepOnTheLossOfTheCountedPositions) {
  torch::manual_seed(1);
  TransformerLm model(tiny_config());
  torch::manual_seed(1);
  TransformerLm twin(tiny_config());  // the same weights, trained by hand below
  model->to(device());
  twin->to(device());
  model->eval();
  const auto tokens = torch::randint(0, kVocabulary, {4, 6}, options(torch::kInt64));
  auto targets = torch::randint(0, kVocabulary, {4, 6}, options(torch::kInt64));
  auto counted = torch::rand({4, 6}, options()) < 0.5;
  counted.index_put_({0, 0}, true);
  targets = targets.masked_fill(counted.logical_not(), kIgnore);
  const auto padding = right_padding({6, 6, 4, 5}, 6, device());
  for (auto& p : model->parameters()) p.mutable_grad() = torch::ones_like(p);  // stale gradients to clear
  constexpr double kLr = 0.1;
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(kLr));

  // The oracle: the mean negative log-probability of the counted targets.
  const auto log_p = torch::log_softmax(twin->forward(tokens, padding), -1);
  const auto picked = log_p.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1);
  const auto expected = -picked.masked_select(counted).mean();
  expected.backward();
  const double loss = train_step(model, sgd, tokens, targets, padding);

  EXPECT_NEAR(loss, expected.item<double>(), 1e-5) << "cross-entropy over the positions whose target is not kIgnore";
  EXPECT_TRUE(model->is_training()) << "train_step must call model->train()";
  const auto updated = model->named_parameters();
  for (const auto& item : twin->named_parameters()) {
    EXPECT_TENSOR_CLOSE(updated[item.key()], item.value() - kLr * item.value().grad(), 1e-4, 1e-6)
        << item.key() << " after one step: zero_grad, backward, step, in that order";
  }
}

TEST_P(Attention, GreedyDecodeAppendsTheMostLikelyTokenOneAtATime) {
  TransformerLm model(tiny_config());
  model->to(device());
  model->train();
  const auto prompt = torch::randint(0, kVocabulary, {3, 4}, options(torch::kInt64));
  ASSERT_RUNS(decoded, greedy_decode(model, prompt, 5), "append one argmax at a time, 5 times");
  EXPECT_FALSE(model->is_training()) << "decode in eval(): no dropout";
  EXPECT_SHAPE(decoded, {3, 5});
  EXPECT_DTYPE(decoded, torch::kInt64);
  EXPECT_DEVICE(decoded, device());
  EXPECT_FALSE(decoded.requires_grad());
  // Read back: fed prompt + decoded, the model's argmax at position 3 + s must be decoded token s.
  torch::NoGradGuard no_grad;
  const auto logits = model->forward(torch::cat({prompt, decoded}, 1));
  EXPECT_TENSOR_EQ(logits.index({Slice(), Slice(3, 8)}).argmax(-1), decoded)
      << "each new token is the argmax of the logits at the last position so far";
}

}  // namespace

WORKBOOK_INSTANTIATE_DEVICE_TESTS(Attention);
