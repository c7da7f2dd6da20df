// Module: a node in a tree of layers that owns parameters, buffers and child modules.
//
// A layer derives from Module, registers what it owns in its constructor and writes a typed
// `forward` of its own (the base class has none: signatures differ between layer families):
//
//   class Projection : public nn::Module {
//    public:
//     Projection(std::int64_t in, std::int64_t out, core::Rng& rng)
//         : w_(add_param("w", {out, in}, nn::init::xavier_uniform(rng))),
//           b_(add_param("b", {out}, nn::init::zeros())) {}
//    private:
//     Var w_, b_;   // handles share the registered node: updates by an optimizer are seen here
//   };
//   auto& enc = root.add_child("encoder", std::make_unique<Encoder>(cfg, rng));
//
// Names. Each module names its own entries; a full name joins the path from the root with '.',
// e.g. "encoder.layers.2.w_q" (a list of layers is a child "layers" whose children are "0", "1",
// ...). Names must be non-empty, must not contain '.', and are unique within a module across
// parameters, buffers and children; violations throw attnlab::Error at registration.
//
// Order. named_params(), params(), named_buffers() and state() walk the tree depth-first in
// registration order: a module's entries in the order they were added, a child's entries at the
// point where the child was added. (PyTorch lists a module's own parameters before its children's.)
//
// State. `state()` maps every full name of a parameter or buffer to a deep copy of its value;
// `load_state()` copies values back *into the existing tensors* (so Var handles held by layers and
// optimizers, and Tensor handles on buffers, stay valid), after checking the whole map first: on
// any problem nothing is modified and one attnlab::Error lists every problem.
//
// A Module is neither copyable nor movable: layers hold references into it. Own modules through
// std::unique_ptr (add_child does).
#pragma once

#include "framework/autograd/var.h"
#include "framework/nn/init.h"

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::nn {

using autograd::Var;

/// What a non-strict load_state tolerated (full names, sorted).
struct LoadResult {
  std::vector<std::string> missing;     ///< in the module, absent from the map: left unchanged
  std::vector<std::string> unexpected;  ///< in the map, unknown to the module: ignored
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Registers a trainable parameter: a leaf Var with requires_grad, valued init(shape) (f32).
  /// The reference stays valid for the module's lifetime. Throws attnlab::Error on a bad or
  /// duplicate name, ShapeError when init returns another shape, DTypeError if it is not f32.
  Var& add_param(const std::string& name, const Shape& shape, const Init& init);

  /// Registers non-trained state saved with the parameters (running statistics, counters...), f32
  /// or i64. The module keeps this handle; load_state overwrites its contents in place.
  Tensor& add_buffer(const std::string& name, Tensor value);

  /// Takes ownership of a child module and returns it with its own type.
  template <class M>
  M& add_child(const std::string& name, std::unique_ptr<M> child) {
    M* ref = child.get();
    adopt(name, std::unique_ptr<Module>(std::move(child)));  // throws on a null child
    return *ref;
  }

  /// Every parameter with its full name, depth-first in registration order.
  std::vector<std::pair<std::string, Var>> named_params() const;
  /// The same parameters without names (handles sharing the registered nodes), for optimizers.
  std::vector<Var> params() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// Direct children with their (local) names, in registration order.
  std::vector<std::pair<std::string, Module*>> children() const;

  /// The parameter with this full name; throws attnlab::Error (with the nearest name) if absent.
  Var& param(const std::string& full_name);

  /// Sets training mode here and in every descendant (dropout and similar layers read training()).
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  /// Drops the gradient of every parameter in the tree.
  void zero_grad();
  /// Total number of parameter elements in the tree (buffers excluded).
  std::int64_t num_params() const;

  /// Deep copies of every parameter and buffer value, by full name.
  std::map<std::string, Tensor> state() const;

  /// Copies `state` into the parameters and buffers. Problems, all reported in one attnlab::Error
  /// and leaving the module untouched: a missing key, an unexpected key (with the nearest module
  /// key as a hint), a shape or dtype mismatch (naming the key and both shapes), an undefined
  /// tensor. With strict = false, missing and unexpected keys are tolerated and returned instead;
  /// mismatches still throw.
  LoadResult load_state(const std::map<std::string, Tensor>& state, bool strict = true);

 private:
  enum class Kind { param, buffer, child };
  struct Entry {
    std::string name;
    Kind kind;
    Var param;
    Tensor buffer;
    std::unique_ptr<Module> child;
  };

  void adopt(const std::string& name, std::unique_ptr<Module> child);
  void check_name(const std::string& name) const;
  Entry& add_entry(const std::string& name, Kind kind);
  // Calls f(full_name, entry) for every param and buffer entry in the tree.
  template <class F>
  void walk(const std::string& prefix, F&& f) const;

  std::deque<Entry> entries_;  // a deque: references to entries survive later registrations
  bool training_ = true;
};

}  // namespace attnlab::nn
