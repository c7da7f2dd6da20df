// dataset/images: IDX files written by the test (plain and gzip, good and broken) and tiny hand-made
// CSV files under tests/data/datasets/gen/ (digits_*.csv).
#include "framework/config/value.h"
#include "framework/registry/registry.h"
#include "plugins/dataset/images/images.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <zlib.h>
#include "tests/support/temp_dir.h"

#include <unistd.h>
#include <filesystem>
#include <fstream>

namespace attnlab_images_test {

using namespace attnlab;
using attnlab::testing::expect_error;
using plugins::ImagesConfig;
using Bytes = std::vector<std::uint8_t>;
using Ids = std::vector<std::int64_t>;
namespace fs = std::filesystem;

const std::string kDir = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/gen";

// A scratch directory for the IDX files, removed at the end of each test.
struct Scratch : testing::TempDir {
  Scratch() : TempDir("test_images") {}
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

Bytes be32(std::uint32_t x) {
  return {static_cast<std::uint8_t>(x >> 24), static_cast<std::uint8_t>(x >> 16), static_cast<std::uint8_t>(x >> 8),
          static_cast<std::uint8_t>(x)};
}

// magic = 00 00 <type> <ndims>, dims big-endian, then data.
Bytes idx(const Ids& dims, const Bytes& data, std::uint8_t type = 0x08) {
  Bytes b{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (const auto d : dims) {
    const auto e = be32(static_cast<std::uint32_t>(d));
    b.insert(b.end(), e.begin(), e.end());
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write(const std::string& path, const Bytes& b, bool gzip = false) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    BOOST_REQUIRE(f != nullptr);
    BOOST_REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    gzclose(f);
    return;
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Four training images of height 2 x width 3, pixel (i, r, x) = 10 * i + 3 * r + x, labels 3 0 1 3;
// two test images (gzip) of 255s and 0s, labels 2 0.
struct Files {
  Scratch s;
  std::string train_images = s / "train-images-idx3-ubyte", train_labels = s / "train-labels-idx1-ubyte";
  std::string test_images = s / "t10k-images-idx3-ubyte.gz", test_labels = s / "t10k-labels-idx1-ubyte.gz";
  Files() {
    Bytes px;
    for (int i = 0; i < 4; ++i)
      for (int r = 0; r < 2; ++r)
        for (int x = 0; x < 3; ++x) px.push_back(static_cast<std::uint8_t>(10 * i + 3 * r + x));
    write(train_images, idx({4, 2, 3}, px));
    write(train_labels, idx({4}, {3, 0, 1, 3}));
    Bytes test_px;
    for (int j = 0; j < 12; ++j) test_px.push_back(j < 6 ? 255 : 0);
    write(test_images, idx({2, 2, 3}, test_px), true);
    write(test_labels, idx({2}, {2, 0}), true);
  }
  ImagesConfig config() const {
    ImagesConfig c;
    c.train_images = train_images;
    c.train_labels = train_labels;
    c.test_images = test_images;
    c.test_labels = test_labels;
    c.valid_ratio = 0.25;
    return c;
  }
};

data::Built build(const ImagesConfig& c, std::uint64_t seed = 1, const std::string& base = "") {
  core::Rng rng(seed);
  plugins::ImagesDataset ds(c, {.rng = &rng, .base_dir = base});
  data::DataReport report;
  return ds.build({}, report);
}

BOOST_AUTO_TEST_SUITE(data_images)

BOOST_AUTO_TEST_CASE(idx_train_and_gzip_test_files_become_rows_of_pixels) {
  const Files f;
  const auto b = build(f.config());
  const auto& ex = b.examples;
  BOOST_TEST(ex.size() == 6);
  BOOST_TEST(ex.step_dim == 3);
  BOOST_TEST(ex.vocab == 0);
  BOOST_TEST(ex.step_values.size() == 36u);
  BOOST_TEST((ex.tokens == Ids(12, 0)));
  for (std::int64_t i = 0; i < 6; ++i) {
    BOOST_TEST(ex.begin[i] == 2 * i);
    BOOST_TEST(ex.end[i] == 2 * i + 2);
  }
  // image 2, row 1, column 2: (10 * 2 + 3 * 1 + 2) / 255
  BOOST_TEST(ex.step_values[(2 * 2 + 1) * 3 + 2] == 25.0f / 255.0f);
  BOOST_TEST(ex.step_values[0] == 0.0f);
  BOOST_TEST(ex.step_values[4 * 6] == 1.0f);      // first test image: all 255
  BOOST_TEST(ex.step_values[5 * 6 + 5] == 0.0f);  // second: all 0
  const auto& l = ex.labels.at(0);
  BOOST_TEST(l.task == "label");
  BOOST_TEST((l.kind == data::LabelKind::kClass));
  BOOST_TEST(l.classes == 4);  // the largest label + 1
  BOOST_TEST((l.class_names == std::vector<std::string>{"0", "1", "2", "3"}));
  BOOST_TEST((l.ids == Ids{3, 0, 1, 3, 2, 0}));
  // valid = 0.25 of the 4 training images; the test file is the test split.
  BOOST_TEST(b.splits.train.size() == 3u);
  BOOST_TEST(b.splits.valid.size() == 1u);
  BOOST_TEST(b.splits.valid[0] < 4);
  BOOST_TEST((b.splits.test == Ids{4, 5}));
  BOOST_TEST((build(f.config()).splits.valid == b.splits.valid));  // seeded
}

BOOST_AUTO_TEST_CASE(idx_without_test_files_splits_at_random_and_names_classes) {
  const Files f;
  auto c = f.config();
  c.test_images.clear();
  c.test_labels.clear();
  c.train_ratio = 0.5;
  c.valid_ratio = 0.25;
  c.classes = 5;
  c.class_names = {"a", "b", "c", "d", "e"};
  c.scale = 40;
  c.task = "digit";
  const auto b = build(c);
  BOOST_TEST(b.examples.size() == 4);
  BOOST_TEST(b.splits.train.size() == 2u);
  BOOST_TEST(b.splits.valid.size() == 1u);
  BOOST_TEST(b.splits.test.size() == 1u);
  BOOST_TEST(b.examples.labels[0].classes == 5);
  BOOST_TEST(b.examples.labels[0].class_names[4] == "e");
  BOOST_TEST(b.examples.labels[0].task == "digit");
  BOOST_TEST(b.examples.step_values[4] == 4.0f / 40.0f);  // image 0, row 1, column 1: 3 + 1
}

BOOST_AUTO_TEST_CASE(read_idx_checks_magic_sizes_and_counts) {
  const Files f;
  const auto a = plugins::read_idx(f.test_images);
  BOOST_TEST((a.dims == Ids{2, 2, 3}));
  BOOST_TEST(a.data.size() == 12u);
  const Scratch s;
  auto bad = [&](const Bytes& b, const std::vector<std::string>& parts, std::int64_t dims = 0) {
    write(s / "bad", b);
    expect_error<data::DataError>([&] { plugins::read_idx(s / "bad", dims); }, parts);
  };
  bad({1, 0, 8, 3, 0, 0, 0, 1}, {"bad: not an IDX file", "magic number 01000803"});
  bad({0, 0}, {"shorter than its 4-byte magic number"});
  bad(idx({2}, {1, 2}, 0x0D), {"element type 0x0D is not supported"});
  bad(idx({3}, {1, 2}), {"truncated", "promises 3 bytes of data, the file has 2"});
  bad(Bytes{0, 0, 8, 2, 0, 0, 0}, {"truncated: the header ends inside dimension 1"});
  bad(idx({2}, {1, 2, 3}), {"1 bytes after the data"});
  bad(idx({2}, {1, 2}), {"expected 3 dimensions (an images file, idx3), the IDX header has 1"}, 3);
  expect_error<data::DataError>([&] { plugins::read_idx(s / "missing"); }, {"missing: cannot open"});

  write(s / "labels3", idx({3}, {1, 2, 3}));
  expect_error<data::DataError>([&] { plugins::read_idx_images(f.train_images, s / "labels3"); },
                                {"holds 4 images but", "labels3 holds 3 labels"});
  // Images and labels swapped.
  expect_error<data::DataError>([&] { plugins::read_idx_images(f.train_labels, f.train_images); },
                                {"expected 3 dimensions"});
}

// The dims are the file's claim: a few bytes claiming a terabyte (the most the header check lets
// through) are "truncated" at once, gzip or not, without allocating what they claim. Before, read_idx
// sized its buffer from the header: std::bad_alloc escaped here (fuzz/fuzz_idx: ASan's
// allocation-size-too-big), and a claim of some gigabytes zero-filled that much memory.
BOOST_AUTO_TEST_CASE(read_idx_allocates_what_the_file_holds_not_what_it_claims) {
  const Scratch s;
  for (const bool gzip : {false, true}) {
    write(s / "huge", idx({65536, 4096, 4096}, {1, 2, 3}), gzip);
    expect_error<data::DataError>([&] { plugins::read_idx(s / "huge", 3); },
                                  {"truncated", "65536 x 4096 x 4096", "promises 1099511627776 bytes", "has 3"});
  }
}

BOOST_AUTO_TEST_CASE(idx_dataset_errors) {
  const Files f;
  auto few_classes = f.config();
  few_classes.classes = 3;
  expect_error<data::DataError>([&] { build(few_classes); }, {"dataset images", "label 3", "classes = 3"});
  auto low_scale = f.config();
  low_scale.scale = 16;
  expect_error<data::DataError>([&] { build(low_scale); }, {"is 255, above scale = 16"});
  const Scratch s;
  write(s / "wide", idx({1, 2, 4}, Bytes(8, 0)));
  write(s / "wide_labels", idx({1}, {0}));
  auto mixed = f.config();
  mixed.test_images = s / "wide";
  mixed.test_labels = s / "wide_labels";
  expect_error<data::DataError>([&] { build(mixed); }, {"has 3 x 2 images but", "has 4 x 2"});
  core::Rng rng(1);
  auto only_images = f.config();
  only_images.test_labels.clear();
  expect_error<data::DataError>([&] { plugins::ImagesDataset ds(only_images, {.rng = &rng}); },
                                {"give both or neither"});
  ImagesConfig none;
  expect_error<data::DataError>([&] { plugins::ImagesDataset ds(none, {.rng = &rng}); },
                                {"needs train_images and train_labels"});
  auto names = f.config();
  names.class_names = {"a", "b"};
  expect_error<data::DataError>([&] { plugins::ImagesDataset ds(names, {.rng = &rng}); },
                                {"class_names has 2 names but classes = 0"});
}

BOOST_AUTO_TEST_CASE(csv_pixel_rows) {
  ImagesConfig c;
  c.format = "csv";
  c.path = "digits_tiny.csv";
  c.scale = 16;
  c.train_ratio = 0.5;
  c.valid_ratio = 0.25;
  const auto b = build(c, 1, kDir);
  const auto& ex = b.examples;
  // 4 pixel columns: a 2 x 2 square; labels last: 1 0 2 1.
  BOOST_TEST(ex.size() == 4);
  BOOST_TEST(ex.step_dim == 2);
  BOOST_TEST(ex.length(0) == 2);
  BOOST_TEST((ex.step_values == std::vector<float>{0.0f, 1.0f, 0.5f, 0.25f, 1.0f, 0.0f, 0.0f, 1.0f, 0.25f, 0.25f, 0.25f,
                                                   0.25f, 1.0f / 16, 2.0f / 16, 3.0f / 16, 4.0f / 16}));
  BOOST_TEST((ex.labels[0].ids == Ids{1, 0, 2, 1}));
  BOOST_TEST(ex.labels[0].classes == 3);
  BOOST_TEST(b.splits.train.size() == 2u);
  BOOST_TEST(b.splits.test.size() == 1u);

  c.width = 4;  // one row of 4 pixels per image
  const auto flat = build(c, 1, kDir);
  BOOST_TEST(flat.examples.step_dim == 4);
  BOOST_TEST(flat.examples.length(3) == 1);

  ImagesConfig first;
  first.format = "csv";
  first.path = "digits_tiny_first.csv";
  first.test_path = "digits_tiny.csv";
  first.label_column = "first";
  first.header = true;
  first.scale = 16;
  first.valid_ratio = 0.0;
  // digits_tiny.csv read with the label first and a header: its first line is skipped, the first
  // column of the others (16 4 1) are labels, so classes = 17.
  const auto both = build(first, 1, kDir);
  BOOST_TEST(both.examples.size() == 5);
  BOOST_TEST((both.examples.labels[0].ids == Ids{1, 0, 16, 4, 1}));
  BOOST_TEST(both.examples.labels[0].classes == 17);
  BOOST_TEST((both.splits.train == Ids{0, 1}));
  BOOST_TEST((both.splits.test == Ids{2, 3, 4}));
  BOOST_TEST(both.examples.step_values[1] == 1.0f);  // row 1 of the first file: 1,0,16,8,4 -> pixels 0 16 8 4

  ImagesConfig six;
  six.format = "csv";
  six.path = "digits_six.csv";
  six.scale = 6;
  expect_error<data::DataError>([&] { build(six, 1, kDir); },
                                {"digits_six.csv:1: 6 pixel columns are not a square image"});
  six.height = 2;
  const auto tall = build(six, 1, kDir);
  BOOST_TEST(tall.examples.step_dim == 3);
  BOOST_TEST(tall.examples.length(0) == 2);
}

BOOST_AUTO_TEST_CASE(csv_errors_name_file_line_and_column) {
  ImagesConfig c;
  c.format = "csv";
  c.scale = 16;
  auto fails = [&](const std::string& file, const std::vector<std::string>& parts) {
    c.path = file;
    expect_error<data::DataError>([&] { build(c, 1, kDir); }, parts);
  };
  fails("digits_bad_cols.csv", {"digits_bad_cols.csv:2: expected 5 columns (2 x 2 pixels and the label), got 4"});
  fails("digits_bad_value.csv", {"digits_bad_value.csv:1: column 2: expected a number, got 'x'"});
  fails("digits_bad_label.csv", {"digits_bad_label.csv:1: column 5: label '2.5' is not a class id"});
  fails("no_such.csv", {"no_such.csv: cannot open"});
  // Found by fuzzing: one huge label became 333 million class names (out of memory).
  fails("digits_huge_label.csv", {"label 333333330 in", "would make 333333331 classes for 3 images; give `classes`"});
  c.delimiter = ";;";
  core::Rng rng(1);
  expect_error<data::DataError>([&] { plugins::ImagesDataset ds(c, {.rng = &rng}); },
                                {"delimiter ';;' must be one character"});
}

BOOST_AUTO_TEST_CASE(registered_with_its_config) {
  const auto& reg = registry::Registry<data::Dataset>::get();
  core::Rng rng(2);
  const auto node = config::parse("type: images\nformat: csv\npath: digits_tiny.csv\nscale: 16\n", "spec.yaml");
  auto ds = reg.create(node, {.rng = &rng, .base_dir = kDir}, "data.dataset");
  data::DataReport report;
  const auto b = ds->build({}, report);
  BOOST_TEST(b.examples.size() == 4);
  BOOST_TEST(report.lines.size() == 1u);
  const auto bad = config::parse("type: images\nformat: png\n", "spec.yaml");
  expect_error<Error>([&] { reg.create(bad, {.rng = &rng}, "data.dataset"); }, {"png"});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_images_test
