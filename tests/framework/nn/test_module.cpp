#include <boost/test/unit_test.hpp>

#include "tests/support/expect.h"

#include "framework/nn/module.h"
#include "framework/ops/eltwise.h"

#include <type_traits>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

using attnlab::testing::error_of;

// A leaf layer: two parameters and a buffer, the way a real layer registers them.
class Leaf : public nn::Module {
 public:
  Leaf(std::int64_t in, std::int64_t out, core::Rng& rng)
      : w(add_param("w", {out, in}, nn::init::xavier_uniform(rng))), b(add_param("b", {out}, nn::init::zeros())),
        count(add_buffer("count", Tensor::zeros(Shape{1}, core::DType::i64))) {}
  Var w, b;
  Tensor count;
};

// encoder.{proj, layers.{0, 1}} plus a parameter of its own registered between children.
class Encoder : public nn::Module {
 public:
  explicit Encoder(core::Rng& rng) {
    proj = &add_child("proj", std::make_unique<Leaf>(4, 3, rng));
    scale = add_param("scale", {3}, nn::init::ones());
    auto& layers = add_child("layers", std::make_unique<nn::Module>());
    for (int i = 0; i < 2; ++i) layer[i] = &layers.add_child(std::to_string(i), std::make_unique<Leaf>(3, 3, rng));
  }
  Leaf* proj;
  Var scale;
  Leaf* layer[2];
};

struct Model : nn::Module {
  explicit Model(core::Rng& rng) : enc(add_child("encoder", std::make_unique<Encoder>(rng))) {
    head = add_param("head", {2, 3}, nn::init::constant(0.5f));
  }
  Encoder& enc;
  Var head;
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Var>>& v) {
  std::vector<std::string> out;
  for (const auto& [n, _] : v) out.push_back(n);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_module)

BOOST_AUTO_TEST_CASE(module_is_not_copyable_or_movable) {
  static_assert(!std::is_copy_constructible_v<nn::Module> && !std::is_copy_assignable_v<nn::Module>);
  static_assert(!std::is_move_constructible_v<nn::Module> && !std::is_move_assignable_v<nn::Module>);
}

BOOST_AUTO_TEST_CASE(hierarchical_names_in_registration_order) {
  core::Rng rng(1);
  Model m(rng);
  const std::vector<std::string> expected{
      "encoder.proj.w",     "encoder.proj.b",     "encoder.scale",      "encoder.layers.0.w",
      "encoder.layers.0.b", "encoder.layers.1.w", "encoder.layers.1.b", "head"};
  const auto got = names_of(m.named_params());
  BOOST_TEST(got == expected, boost::test_tools::per_element());
  BOOST_TEST(m.params().size() == expected.size());
  BOOST_TEST(m.num_params() == 12 + 3 + 3 + 2 * (9 + 3) + 6);

  const auto buffers = m.named_buffers();
  BOOST_REQUIRE(buffers.size() == 3u);
  BOOST_TEST(buffers[0].first == "encoder.proj.count");
  BOOST_TEST(buffers[2].first == "encoder.layers.1.count");

  const auto kids = m.enc.children();
  BOOST_REQUIRE(kids.size() == 2u);
  BOOST_TEST(kids[0].first == "proj");
  BOOST_TEST(kids[1].first == "layers");
}

BOOST_AUTO_TEST_CASE(params_share_nodes_with_layer_handles) {
  core::Rng rng(2);
  Model m(rng);
  const auto params = m.params();
  BOOST_TEST(params[0].node() == m.enc.proj->w.node());
  BOOST_TEST(params[0].requires_grad());
  BOOST_TEST(params[0].is_leaf());
  BOOST_TEST(m.param("encoder.layers.1.b").node() == m.enc.layer[1]->b.node());
}

BOOST_AUTO_TEST_CASE(returned_references_survive_later_registrations) {
  nn::Module m;
  Var& first = m.add_param("p0", {2}, nn::init::constant(7.0f));
  Tensor& buf = m.add_buffer("buf0", Tensor::full(Shape{1}, 3.0f));
  for (int i = 1; i < 200; ++i) m.add_param(fmt::format("p{}", i), {1}, nn::init::zeros());
  BOOST_TEST(first.value().to_vector()[0] == 7.0f);
  BOOST_TEST(first.node() == m.param("p0").node());
  BOOST_TEST(buf.item() == 3.0f);
}

BOOST_AUTO_TEST_CASE(unknown_param_name_gets_a_hint) {
  core::Rng rng(3);
  Model m(rng);
  const std::string msg = error_of([&] { m.param("encoder.layer.0.w"); });
  BOOST_TEST(msg.find("encoder.layer.0.w") != std::string::npos);
  BOOST_TEST(msg.find("did you mean 'encoder.layers.0.w'") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(train_and_eval_propagate_to_all_descendants) {
  core::Rng rng(4);
  Model m(rng);
  BOOST_TEST(m.training());
  m.eval();
  BOOST_TEST(!m.training());
  BOOST_TEST(!m.enc.training());
  BOOST_TEST(!m.enc.layer[1]->training());
  m.train();
  BOOST_TEST(m.enc.layer[0]->training());
  m.enc.train(false);
  BOOST_TEST(m.training());
  BOOST_TEST(!m.enc.proj->training());
  // A child adopted by a module in eval mode starts in eval mode.
  auto& late = m.enc.add_child("late", std::make_unique<nn::Module>());
  BOOST_TEST(!late.training());
}

BOOST_AUTO_TEST_CASE(zero_grad_clears_every_parameter) {
  core::Rng rng(5);
  Model m(rng);
  for (auto& p : m.params()) ops::tanh(p).backward(Tensor::full(p.shape(), 1.0f));
  for (const auto& p : m.params()) BOOST_TEST(p.grad().defined());
  m.zero_grad();
  for (const auto& p : m.params()) BOOST_TEST(!p.grad().defined());
}

BOOST_AUTO_TEST_CASE(state_is_a_deep_copy) {
  core::Rng rng(6);
  Model m(rng);
  auto s = m.state();
  BOOST_TEST(s.size() == 8u + 3u);
  BOOST_TEST(s.count("encoder.layers.0.count") == 1u);
  BOOST_TEST(!s.at("head").shares_buffer(m.head.value()));
  BOOST_TEST(s.at("head").to_vector() == m.head.value().to_vector(), boost::test_tools::per_element());
  s.at("head").fill_(-1.0f);
  BOOST_TEST(m.head.value().to_vector()[0] == 0.5f);
  BOOST_TEST((s.at("encoder.proj.count").dtype() == core::DType::i64));
}

BOOST_AUTO_TEST_CASE(load_state_writes_into_existing_tensors) {
  core::Rng rng_a(7), rng_b(8);
  Model a(rng_a), b(rng_b);
  a.enc.proj->count.i64()[0] = 42;
  BOOST_TEST(a.enc.proj->w.value().to_vector() != b.enc.proj->w.value().to_vector());
  const Tensor w_before = b.enc.proj->w.value();  // a handle on b's parameter buffer
  const nn::LoadResult r = b.load_state(a.state());
  BOOST_TEST(r.missing.empty());
  BOOST_TEST(r.unexpected.empty());
  for (const auto& [name, t] : a.state()) {
    const Tensor mine = b.state().at(name);
    if (t.dtype() == core::DType::f32) BOOST_TEST(mine.to_vector() == t.to_vector(), boost::test_tools::per_element());
  }
  // Existing handles see the loaded values: layer members, optimizers' Vars and buffer references.
  BOOST_TEST(w_before.to_vector() == a.enc.proj->w.value().to_vector(), boost::test_tools::per_element());
  BOOST_TEST(b.enc.proj->count.i64()[0] == 42);
}

BOOST_AUTO_TEST_CASE(load_state_reports_every_problem_at_once_and_changes_nothing) {
  core::Rng rng(9);
  Model m(rng);
  const auto before = m.state();
  auto s = m.state();
  s.erase("encoder.scale");                             // missing
  s.erase("encoder.layers.1.b");                        // missing
  s["encoder.layer.0.w"] = s.at("encoder.layers.0.w");  // unexpected, near a real key
  s["optimizer.step"] = Tensor::zeros(Shape{});         // unexpected, no hint
  s["head"] = Tensor::zeros(Shape{3, 2});               // shape mismatch
  s["encoder.proj.count"] = Tensor::zeros(Shape{1});    // dtype mismatch (f32 for i64)
  s["encoder.proj.w"].fill_(123.0f);                    // valid, must not be applied
  const std::string msg = error_of([&] { m.load_state(s); });
  BOOST_TEST_MESSAGE(msg);
  BOOST_TEST(msg.find("6 problems") != std::string::npos, msg);
  BOOST_TEST(msg.find("missing key 'encoder.scale'") != std::string::npos, msg);
  BOOST_TEST(msg.find("missing key 'encoder.layers.1.b'") != std::string::npos, msg);
  BOOST_TEST(msg.find("unexpected key 'encoder.layer.0.w'; did you mean 'encoder.layers.0.w'?") != std::string::npos,
             msg);
  BOOST_TEST(msg.find("unexpected key 'optimizer.step'\n") != std::string::npos, msg);
  BOOST_TEST(msg.find("'head': shape mismatch: state has [3, 2], module has [2, 3]") != std::string::npos, msg);
  BOOST_TEST(
      msg.find("'encoder.proj.count': dtype mismatch: state has f32 [1], module has i64 [1]") != std::string::npos,
      msg);
  for (const auto& [name, t] : m.state())
    if (t.dtype() == core::DType::f32)
      BOOST_TEST(t.to_vector() == before.at(name).to_vector(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(non_strict_load_tolerates_missing_and_unexpected_but_not_mismatches) {
  core::Rng rng(10);
  Model m(rng);
  auto s = m.state();
  s.erase("head");
  s["extra"] = Tensor::zeros(Shape{1});
  s["encoder.scale"] = Tensor::full(Shape{3}, 2.0f);
  const nn::LoadResult r = m.load_state(s, false);
  BOOST_TEST(r.missing == std::vector<std::string>{"head"}, boost::test_tools::per_element());
  BOOST_TEST(r.unexpected == std::vector<std::string>{"extra"}, boost::test_tools::per_element());
  BOOST_TEST(m.enc.scale.value().to_vector()[2] == 2.0f);
  BOOST_TEST(m.head.value().to_vector()[0] == 0.5f);

  s["encoder.scale"] = Tensor::zeros(Shape{4});
  const std::string msg = error_of([&] { m.load_state(s, false); });
  BOOST_TEST(msg.find("1 problem ") != std::string::npos, msg);
  BOOST_TEST(msg.find("'encoder.scale': shape mismatch: state has [4], module has [3]") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(registration_errors) {
  nn::Module m;
  m.add_param("w", {2}, nn::init::zeros());
  BOOST_CHECK_THROW(m.add_param("w", {2}, nn::init::zeros()), Error);
  BOOST_CHECK_THROW(m.add_buffer("w", Tensor::zeros(Shape{1})), Error);
  BOOST_CHECK_THROW(m.add_child("w", std::make_unique<nn::Module>()), Error);
  BOOST_CHECK_THROW(m.add_param("a.b", {2}, nn::init::zeros()), Error);
  BOOST_CHECK_THROW(m.add_param("", {2}, nn::init::zeros()), Error);
  BOOST_CHECK_THROW(m.add_param("n", {2}, nn::Init()), Error);
  BOOST_CHECK_THROW(m.add_buffer("u", Tensor()), Error);
  BOOST_CHECK_THROW(m.add_child("c", std::unique_ptr<nn::Module>()), Error);
  BOOST_CHECK_THROW(m.add_param("s", {2}, [](const Shape&) { return Tensor::zeros(Shape{3}); }), ShapeError);
  BOOST_CHECK_THROW(m.add_param("i", {2}, [](const Shape& s) { return Tensor::zeros(s, core::DType::i64); }),
                    DTypeError);
  core::Rng rng(1);
  BOOST_CHECK_THROW(m.add_param("x", {5}, nn::init::xavier_uniform(rng)), ShapeError);
  // Failed registrations leave nothing behind.
  BOOST_TEST(m.named_params().size() == 1u);
  BOOST_TEST(m.state().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
