// Tensor: a dense, contiguous, row-major array of f32 or i64 on 64-byte aligned memory.
//
// Tensors are cheap handles: copying one shares its buffer (like a shared_ptr). Ops never write
// into their inputs; they return new tensors. `reshape` shares the buffer; `clone` copies it.
// There are no strided views: permute/slice produce contiguous copies, which keeps every kernel
// (ours and oneDNN's) on plain layouts.
#pragma once

#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "framework/core/shape.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace attnlab::core {

class Tensor {
 public:
  /// An undefined tensor (no buffer). `defined()` is false.
  Tensor() = default;

  /// Uninitialised memory of the given shape and type.
  static Tensor empty(Shape shape, DType dtype = DType::f32);
  static Tensor zeros(Shape shape, DType dtype = DType::f32);
  static Tensor full(Shape shape, float value);
  /// Copies `values` (size must equal shape.numel(); throws ShapeError otherwise).
  static Tensor from(std::span<const float> values, Shape shape);
  static Tensor from_i64(std::span<const std::int64_t> values, Shape shape);
  static Tensor scalar(float v) { return full(Shape{}, v); }

  bool defined() const { return static_cast<bool>(buf_); }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int rank() const { return shape_.rank(); }
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * size_of(dtype_); }

  /// Typed element access. Throws DTypeError when T does not match dtype().
  template <class T>
  T* data() {
    check_type<T>();
    return static_cast<T*>(buf_.get());
  }
  template <class T>
  const T* data() const {
    check_type<T>();
    return static_cast<const T*>(buf_.get());
  }
  float* f32() { return data<float>(); }
  const float* f32() const { return data<float>(); }
  std::int64_t* i64() { return data<std::int64_t>(); }
  const std::int64_t* i64() const { return data<std::int64_t>(); }
  void* raw() const { return buf_.get(); }

  /// Copies the elements out (handy in tests).
  std::vector<float> to_vector() const;
  std::vector<std::int64_t> to_vector_i64() const;
  /// The single element of a one-element tensor.
  float item() const;

  /// Same buffer, new shape of equal numel (throws ShapeError otherwise). -1 infers one dim.
  Tensor reshape(Shape shape) const;
  /// A deep copy.
  Tensor clone() const;
  /// Sets every element to zero / to v.
  void fill_(float v);
  void zero_();
  /// this += other, elementwise, same shape (f32 only). Used for gradient accumulation.
  void add_(const Tensor& other);
  /// True when the two tensors share a buffer.
  bool shares_buffer(const Tensor& o) const { return buf_ && buf_ == o.buf_; }

 private:
  template <class T>
  void check_type() const {
    if (dtype_of<T>() != dtype_)
      throw DTypeError("tensor", fmt::format("accessed a {} tensor {} as {}", name_of(dtype_), shape_.str(),
                                             name_of(dtype_of<T>())));
  }

  std::shared_ptr<void> buf_;
  Shape shape_;
  DType dtype_ = DType::f32;
};

/// Bytes currently held by live tensor buffers in this process, and the high-water mark.
std::int64_t tensor_bytes_live();
std::int64_t tensor_bytes_peak();

}  // namespace attnlab::core
