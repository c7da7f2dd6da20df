#include "framework/core/tensor.h"

#include "framework/core/memory.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace attnlab::core {
namespace {

std::shared_ptr<void> allocate(std::size_t bytes) { return allocate_buffer(bytes); }

}  // namespace

std::int64_t tensor_bytes_live() { return memory_stats().live; }
std::int64_t tensor_bytes_peak() { return memory_stats().peak; }

Tensor Tensor::empty(Shape shape, DType dtype) {
  for (auto d : shape)
    if (d < 0) throw ShapeError("tensor", fmt::format("negative dimension in shape {}", shape.str()));
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.buf_ = allocate(t.bytes());
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  std::memset(t.raw(), 0, t.bytes());
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(std::move(shape));
  t.fill_(value);
  return t;
}

Tensor Tensor::from(std::span<const float> values, Shape shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel())
    throw ShapeError("tensor", fmt::format("{} values do not fill shape {}", values.size(), shape.str()));
  Tensor t = empty(std::move(shape));
  std::copy(values.begin(), values.end(), t.f32());
  return t;
}

Tensor Tensor::from_i64(std::span<const std::int64_t> values, Shape shape) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel())
    throw ShapeError("tensor", fmt::format("{} values do not fill shape {}", values.size(), shape.str()));
  Tensor t = empty(std::move(shape), DType::i64);
  std::copy(values.begin(), values.end(), t.i64());
  return t;
}

std::vector<float> Tensor::to_vector() const {
  const float* p = f32();
  return {p, p + numel()};
}

std::vector<std::int64_t> Tensor::to_vector_i64() const {
  const std::int64_t* p = i64();
  return {p, p + numel()};
}

float Tensor::item() const {
  if (numel() != 1)
    throw ShapeError("item", fmt::format("tensor of shape {} has {} elements, not 1", shape_.str(), numel()));
  return dtype_ == DType::f32 ? f32()[0] : static_cast<float>(i64()[0]);
}

Tensor Tensor::reshape(Shape shape) const {
  int infer = -1;
  std::int64_t known = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw ShapeError("reshape", fmt::format("more than one -1 in {}", shape.str()));
      infer = i;
    } else if (shape[i] < 0) {
      throw ShapeError("reshape", fmt::format("negative dimension {} in {}", shape[i], shape.str()));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0 && numel() % known == 0) shape[infer] = numel() / known;
  if (shape.numel() != numel())
    throw ShapeError("reshape", fmt::format("cannot view {} ({} elements) as {}", shape_.str(), numel(), shape.str()));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t = empty(shape_, dtype_);
  std::memcpy(t.raw(), raw(), bytes());
  return t;
}

void Tensor::fill_(float v) {
  float* p = f32();
  std::fill(p, p + numel(), v);
}

void Tensor::zero_() { std::memset(raw(), 0, bytes()); }

void Tensor::add_(const Tensor& other) {
  if (other.shape_ != shape_)
    throw ShapeError("add_", fmt::format("shapes differ: {} += {}", shape_.str(), other.shape_.str()));
  float* a = f32();
  const float* b = other.f32();
  const std::int64_t n = numel();
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) a[i] += b[i];
}

}  // namespace attnlab::core
