#include "framework/optim/optimizer.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

namespace attnlab::optim {
namespace {

constexpr std::int64_t kChunk = std::int64_t{1} << 14;

Tensor scalar_i64(std::int64_t v) { return Tensor::from_i64(std::span<const std::int64_t>(&v, 1), Shape{}); }

// Parses "<index>.<rest>"; false when the key has another form.
bool split_key(const std::string& key, std::size_t& index, std::string& rest) {
  const auto dot = key.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + dot, index);
  if (ec != std::errc() || end != key.data() + dot) return false;
  rest = key.substr(dot + 1);
  return true;
}

}  // namespace

Optimizer::Optimizer(std::string name, std::vector<Var> params, float lr, std::vector<std::string> slot_names)
    : name_(std::move(name)), params_(std::move(params)), slot_names_(std::move(slot_names)), lr_(0.0f) {
  if (params_.empty()) throw Error(fmt::format("{}: got an empty parameter list", name_));
  if (slot_names_.size() > kMaxSlots) throw Error(fmt::format("{}: too many slots", name_));
  std::set<const autograd::Node*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Var& p = params_[i];
    if (!p.defined()) throw Error(fmt::format("{}: parameter {} is undefined", name_, i));
    if (!p.is_leaf())
      throw Error(
          fmt::format("{}: parameter {} {} is the result of '{}', not a leaf", name_, i, p.shape().str(), p.op()));
    if (!p.requires_grad())
      throw Error(fmt::format("{}: parameter {} {} does not require grad", name_, i, p.shape().str()));
    if (!seen.insert(p.node().get()).second)
      throw Error(fmt::format("{}: parameter {} {} appears twice", name_, i, p.shape().str()));
  }
  set_lr(lr);
  param_steps_.assign(params_.size(), 0);
  slots_.resize(params_.size());
}

void Optimizer::set_lr(float lr) {
  if (!(lr >= 0.0f) || !std::isfinite(lr))
    throw Error(fmt::format("{}: learning rate must be finite and >= 0, got {}", name_, lr));
  lr_ = lr;
}

namespace {

/// False when g[begin, end) holds a NaN or an infinity: x * 0 is 0 for every finite x and NaN
/// otherwise, so the sum is a vectorised finite test (the build keeps IEEE semantics).
bool finite(const float* g, std::int64_t begin, std::int64_t end) {
  float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
  for (std::int64_t i = begin; i < end; ++i) probe += g[i] * 0.0f;
  return probe == 0.0f;
}

}  // namespace

void Optimizer::step() {
  nonfinite_ = -1;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& grad = params_[i].grad();
    if (!grad.defined()) continue;
    Tensor value = params_[i].value();  // a handle: writes land in the parameter
    const std::int64_t n = value.numel();
    auto& slots = slots_[i];
    if (slots.empty())
      for (std::size_t s = 0; s < slot_names_.size(); ++s) slots.push_back(Tensor::zeros(value.shape()));
    Update u{value.f32(), grad.f32(), {}, ++param_steps_[i], lr_};
    for (std::size_t s = 0; s < slots.size(); ++s) u.slot[s] = slots[s].f32();
    // Fixed chunk boundaries: which elements an update's vector and scalar tail paths handle (they
    // may round differently, e.g. through FMA contraction) must not depend on TBB's scheduling.
    std::atomic<bool> ok{true};
    const auto chunk = [&](std::int64_t begin, std::int64_t end) {
      if (!finite(u.grad, begin, end)) ok.store(false, std::memory_order_relaxed);
      update(u, begin, end);
    };
    if (n >= kParallelMin)
      tbb::parallel_for(std::int64_t{0}, (n + kChunk - 1) / kChunk,
                        [&](std::int64_t c) { chunk(c * kChunk, std::min(n, (c + 1) * kChunk)); });
    else
      chunk(0, n);
    if (!ok.load() && nonfinite_ < 0) nonfinite_ = static_cast<std::int64_t>(i);
  }
  ++steps_;
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

State Optimizer::state() const {
  State s;
  s["step"] = scalar_i64(steps_);
  s["lr"] = Tensor::scalar(lr_);
  s["num_params"] = scalar_i64(static_cast<std::int64_t>(params_.size()));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (param_steps_[i] == 0) continue;
    s[fmt::format("{}.step", i)] = scalar_i64(param_steps_[i]);
    for (std::size_t k = 0; k < slot_names_.size(); ++k)
      s[fmt::format("{}.{}", i, slot_names_[k])] = slots_[i][k].clone();
  }
  return s;
}

void Optimizer::load_state(const State& state) {
  std::vector<std::string> problems;
  std::set<std::string> used;
  // Returns the tensor under `key` if it has the expected dtype and shape, else records why not.
  auto take = [&](const std::string& key, core::DType dtype, const Shape& shape) -> const Tensor* {
    const auto it = state.find(key);
    if (it == state.end()) {
      problems.push_back(fmt::format("missing key '{}'", key));
      return nullptr;
    }
    used.insert(key);
    const Tensor& t = it->second;
    if (!t.defined()) {
      problems.push_back(fmt::format("'{}': undefined tensor", key));
      return nullptr;
    }
    if (t.dtype() != dtype || t.shape() != shape) {
      problems.push_back(fmt::format("'{}': expected {} {}, got {} {}", key, core::name_of(dtype), shape.str(),
                                     core::name_of(t.dtype()), t.shape().str()));
      return nullptr;
    }
    return &t;
  };

  const Tensor* steps = take("step", core::DType::i64, Shape{});
  const Tensor* lr = take("lr", core::DType::f32, Shape{});
  const Tensor* count = take("num_params", core::DType::i64, Shape{});
  if (count && count->i64()[0] != static_cast<std::int64_t>(params_.size()))
    problems.push_back(
        fmt::format("the state is for {} parameters, this optimizer has {}", count->i64()[0], params_.size()));
  if (steps && steps->i64()[0] < 0) problems.push_back(fmt::format("'step' is negative ({})", steps->i64()[0]));
  if (lr && (!(lr->f32()[0] >= 0.0f) || !std::isfinite(lr->f32()[0])))
    problems.push_back(fmt::format("'lr' is not finite and >= 0 ({})", lr->f32()[0]));

  std::vector<std::int64_t> new_steps(params_.size(), 0);
  std::vector<std::vector<const Tensor*>> new_slots(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto it = state.find(fmt::format("{}.step", i));
    if (it == state.end()) continue;  // never updated: no slots either
    const Tensor* st = take(it->first, core::DType::i64, Shape{});
    if (!st) continue;
    new_steps[i] = st->i64()[0];
    if (new_steps[i] <= 0) problems.push_back(fmt::format("'{}' must be positive, got {}", it->first, new_steps[i]));
    for (const auto& slot : slot_names_)
      new_slots[i].push_back(take(fmt::format("{}.{}", i, slot), core::DType::f32, params_[i].shape()));
  }
  for (const auto& [key, _] : state) {
    if (used.count(key)) continue;
    std::size_t index = 0;
    std::string rest;
    if (split_key(key, index, rest) && index < params_.size() && rest != "step" &&
        !state.count(fmt::format("{}.step", index)))
      problems.push_back(fmt::format("unexpected key '{}': parameter {} has no '{}.step'", key, index, index));
    else
      problems.push_back(fmt::format("unexpected key '{}'", key));
  }
  if (!problems.empty())
    throw Error(fmt::format("{}: load_state: {} problem{}:\n  {}", name_, problems.size(),
                            problems.size() == 1 ? "" : "s", fmt::join(problems, "\n  ")));

  steps_ = steps->i64()[0];
  lr_ = lr->f32()[0];
  param_steps_ = new_steps;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    slots_[i].clear();
    for (const Tensor* t : new_slots[i]) slots_[i].push_back(t->clone());
  }
}

}  // namespace attnlab::optim
