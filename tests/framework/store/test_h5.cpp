// The RAII layer over HDF5: every kind of value round-trips exactly, failures are StoreErrors that
// say where.
#include <unistd.h>

#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "framework/store/h5.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

using namespace attnlab;
using namespace attnlab::store;
namespace fs = std::filesystem;

namespace {

using testing::TempDir;

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(h5_layer)

BOOST_AUTO_TEST_CASE(reports_the_linked_library) {
  BOOST_TEST_MESSAGE("HDF5 " << hdf5_version() << ", thread-safe: " << hdf5_threadsafe());
  BOOST_TEST(!hdf5_version().empty());
  BOOST_TEST(hdf5_version().find('.') != std::string::npos);
}

BOOST_AUTO_TEST_CASE(attributes_round_trip) {
  TempDir dir("attrs");
  const fs::path p = dir.path / "a.h5";
  const std::vector<std::string> list = {"alpha", "", "µ-ü ✓", "tab\there"};
  {
    h5::File f = h5::File::create(p);
    f.set_attr("s", "hello");
    f.set_attr("utf8", "Größe µ ✓");
    f.set_attr("empty", "");
    f.set_attr("big", std::numeric_limits<std::int64_t>::max());
    f.set_attr("small", std::numeric_limits<std::int64_t>::min());
    f.set_attr("int", 7);  // the integral template
    f.set_attr("x", 0.1);
    f.set_attr("negzero", -0.0);
    f.set_attr("inf", std::numeric_limits<double>::infinity());
    f.set_attr("list", std::span<const std::string>(list));
    f.set_attr("replaced", 1.5);
    f.set_attr("replaced", "now a string");  // replaces, whatever the old type
    h5::Group g = f.group("a/b/c");          // intermediate groups
    g.set_attr("depth", 3);
  }
  const h5::File f = h5::File::open(p);
  BOOST_TEST(f.attr_string("s") == "hello");
  BOOST_TEST(f.attr_string("utf8") == "Größe µ ✓");
  BOOST_TEST(f.attr_string("empty") == "");
  BOOST_TEST(f.attr_int("big") == std::numeric_limits<std::int64_t>::max());
  BOOST_TEST(f.attr_int("small") == std::numeric_limits<std::int64_t>::min());
  BOOST_TEST(f.attr_int("int") == 7);
  BOOST_TEST(f.attr_double("x") == 0.1);
  BOOST_TEST(std::signbit(f.attr_double("negzero")));
  BOOST_TEST(std::isinf(f.attr_double("inf")));
  BOOST_TEST(f.attr_strings("list") == list, boost::test_tools::per_element());
  BOOST_TEST(f.attr_string("replaced") == "now a string");
  BOOST_TEST(f.open_group("a/b/c").attr_int("depth") == 3);
  BOOST_TEST(f.has_attr("s"));
  BOOST_TEST(!f.has_attr("nope"));
  const std::vector<std::string> names = {"big",      "empty", "inf",   "int",  "list", "negzero",
                                          "replaced", "s",     "small", "utf8", "x"};
  BOOST_TEST(f.attr_names() == names, boost::test_tools::per_element());
  testing::expect_error<StoreError>([&] { (void)f.attr_int("s"); },
                                    {p.string(), ":/:", "attribute 's' is string", "expected one integer"});
  testing::expect_error<StoreError>([&] { (void)f.attr_string("nope"); }, {p.string(), "attribute 'nope' is missing"});
}

BOOST_AUTO_TEST_CASE(arrays_round_trip_bitwise) {
  TempDir dir("arrays");
  const fs::path p = dir.path / "a.h5";
  const float nan_payload = std::bit_cast<float>(0x7fc00123u);
  const std::vector<double> d = {0.1, -0.0, 1e-310, std::numeric_limits<double>::infinity(), -2.5, 3};
  std::vector<float> f24(24);
  for (int i = 0; i < 24; ++i) f24[static_cast<std::size_t>(i)] = static_cast<float>(i) * 0.25f - 1.0f;
  f24[5] = nan_payload;
  f24[6] = 1e-45f;  // a denormal
  const std::vector<std::int64_t> ints = {std::numeric_limits<std::int64_t>::min(), -1, 0, 1,
                                          std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::uint64_t> words = {0, 1, 0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull};
  const std::vector<std::int64_t> shape234 = {2, 3, 4}, shape4 = {4}, shape03 = {0, 3};
  {
    h5::File f = h5::File::create(p);
    f.write("d", d);
    f.write("grp/f", std::span<const float>(f24), std::span<const std::int64_t>(shape234));
    f.write("grp/fz", std::span<const float>(f24), std::span<const std::int64_t>(shape234),
            {.deflate = 6, .chunk = {}, .shuffle = true});
    f.write("i", ints);
    f.write("u", std::span<const std::uint64_t>(words), std::span<const std::int64_t>(shape4));
    f.write("empty", std::span<const double>(), std::span<const std::int64_t>(shape03),
            {.deflate = 4, .chunk = {}, .shuffle = true});
    f.write_scalar("sd", 2.75);
    f.write_scalar("si", std::int64_t{-42});
  }
  const h5::File f = h5::File::open(p);
  BOOST_TEST(same_bits(f.open_dataset("d").read<double>(), d));
  BOOST_TEST(f.open_dataset("d").shape() == std::vector<std::int64_t>{6}, boost::test_tools::per_element());
  for (const char* name : {"grp/f", "grp/fz"}) {
    const h5::Dataset ds = f.open_dataset(name);
    BOOST_TEST(same_bits(ds.read<float>(), f24), name);
    BOOST_TEST(ds.shape() == shape234, boost::test_tools::per_element());
    BOOST_TEST((ds.kind() == h5::Kind::f32));
    // f32 widens exactly to double.
    BOOST_TEST(ds.read<double>()[3] == -0.25);
  }
  BOOST_TEST(f.open_dataset("i").read<std::int64_t>() == ints, boost::test_tools::per_element());
  BOOST_TEST(f.open_dataset("u").read<std::uint64_t>() == words, boost::test_tools::per_element());
  BOOST_TEST(f.open_dataset("empty").shape() == shape03, boost::test_tools::per_element());
  BOOST_TEST(f.open_dataset("empty").read<double>().empty());
  BOOST_TEST(f.open_dataset("sd").shape().empty());
  BOOST_TEST(f.open_dataset("sd").read_scalar<double>() == 2.75);
  BOOST_TEST(f.open_dataset("si").read_scalar<std::int64_t>() == -42);
}

BOOST_AUTO_TEST_CASE(bad_writes_and_reads_say_where) {
  TempDir dir("bad");
  const fs::path p = dir.path / "a.h5";
  h5::File f = h5::File::create(p);
  f.write("x/d", std::vector<double>{1, 2, 3});
  const std::vector<std::int64_t> shape = {2, 2};
  testing::expect_error<StoreError>([&] { f.write("x/d", std::vector<double>{1}); },
                                    {p.string(), ":/x/d:", "already exists"});
  testing::expect_error<StoreError>(
      [&] {
        f.write("y", std::span<const double>(std::vector<double>{1, 2, 3}), std::span<const std::int64_t>(shape));
      },
      {":/y:", "3 values do not fill shape [2, 2] (4 elements)"});
  testing::expect_error<StoreError>([&] { (void)f.open_dataset("x/d").read<float>(); },
                                    {":/x/d:", "is f64 [3], expected f32"});
  testing::expect_error<StoreError>([&] { (void)f.open_dataset("x/d").read<std::int64_t>(); },
                                    {"expected an integer type"});
  testing::expect_error<StoreError>([&] { (void)f.open_dataset("x/d").read_scalar<double>(); },
                                    {"has 3 elements, expected one"});
  testing::expect_error<StoreError>([&] { (void)f.open_dataset("x/d").read_string(); }, {"expected one string"});
  testing::expect_error<StoreError>([&] { (void)f.open_dataset("x"); }, {":/x:", "is a group, expected a dataset"});
  testing::expect_error<StoreError>([&] { (void)f.open_group("x/d"); }, {":/x/d:", "is a dataset, expected a group"});
  testing::expect_error<StoreError>([&] { (void)f.open_group("no/such/group"); },
                                    {":/no/such/group:", "no such group"});
  testing::expect_error<StoreError>([&] { (void)f.open_dataset("x/nope"); }, {":/x/nope:", "no such dataset"});
  testing::expect_error<StoreError>([&] { f.open_dataset("x/d").append(1.0); }, {"not extendible"});
  testing::expect_error<StoreError>([&] { f.remove("x/nope"); }, {"no such link"});
  BOOST_TEST(f.exists("x/d"));
  BOOST_TEST(!f.exists("x/nope"));
  BOOST_TEST(!f.exists("no/such/thing"));  // missing intermediates: false, not an error
  BOOST_TEST(f.is_group("x"));
  BOOST_TEST(!f.is_group("x/d"));
  BOOST_TEST(f.is_dataset("x/d"));
  f.remove("x/d");
  BOOST_TEST(!f.exists("x/d"));
}

BOOST_AUTO_TEST_CASE(strings_round_trip) {
  TempDir dir("strings");
  const fs::path p = dir.path / "s.h5";
  const std::vector<std::string> lines = {"first line", "", "Größe µ ✓", "tab\there\nnew line"};
  {
    h5::File f = h5::File::create(p);
    f.write_string("one", "a: 1\nb: [x, y]\n");
    f.write_string("empty", "");
    f.write_strings("many", lines);
    f.write_strings("none", {});
  }
  const h5::File f = h5::File::open(p);
  BOOST_TEST(f.open_dataset("one").read_string() == "a: 1\nb: [x, y]\n");
  BOOST_TEST(f.open_dataset("one").shape().empty());
  BOOST_TEST(f.open_dataset("empty").read_string() == "");
  BOOST_TEST(f.open_dataset("many").read_strings() == lines, boost::test_tools::per_element());
  BOOST_TEST(f.open_dataset("none").read_strings().empty());
  BOOST_TEST((f.open_dataset("many").kind() == h5::Kind::string));
}

BOOST_AUTO_TEST_CASE(tensors_keep_shape_and_type) {
  TempDir dir("tensors");
  const fs::path p = dir.path / "t.h5";
  const core::Tensor a = core::Tensor::from(std::vector<float>{1.5f, -2, 3, 4, 5, 6}, core::Shape{3, 2});
  const core::Tensor b = core::Tensor::from_i64(std::vector<std::int64_t>{9, -9}, core::Shape{2, 1, 1});
  const core::Tensor s = core::Tensor::scalar(0.125f);
  {
    h5::File f = h5::File::create(p);
    f.write("a", a);
    f.write("b", b);
    f.write("s", s);
  }
  const h5::File f = h5::File::open(p);
  const core::Tensor ra = f.open_dataset("a").read_tensor(), rb = f.open_dataset("b").read_tensor(),
                     rs = f.open_dataset("s").read_tensor();
  BOOST_TEST((ra.shape() == core::Shape{3, 2}));
  BOOST_TEST((ra.dtype() == core::DType::f32));
  BOOST_TEST(ra.to_vector() == a.to_vector(), boost::test_tools::per_element());
  BOOST_TEST((rb.shape() == core::Shape{2, 1, 1}));
  BOOST_TEST((rb.dtype() == core::DType::i64));
  BOOST_TEST(rb.to_vector_i64() == b.to_vector_i64(), boost::test_tools::per_element());
  BOOST_TEST(rs.rank() == 0);
  BOOST_TEST(rs.item() == 0.125f);
}

BOOST_AUTO_TEST_CASE(extendible_datasets_grow_across_flushes_and_reopening) {
  TempDir dir("extend");
  const fs::path p = dir.path / "e.h5";
  {
    h5::File f = h5::File::create(p);
    h5::Dataset d = f.create_extendible("curve", h5::Kind::f64, 2);
    h5::Dataset e = f.create_extendible("g/epoch", h5::Kind::i64);
    BOOST_TEST(d.size() == 0);
    d.append(0.5);
    e.append(std::int64_t{1});
    f.flush();
    d.append(std::vector<double>{0.25, 0.125, 0.0625});  // crosses chunk boundaries
    e.append(std::vector<std::int64_t>{2, 3});
    f.flush();
    testing::expect_error<StoreError>([&] { d.append(std::int64_t{1}); },
                                      {":/curve:", "expected a 1-D extendible i64"});
  }
  {
    h5::File f = h5::File::open(p, h5::File::Mode::read_write);
    f.open_dataset("curve").append(-1.0);
  }
  const h5::File f = h5::File::open(p);
  BOOST_TEST(f.open_dataset("curve").read<double>() == (std::vector<double>{0.5, 0.25, 0.125, 0.0625, -1.0}),
             boost::test_tools::per_element());
  BOOST_TEST(f.open_dataset("g/epoch").read<std::int64_t>() == (std::vector<std::int64_t>{1, 2, 3}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(deflate_compresses) {
  TempDir dir("deflate");
  // 1 MiB of a smooth pattern: compressed it must take far less.
  std::vector<float> v(1 << 18);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 64) / 64.0f;
  const std::vector<std::int64_t> shape = {256, 32, 32};
  {
    h5::File f = h5::File::create(dir.path / "z.h5");
    f.write("w", std::span<const float>(v), std::span<const std::int64_t>(shape),
            {.deflate = 4, .chunk = {}, .shuffle = true});
  }
  {
    h5::File f = h5::File::create(dir.path / "raw.h5");
    f.write("w", std::span<const float>(v), std::span<const std::int64_t>(shape));
  }
  const auto z = fs::file_size(dir.path / "z.h5"), raw = fs::file_size(dir.path / "raw.h5");
  BOOST_TEST_MESSAGE("1 MiB of floats: " << raw << " bytes raw, " << z << " deflated");
  BOOST_TEST(raw > (1u << 20));
  BOOST_TEST(z * 10 < raw);
  BOOST_TEST(same_bits(h5::File::open(dir.path / "z.h5").open_dataset("w").read<float>(), v));
}

BOOST_AUTO_TEST_CASE(external_links_resolve_relative_to_the_linking_file) {
  TempDir dir("links");
  {
    h5::File a = h5::File::create(dir.path / "target.h5");
    a.write_scalar("x/value", 4.5);
    h5::File b = h5::File::create(dir.path / "links.h5");
    b.link_external("to_root", "target.h5");
    b.link_external("deep/to_x", "target.h5", "/x");
    b.link_external("dangling", "missing.h5");
  }
  // The process's working directory is not dir: resolution uses links.h5's own directory.
  BOOST_TEST(fs::current_path() != dir.path);
  auto check = [](const fs::path& links) {
    const h5::File b = h5::File::open(links);
    BOOST_TEST(b.open_dataset("to_root/x/value").read_scalar<double>() == 4.5);
    BOOST_TEST(b.open_group("deep/to_x").open_dataset("value").read_scalar<double>() == 4.5);
    BOOST_TEST(b.exists("dangling"));
    BOOST_TEST(!b.is_group("dangling"));
    testing::expect_error<StoreError>([&] { (void)b.open_group("dangling"); }, {":/dangling:", "cannot open group"});
  };
  check(dir.path / "links.h5");
  // Moving the whole directory keeps the links working.
  const fs::path moved = dir.path / "moved";
  fs::create_directories(moved);
  fs::rename(dir.path / "target.h5", moved / "target.h5");
  fs::rename(dir.path / "links.h5", moved / "links.h5");
  check(moved / "links.h5");
}

BOOST_AUTO_TEST_CASE(tables_round_trip) {
  TempDir dir("table");
  const fs::path p = dir.path / "t.h5";
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<h5::TableColumn> cols = {
      {"id", false, {"a1", "b22", "c333"}, {}},
      {"model.type", false, {"lstm", "", "Größe"}, {}},
      {"val/accuracy", true, {}, {0.5, nan, 1.0}},
  };
  {
    h5::File f = h5::File::create(p);
    f.write_table("summary", cols);
    testing::expect_error<StoreError>(
        [&] {
          f.write_table("bad", {{"a", true, {}, {1}}, {"a", true, {}, {2}}});
        },
        {":/bad:", "column 'a' appears twice"});
    testing::expect_error<StoreError>(
        [&] {
          f.write_table("bad", {{"a", true, {}, {1}}, {"b", true, {}, {}}});
        },
        {"column 'b' has 0 rows, column 'a' has 1"});
  }
  const auto back = h5::File::open(p).open_dataset("summary").read_table();
  BOOST_TEST_REQUIRE(back.size() == 3u);
  BOOST_TEST(back[0].name == "id");
  BOOST_TEST(!back[0].numeric);
  BOOST_TEST(back[0].text == cols[0].text, boost::test_tools::per_element());
  BOOST_TEST(back[1].text == cols[1].text, boost::test_tools::per_element());
  BOOST_TEST(back[2].name == "val/accuracy");
  BOOST_TEST(back[2].numeric);
  BOOST_TEST(back[2].number[0] == 0.5);
  BOOST_TEST(std::isnan(back[2].number[1]));
  BOOST_TEST(back[2].number[2] == 1.0);
}

BOOST_AUTO_TEST_CASE(files_that_are_not_hdf5_give_store_errors) {
  TempDir dir("nothdf5");
  const fs::path text = dir.path / "notes.h5";
  std::ofstream(text) << "just some text, long enough to look like a file of some sort\n";
  testing::expect_error<StoreError>([&] { (void)h5::File::open(text); }, {text.string(), "cannot open as HDF5"});
  testing::expect_error<StoreError>([&] { (void)h5::File::open(dir.path / "missing.h5"); },
                                    {"missing.h5", "no such file"});
  testing::expect_error<StoreError>([&] { (void)h5::File::open(dir.path); }, {"it is a directory"});
  testing::expect_error<StoreError>([&] { (void)h5::File::create(dir.path / "no" / "dir" / "x.h5"); },
                                    {"x.h5", "cannot create"});
  const std::string msg = testing::error_of([&] { (void)h5::File::open(text); });
  BOOST_TEST_MESSAGE("opening a text file: " << msg);
}

BOOST_AUTO_TEST_CASE(objects_of_a_closed_file_throw) {
  TempDir dir("closed");
  h5::File f = h5::File::create(dir.path / "c.h5");
  h5::Dataset d = f.write("d", std::vector<double>{1, 2});
  f.close();
  BOOST_TEST(!f.is_open());
  testing::expect_error<StoreError>([&] { (void)d.read<double>(); }, {"c.h5:/d:"});
  // Closing is strong: the file can be reopened (and renamed) at once.
  BOOST_TEST(h5::File::open(dir.path / "c.h5").open_dataset("d").read<double>().size() == 2u);
}

// A full disk (/dev/full fails every write with ENOSPC) is one readable StoreError that carries its
// errno, not HDF5's error stack, and the failed close leaves a library that still shuts down: before,
// HDF5's exit handler crashed the process (SIGSEGV in H5F__close_cb) after a failed close.
BOOST_AUTO_TEST_CASE(a_full_disk_is_one_storage_error) {
  if (!fs::exists("/dev/full")) return;
  std::vector<double> values(1 << 16, 1.0);
  int err = 0;
  std::string what;
  try {
    h5::File f = h5::File::create("/dev/full");
    f.write("x", values);
    f.flush();
    f.close();
  } catch (const StoreError& e) {
    err = e.storage_errno();
    what = e.what();
  }
  BOOST_TEST(err == ENOSPC);
  BOOST_TEST(what == "no space left on device writing /dev/full");
  BOOST_TEST(is_storage_errno(EDQUOT));
  BOOST_TEST(!is_storage_errno(ENOENT));
  // The library still works for other files.
  TempDir dir("full");
  h5::File ok = h5::File::create(dir.path / "ok.h5");
  ok.write("x", values);
  ok.close();
  BOOST_TEST(h5::File::open(dir.path / "ok.h5").open_dataset("x").size() == static_cast<std::int64_t>(values.size()));
}

BOOST_AUTO_TEST_SUITE_END()
