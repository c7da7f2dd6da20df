// dataset/images: labelled grey-scale images, as sequences of pixel rows.
//
// Formats (`format`):
//   idx  MNIST's IDX files (Fashion-MNIST: /usr/share/datasets/fashion-mnist/{train,t10k}-images-idx3-
//        ubyte.gz and ...-labels-idx1-ubyte.gz): an images file (magic 0x00000803: unsigned bytes,
//        3 dims N x height x width, big-endian) and a labels file (magic 0x00000801: N bytes), plain or
//        gzip. Magic numbers, the data size against the header, and the image count against the label
//        count are checked.
//   csv  one image per line: width * height pixel values (row-major) and the label, which is the last
//        column (label_column: last, e.g. sklearn's digits.csv.gz: 64 pixels in 0..16, then 0-9) or the
//        first (label_column: first, e.g. Kaggle's mnist_train.csv, with header: true). Plain or gzip.
//        width and height may be 0: the pixel count must then be a square (64 -> 8 x 8), or one of them
//        is given and the other follows.
//
// Examples (dense steps, examples.h): image i is a history of T = height steps, step p being pixel
// row p with step_dim = width features: step_values[(i*T + p) * width + x] = pixel(p, x) / scale,
// so pixels lie in [0, 1] (a pixel above `scale` is an error). begin[i] = i*T, end[i] = (i+1)*T;
// `tokens` holds N*T zeros (padding ids: no ids, vocab 0) so that begin/end index both arrays
// alike. Images of the train file(s) come first, then those of the test file(s).
// Labels: task `task`, kClass, classes = `classes` (0: the largest label + 1; a label >= classes is
// an error), class_names = `class_names` (empty: "0", "1", ...).
// Splits: with test files (test_images + test_labels, or test_path), the test file is the test split
// and valid_ratio of the train file (seeded random) is the validation split; without, a seeded random
// train_ratio / valid_ratio / rest split of the train file. The seed comes from the trial's data Rng.
// No table: row steps do not apply.
#pragma once

#include "framework/core/rng.h"
#include "framework/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnlab::plugins {

struct ImagesConfig {
  std::string format = "idx";
  std::string train_images, train_labels, test_images, test_labels;
  std::string path, test_path;
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::string label_column = "last";
  bool header = false;
  std::string delimiter = ",";
  double scale = 255.0;
  std::int64_t classes = 0;
  std::vector<std::string> class_names{};
  std::string task = "label";
  double train_ratio = 0.8;
  double valid_ratio = 0.1;

  /// The file layout, for `attnlab plugins dataset/images` (registry.h); datasets/README.md says the same.
  static constexpr const char* kFormat =
      "format: csv: one image per line, width * height pixel values (row-major), then the label\n"
      "(label_column: last; first puts it first), no header (header: true skips one):\n"
      "  0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0, ... ,0,0,6,13,10,0,0,0,0\n"
      "  0,0,0,12,13,5,0,0,0,0,0,11,16,9,0,0, ... ,0,0,11,16,10,0,0,1\n"
      "format: idx (default): MNIST's binary IDX files, train_images (idx3-ubyte: N x height x width bytes)\n"
      "and train_labels (idx1-ubyte: N bytes), plain or gzip";

  template <class V>
  void visit(V& v) {
    v("format", format)
        .choices({"idx", "csv"})
        .doc("idx: MNIST IDX image + label files; csv: pixel rows with a label column");
    v("train_images", train_images).doc("idx: training images file (idx3-ubyte, plain or gzip)");
    v("train_labels", train_labels).doc("idx: training labels file (idx1-ubyte)");
    v("test_images", test_images).doc("idx: test images file (empty: a random test split of the training file)");
    v("test_labels", test_labels).doc("idx: test labels file (with test_images)");
    v("path", path).doc("csv: the pixel rows file (plain or gzip)");
    v("test_path", test_path).doc("csv: a separate test file (empty: a random test split of `path`)");
    v("width", width).min(0).doc("csv: image width, pixels per step (0: from the column count)");
    v("height", height).min(0).doc("csv: image height, steps per image (0: from the column count)");
    v("label_column", label_column).choices({"last", "first"}).doc("csv: where the label is");
    v("header", header).doc("csv: the first line of each file is a header (skipped)");
    v("delimiter", delimiter).doc("csv: the one-character field separator");
    v("scale", scale).min(1e-12).doc("pixels are divided by this (255 for bytes, 16 for sklearn digits)");
    v("classes", classes).range(0, 1 << 20).doc("number of classes (0: the largest label + 1)");
    v("class_names", class_names).doc("names of the classes (empty: their numbers)");
    v("task", task).doc("name of the label column");
    v("train_ratio", train_ratio)
        .range(0.0, 1.0)
        .doc("fraction of the training file for training (without a test file)");
    v("valid_ratio", valid_ratio).range(0.0, 1.0).doc("fraction of the training file for validation");
  }
};

/// An IDX array of unsigned bytes: dims (big-endian int32 in the file) and the data, row-major.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

/// Reads an IDX file of unsigned bytes (plain or gzip). Throws data::DataError naming the path:
/// "cannot open", "not an IDX file (magic ...)" for bad zero bytes, "element type 0x0D is not
/// supported" for anything but unsigned bytes (0x08), "truncated" when the file holds fewer bytes than
/// its dims say, "<k> bytes after the data" when it holds more, or "expected <d> dimensions" when
/// `expect_dims` > 0 and differs.
IdxArray read_idx(const std::string& path, std::int64_t expect_dims = 0);

/// Images with their labels, pixels unscaled, row-major per image ([N * height * width]) in ONE of
/// `bytes` (IDX: kept as read, a quarter of the memory) or `pixels` (CSV).
struct PixelImages {
  std::int64_t width = 0, height = 0;
  std::vector<std::uint8_t> bytes;
  std::vector<float> pixels;
  std::vector<std::int64_t> labels;  ///< [N], >= 0
  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
};

/// Reads an IDX images + labels pair. Throws what read_idx throws, and data::DataError when the
/// image and label counts differ.
PixelImages read_idx_images(const std::string& images_path, const std::string& labels_path);

/// Reads a CSV file of pixel rows (see the top of this file; c gives width, height, label_column,
/// header, delimiter). Throws data::DataError "<path>:<line>: ..." for a wrong column count, a value
/// that is not a number, or a label that is not an integer >= 0; and when width/height cannot be
/// found from the column count or the file has no rows.
PixelImages read_pixel_csv(const std::string& path, const ImagesConfig& c);

class ImagesDataset : public data::Dataset {
 public:
  /// Checks the config at once: throws data::DataError "dataset images: ..." when the files of the
  /// format are missing from the config (idx: train_images and train_labels, test ones as a pair;
  /// csv: path), the delimiter is not one character, train_ratio + valid_ratio > 1 without a test file, class_names has
  /// an entry count other than classes, or ctx.rng is null.
  ImagesDataset(const ImagesConfig& c, const Context& ctx);
  /// Reads the files and builds examples and splits (see the top of this file). Throws data::DataError
  /// for unreadable or malformed files, mismatched image sizes between the train and test files, a
  /// pixel above scale or a label >= classes.
  data::Built build(data::Table table, data::DataReport& report) override;

 private:
  ImagesConfig c_;
  std::string base_dir_;
  core::Rng rng_;
};

}  // namespace attnlab::plugins
