// Typed errors. Every error attnlab throws derives from attnlab::Error and says *where*:
// the op and the shapes for engine errors, the file:line:col and config path for spec errors.
// Errors are exceptions, never aborts: several trials share one process, and a failure in one
// must not take the others down.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace attnlab {

/// Base of every attnlab error.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// An op received tensors whose shapes do not fit. The message names the op and every shape.
class ShapeError : public Error {
 public:
  ShapeError(std::string op, const std::string& message)
      : Error(fmt::format("{}: {}", op, message)), op_(std::move(op)) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// An op received a tensor of the wrong element type (e.g. float indices).
class DTypeError : public Error {
 public:
  DTypeError(std::string op, const std::string& message)
      : Error(fmt::format("{}: {}", op, message)), op_(std::move(op)) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// An index (embedding id, class label, axis) is out of its valid range.
class IndexError : public Error {
 public:
  IndexError(std::string op, const std::string& message)
      : Error(fmt::format("{}: {}", op, message)), op_(std::move(op)) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// An op without a backward was recorded while gradients are enabled, or backward was asked of
/// something that cannot provide it. Thrown when the op is *recorded*, not when backward runs.
class NotDifferentiable : public Error {
 public:
  NotDifferentiable(std::string op, const std::string& reason)
      : Error(fmt::format("{}: not differentiable: {}", op, reason)), op_(std::move(op)) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// oneDNN refused or failed a primitive. Wraps dnnl::error at the op boundary with the op and shapes.
class BackendError : public Error {
 public:
  BackendError(std::string op, const std::string& message)
      : Error(fmt::format("{}: oneDNN: {}", op, message)), op_(std::move(op)) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// Misuse of the autograd API (backward on a non-scalar without a seed gradient, a freed graph...).
class AutogradError : public Error {
 public:
  explicit AutogradError(const std::string& message) : Error("autograd: " + message) {}
};

}  // namespace attnlab
