// Shape: the dimensions of a dense row-major tensor. Dimensions are int64 (oneDNN's dim type).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace attnlab::core {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> d) : d_(d) {}
  explicit Shape(std::vector<std::int64_t> d) : d_(std::move(d)) {}

  int rank() const { return static_cast<int>(d_.size()); }
  /// Number of elements (1 for a scalar of rank 0).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto v : d_) n *= v;
    return n;
  }
  /// Dimension i; negative i counts from the end (-1 is the last). Unchecked beyond that.
  std::int64_t operator[](int i) const { return d_[static_cast<std::size_t>(i < 0 ? i + rank() : i)]; }
  std::int64_t& operator[](int i) { return d_[static_cast<std::size_t>(i < 0 ? i + rank() : i)]; }

  const std::vector<std::int64_t>& dims() const { return d_; }
  std::vector<std::int64_t>& dims() { return d_; }
  auto begin() const { return d_.begin(); }
  auto end() const { return d_.end(); }

  /// Row-major strides in elements.
  std::vector<std::int64_t> strides() const {
    std::vector<std::int64_t> s(d_.size(), 1);
    for (int i = rank() - 2; i >= 0; --i)
      s[static_cast<std::size_t>(i)] = s[static_cast<std::size_t>(i) + 1] * d_[static_cast<std::size_t>(i) + 1];
    return s;
  }

  /// Normalises a possibly negative axis; returns -1 when it is out of range.
  int axis(int a) const { return (a < -rank() || a >= rank()) ? -1 : (a < 0 ? a + rank() : a); }

  /// Product of dims [from, to).
  std::int64_t prod(int from, int to) const {
    std::int64_t n = 1;
    for (int i = from; i < to; ++i) n *= d_[static_cast<std::size_t>(i)];
    return n;
  }

  std::string str() const { return fmt::format("[{}]", fmt::join(d_, ", ")); }

  friend bool operator==(const Shape&, const Shape&) = default;

 private:
  std::vector<std::int64_t> d_;
};

}  // namespace attnlab::core

template <>
struct fmt::formatter<attnlab::core::Shape> : fmt::formatter<std::string> {
  auto format(const attnlab::core::Shape& s, format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.str(), ctx);
  }
};
