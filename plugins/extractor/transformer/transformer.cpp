// extractor/transformer: a stack of Transformer encoder layers (Vaswani et al., 2017, "Attention
// Is All You Need", section 3.1), layer for layer torch.nn.TransformerEncoderLayer(batch_first=True)
// inside torch.nn.TransformerEncoder, with the same parameter names:
//
//   h = x W_inᵀ + b_in  when in_dim != dim ("input_proj"), else x                    [B, T, dim]
//   post-norm (norm_first false, the paper's):
//     h = norm1(h + dropout(self_attn(h)));  h = norm2(h + dropout(ffn(h)))
//   pre-norm (norm_first true, Xiong et al. 2020):
//     h = h + dropout(self_attn(norm1(h)));  h = h + dropout(ffn(norm2(h)))
//   ffn(h) = linear2(dropout(act(linear1(h))))       linear1: dim -> ffn_dim, linear2: ffn_dim -> dim
//   then the optional final LayerNorm "norm" (TransformerEncoder's norm=).
// self_attn is nn::MultiHeadAttention with the key padding mask (and the causal mask when causal);
// its attention dropout is `dropout` as in PyTorch. Parameters: input_proj.*, layers.<l>.self_attn.*,
// layers.<l>.{linear1,linear2,norm1,norm2}.*, norm.*. There is no positional encoding: order
// reaches the model through the causal mask only, or through an earlier plugin.
#include "framework/model/families.h"
#include "framework/nn/attention.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

#include <optional>
#include <string>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct TransformerConfig {
  std::optional<std::int64_t> dim;
  int layers = 2;
  int num_heads = 4;
  std::optional<std::int64_t> ffn_dim;
  std::string activation = "relu";
  double dropout = 0.1;
  bool norm_first = false;
  bool final_norm = false;
  bool causal = false;
  double layer_norm_eps = 1e-5;
  template <class V>
  void visit(V& v) {
    v("dim", dim).range(1, 65536).doc("model width; absent: the input width (otherwise a linear input projection)");
    v("layers", layers).range(1, 64).doc("number of encoder layers");
    v("num_heads", num_heads).range(1, 1024).doc("attention heads per layer; must divide dim");
    v("ffn_dim", ffn_dim).range(1, 1 << 20).doc("hidden width of the feed-forward block; absent: 4 * dim");
    v("activation", activation)
        .choices({"relu", "gelu"})
        .doc("activation of the feed-forward block (gelu: exact erf form)");
    v("dropout", dropout)
        .range(0.0, 0.99)
        .doc(
            "dropout on the attention probabilities, the residual branches and inside the feed-forward block (training "
            "only)");
    v("norm_first", norm_first)
        .doc("pre-norm (LayerNorm before each block, PyTorch's norm_first) instead of post-norm");
    v("final_norm", final_norm)
        .doc("a LayerNorm after the last layer (TransformerEncoder's norm=; usual with norm_first)");
    v("causal", causal).doc("hide later steps: step i attends to steps j <= i only");
    v("layer_norm_eps", layer_norm_eps).range(1e-12, 1.0).doc("epsilon of every LayerNorm");
  }
};

namespace {

/// One torch.nn.TransformerEncoderLayer: [B, T, dim] -> [B, T, dim].
class EncoderLayer : public nn::Module {
 public:
  EncoderLayer(const TransformerConfig& c, std::int64_t dim, std::int64_t ffn_dim, core::Rng& rng)
      : norm_first_(c.norm_first), gelu_(c.activation == "gelu"), dropout_(static_cast<float>(c.dropout)), rng_(rng),
        self_attn_(add_child("self_attn", std::make_unique<nn::MultiHeadAttention>(dim, c.num_heads, dropout_, rng))),
        linear1_(add_child("linear1", std::make_unique<nn::Linear>(dim, ffn_dim, true, rng))),
        linear2_(add_child("linear2", std::make_unique<nn::Linear>(ffn_dim, dim, true, rng))),
        norm1_(add_child("norm1", std::make_unique<nn::LayerNorm>(dim, static_cast<float>(c.layer_norm_eps)))),
        norm2_(add_child("norm2", std::make_unique<nn::LayerNorm>(dim, static_cast<float>(c.layer_norm_eps)))) {}

  Var forward(const Var& x, const Tensor& mask, bool causal) {
    if (norm_first_) {
      Var h = x + drop(attend(norm1_.forward(x), mask, causal));
      return h + drop(ffn(norm2_.forward(h)));
    }
    Var h = norm1_.forward(x + drop(attend(x, mask, causal)));
    return norm2_.forward(h + drop(ffn(h)));
  }
  const Tensor& weights() const { return self_attn_.weights(); }

 private:
  Var attend(const Var& x, const Tensor& mask, bool causal) { return self_attn_.forward(x, x, x, mask, causal); }
  Var ffn(const Var& x) {
    return linear2_.forward(drop(linear1_.forward(x, gelu_ ? ops::Activation::gelu : ops::Activation::relu)));
  }
  Var drop(const Var& x) { return dropout_ > 0.f ? ops::dropout(x, dropout_, training(), rng_) : x; }

  bool norm_first_, gelu_;
  float dropout_;
  core::Rng& rng_;
  nn::MultiHeadAttention& self_attn_;
  nn::Linear& linear1_;
  nn::Linear& linear2_;
  nn::LayerNorm& norm1_;
  nn::LayerNorm& norm2_;
};

std::int64_t checked_dim(const TransformerConfig& c, std::int64_t in_dim) {
  const std::int64_t dim = c.dim.value_or(in_dim);
  if (in_dim < 1) throw ShapeError("extractor/transformer", fmt::format("in_dim must be >= 1, got {}", in_dim));
  if (dim % c.num_heads != 0)
    throw config::PathError("num_heads", fmt::format("extractor/transformer: num_heads {} does not divide dim {}{}",
                                                     c.num_heads, dim, c.dim ? "" : " (the input width; set dim)"));
  return dim;
}

}  // namespace

class TransformerExtractor : public model::Extractor {
 public:
  TransformerExtractor(const TransformerConfig& c, const Context& ctx)
      : dim_(checked_dim(c, ctx.in_dim)), causal_(c.causal) {
    if (ctx.in_dim != dim_)
      input_proj_ = &add_child("input_proj", std::make_unique<nn::Linear>(ctx.in_dim, dim_, true, *ctx.rng));
    auto& stack = add_child("layers", std::make_unique<nn::Module>());
    for (int l = 0; l < c.layers; ++l)
      layers_.push_back(&stack.add_child(
          std::to_string(l), std::make_unique<EncoderLayer>(c, dim_, c.ffn_dim.value_or(4 * dim_), *ctx.rng)));
    if (c.final_norm)
      norm_ = &add_child("norm", std::make_unique<nn::LayerNorm>(dim_, static_cast<float>(c.layer_norm_eps)));
  }

  Var forward(const Var& x, const Tensor& mask) override {
    Var h = input_proj_ ? input_proj_->forward(x) : x;  // [B, T, dim]
    for (auto* layer : layers_) h = layer->forward(h, mask, causal_);
    return norm_ ? norm_->forward(h) : h;
  }
  std::int64_t out_dim() const override { return dim_; }
  bool causal() const override { return causal_; }
  /// The last layer's attention weights of the last forward, [B, heads, T, T].
  const Tensor& weights() const { return layers_.back()->weights(); }

 private:
  std::int64_t dim_;
  bool causal_;
  nn::Linear* input_proj_ = nullptr;
  std::vector<EncoderLayer*> layers_;
  nn::LayerNorm* norm_ = nullptr;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Extractor, transformer, attnlab::plugins::TransformerExtractor,
                        attnlab::plugins::TransformerConfig,
                        "Transformer encoder layers, as torch.nn.TransformerEncoderLayer (Vaswani et al. 2017)");
