#include "framework/nn/module.h"

#include "framework/core/suggest.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>

namespace attnlab::nn {
namespace {

std::string hint(const std::string& key, const std::vector<std::string>& candidates) {
  const auto n = core::nearest(key, candidates);
  return n ? fmt::format("; did you mean '{}'?", *n) : std::string();
}

}  // namespace

void Module::check_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(fmt::format("module: invalid name '{}': names are non-empty and contain no '.'", name));
  for (const auto& e : entries_)
    if (e.name == name) throw Error(fmt::format("module: the name '{}' is already registered in this module", name));
}

Module::Entry& Module::add_entry(const std::string& name, Kind kind) {
  check_name(name);
  Entry& e = entries_.emplace_back();
  e.name = name;
  e.kind = kind;
  return e;
}

Var& Module::add_param(const std::string& name, const Shape& shape, const Init& init) {
  check_name(name);  // before init, which may draw from an Rng
  if (!init) throw Error(fmt::format("module: add_param '{}' {} without an initializer", name, shape.str()));
  Tensor value = init(shape);
  if (value.shape() != shape)
    throw ShapeError("add_param", fmt::format("'{}': the initializer returned {} for shape {}", name,
                                              value.shape().str(), shape.str()));
  if (value.dtype() != core::DType::f32)
    throw DTypeError("add_param", fmt::format("'{}': parameters are f32, the initializer returned {}", name,
                                              core::name_of(value.dtype())));
  Entry& e = add_entry(name, Kind::param);
  e.param = Var(std::move(value), true);
  return e.param;
}

Tensor& Module::add_buffer(const std::string& name, Tensor value) {
  if (!value.defined()) throw Error(fmt::format("module: add_buffer '{}' with an undefined tensor", name));
  Entry& e = add_entry(name, Kind::buffer);
  e.buffer = std::move(value);
  return e.buffer;
}

void Module::adopt(const std::string& name, std::unique_ptr<Module> child) {
  if (!child) throw Error(fmt::format("module: add_child '{}' with a null module", name));
  if (child.get() == this) throw Error(fmt::format("module: add_child '{}' of itself", name));
  Entry& e = add_entry(name, Kind::child);
  child->train(training_);
  e.child = std::move(child);
}

template <class F>
void Module::walk(const std::string& prefix, F&& f) const {
  for (const auto& e : entries_) {
    const std::string full = prefix + e.name;
    if (e.kind == Kind::child)
      e.child->walk(full + ".", f);
    else
      f(full, e);
  }
}

std::vector<std::pair<std::string, Var>> Module::named_params() const {
  std::vector<std::pair<std::string, Var>> out;
  walk("", [&](const std::string& n, const Entry& e) {
    if (e.kind == Kind::param) out.emplace_back(n, e.param);
  });
  return out;
}

std::vector<Var> Module::params() const {
  std::vector<Var> out;
  walk("", [&](const std::string&, const Entry& e) {
    if (e.kind == Kind::param) out.push_back(e.param);
  });
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  walk("", [&](const std::string& n, const Entry& e) {
    if (e.kind == Kind::buffer) out.emplace_back(n, e.buffer);
  });
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& e : entries_)
    if (e.kind == Kind::child) out.emplace_back(e.name, e.child.get());
  return out;
}

Var& Module::param(const std::string& full_name) {
  Var* found = nullptr;
  std::vector<std::string> names;
  walk("", [&](const std::string& n, const Entry& e) {
    if (e.kind != Kind::param) return;
    if (n == full_name) found = const_cast<Var*>(&e.param);  // *this is not const here
    names.push_back(n);
  });
  if (!found) throw Error(fmt::format("module: no parameter '{}'{}", full_name, hint(full_name, names)));
  return *found;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& e : entries_)
    if (e.kind == Kind::child) e.child->train(on);
}

void Module::zero_grad() {
  walk("", [](const std::string&, const Entry& e) {
    if (e.kind == Kind::param) Var(e.param).zero_grad();
  });
}

std::int64_t Module::num_params() const {
  std::int64_t n = 0;
  walk("", [&](const std::string&, const Entry& e) {
    if (e.kind == Kind::param) n += e.param.value().numel();
  });
  return n;
}

std::map<std::string, Tensor> Module::state() const {
  std::map<std::string, Tensor> out;
  walk("", [&](const std::string& n, const Entry& e) {
    out.emplace(n, e.kind == Kind::param ? e.param.value().clone() : e.buffer.clone());
  });
  return out;
}

LoadResult Module::load_state(const std::map<std::string, Tensor>& state, bool strict) {
  // Targets first, so that nothing is written unless the whole map fits.
  std::vector<std::pair<std::string, Tensor>> targets;
  walk("", [&](const std::string& n, const Entry& e) {
    targets.emplace_back(n, e.kind == Kind::param ? e.param.value() : e.buffer);
  });
  std::vector<std::string> names;
  for (const auto& [n, _] : targets) names.push_back(n);

  LoadResult result;
  std::vector<std::string> mismatches;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source)
  for (const auto& [n, dst] : targets) {
    const auto it = state.find(n);
    if (it == state.end()) {
      result.missing.push_back(n);
      continue;
    }
    const Tensor& src = it->second;
    if (!src.defined())
      mismatches.push_back(fmt::format("'{}': the state holds an undefined tensor", n));
    else if (src.dtype() != dst.dtype())
      mismatches.push_back(fmt::format("'{}': dtype mismatch: state has {} {}, module has {} {}", n,
                                       core::name_of(src.dtype()), src.shape().str(), core::name_of(dst.dtype()),
                                       dst.shape().str()));
    else if (src.shape() != dst.shape())
      mismatches.push_back(
          fmt::format("'{}': shape mismatch: state has {}, module has {}", n, src.shape().str(), dst.shape().str()));
    else
      copies.emplace_back(dst, src);
  }
  const std::set<std::string> known(names.begin(), names.end());
  for (const auto& [n, _] : state)
    if (!known.count(n)) result.unexpected.push_back(n);
  std::sort(result.missing.begin(), result.missing.end());

  std::vector<std::string> problems;
  if (strict) {
    for (const auto& n : result.missing) problems.push_back(fmt::format("missing key '{}'", n));
    for (const auto& n : result.unexpected) problems.push_back(fmt::format("unexpected key '{}'{}", n, hint(n, names)));
  }
  problems.insert(problems.end(), mismatches.begin(), mismatches.end());
  if (!problems.empty())
    throw Error(fmt::format("load_state: {} problem{} (the module has {} tensors, the state {}):\n  {}",
                            problems.size(), problems.size() == 1 ? "" : "s", targets.size(), state.size(),
                            fmt::join(problems, "\n  ")));

  for (auto& [dst, src] : copies)
    if (!dst.shares_buffer(src)) std::memcpy(dst.raw(), src.raw(), dst.bytes());
  return result;
}

}  // namespace attnlab::nn
