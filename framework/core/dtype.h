// Element types. attnlab computes in f32; integer tensors carry indices (item ids, labels,
// sequence lengths) as i64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace attnlab::core {

enum class DType : std::uint8_t { f32, i64 };

constexpr std::size_t size_of(DType t) { return t == DType::f32 ? sizeof(float) : sizeof(std::int64_t); }
constexpr std::string_view name_of(DType t) { return t == DType::f32 ? "f32" : "i64"; }

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::i64;
}

}  // namespace attnlab::core
