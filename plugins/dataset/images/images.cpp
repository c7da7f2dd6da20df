#include "plugins/dataset/images/images.h"

#include "framework/data/splits.h"
#include "framework/data/text_file.h"
#include "framework/registry/registry.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>

namespace attnlab::plugins {

namespace {

constexpr const char* kWho = "dataset images";

[[noreturn]] void fail(const std::string& what) { throw data::DataError(fmt::format("{}: {}", kWho, what)); }

// Reads up to n bytes; returns how many were read (fewer only at the end of the file).
std::size_t read_some(gzFile f, const std::string& path, void* out, std::size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  std::size_t got = 0;
  while (got < n) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    const int r = gzread(f, p + got, chunk);
    if (r < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      throw data::DataError(fmt::format("{}: cannot read: {}", path, msg));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

// A seeded split of `rows` into train and valid (valid_ratio of them, rounded).
void carve(const std::vector<std::int64_t>& rows, double valid_ratio, std::uint64_t seed, data::Splits& out) {
  const auto s = data::random_split(static_cast<std::int64_t>(rows.size()), 1.0 - valid_ratio, valid_ratio, seed, kWho);
  for (const auto i : s.train) out.train.push_back(rows[static_cast<std::size_t>(i)]);
  for (const auto i : s.test) out.train.push_back(rows[static_cast<std::size_t>(i)]);  // rounding leftovers
  for (const auto i : s.valid) out.valid.push_back(rows[static_cast<std::size_t>(i)]);
  std::sort(out.train.begin(), out.train.end());
}

bool parse_number(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

IdxArray read_idx(const std::string& path, std::int64_t expect_dims) {
  if (std::filesystem::is_directory(path))
    throw data::DataError(fmt::format("{}: cannot open: it is a directory", path));
  gzFile f = gzopen(path.c_str(), "rb");  // plain files are read through transparently
  if (f == nullptr) throw data::DataError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
  gzbuffer(f, 1 << 17);
  unsigned char magic[4];
  if (read_some(f, path, magic, 4) < 4)
    throw data::DataError(fmt::format("{}: not an IDX file: shorter than its 4-byte magic number", path));
  if (magic[0] != 0 || magic[1] != 0)
    throw data::DataError(
        fmt::format("{}: not an IDX file: magic number {:02x}{:02x}{:02x}{:02x} does not start with two zero bytes",
                    path, magic[0], magic[1], magic[2], magic[3]));
  if (magic[2] != 0x08)
    throw data::DataError(
        fmt::format("{}: IDX element type 0x{:02X} is not supported (only unsigned bytes, 0x08)", path, magic[2]));
  const std::int64_t ndims = magic[3];
  if (expect_dims > 0 && ndims != expect_dims)
    throw data::DataError(fmt::format("{}: expected {} dimensions ({}), the IDX header has {}", path, expect_dims,
                                      expect_dims == 3 ? "an images file, idx3" : "a labels file, idx1", ndims));
  IdxArray a;
  std::int64_t total = 1;
  for (std::int64_t d = 0; d < ndims; ++d) {
    unsigned char b[4];
    if (read_some(f, path, b, 4) < 4)
      throw data::DataError(fmt::format("{}: truncated: the header ends inside dimension {}", path, d + 1));
    const std::int64_t size =
        (std::int64_t{b[0]} << 24) | (std::int64_t{b[1]} << 16) | (std::int64_t{b[2]} << 8) | std::int64_t{b[3]};
    if (size > (std::int64_t{1} << 31) - 1 || (size > 0 && total > (std::int64_t{1} << 40) / size))
      throw data::DataError(fmt::format("{}: dimension {} = {} is implausibly large", path, d + 1, size));
    a.dims.push_back(size);
    total *= size;
  }
  // The dims are the file's claim, not its size: the buffer grows with the bytes that really come
  // (chunks of at least 1 MiB, doubling), so that 20 bytes claiming a terabyte are "truncated" at
  // once instead of an allocation of a terabyte (std::bad_alloc, or the machine's memory zero-filled).
  const auto want = static_cast<std::size_t>(total);
  std::size_t got = 0;
  while (got < want) {
    const std::size_t chunk = std::min(want - got, std::max<std::size_t>(got, std::size_t{1} << 20));
    a.data.resize(got + chunk);
    const std::size_t r = read_some(f, path, a.data.data() + got, chunk);
    got += r;
    if (r < chunk) break;
  }
  a.data.resize(got);
  if (got < want)
    throw data::DataError(fmt::format("{}: truncated: the header ({}) promises {} bytes of data, the file has {}", path,
                                      fmt::join(a.dims, " x "), total, got));
  unsigned char extra[4096];
  std::size_t more = 0;
  for (std::size_t r; (r = read_some(f, path, extra, sizeof extra)) > 0;) more += r;
  if (more > 0)
    throw data::DataError(
        fmt::format("{}: {} bytes after the data the header ({}) describes", path, more, fmt::join(a.dims, " x ")));
  return a;
}

PixelImages read_idx_images(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0])
    throw data::DataError(fmt::format("{} holds {} images but {} holds {} labels", images_path, images.dims[0],
                                      labels_path, labels.dims[0]));
  PixelImages p;
  p.height = images.dims[1];
  p.width = images.dims[2];
  p.bytes = std::move(images.data);
  p.labels.assign(labels.data.begin(), labels.data.end());
  return p;
}

PixelImages read_pixel_csv(const std::string& path, const ImagesConfig& c) {
  if (c.delimiter.size() != 1) fail(fmt::format("delimiter '{}' must be one character", c.delimiter));
  PixelImages p;
  std::vector<std::string> fields;
  std::int64_t columns = 0;
  const bool label_first = c.label_column == "first";
  data::for_each_line(path, [&](std::int64_t line, std::string_view s) {
    if (c.header && line == 1) return true;
    if (line == 1 && s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
    if (s.find_first_not_of(" \t") == std::string_view::npos) return true;  // blank line
    data::split_fields(s, c.delimiter[0], 0, true, fields);
    const auto n = static_cast<std::int64_t>(fields.size());
    if (columns == 0) {
      columns = n;
      std::int64_t w = c.width, h = c.height;
      const std::int64_t pixels = n - 1;
      if (w == 0 && h == 0) {
        w = h =
            static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<std::int64_t>(pixels, 0)))));
        if (pixels < 1 || w * h != pixels)
          throw data::DataError(
              fmt::format("{}:{}: {} pixel columns are not a square image: set width and height", path, line, pixels));
      } else if (w == 0 || h == 0) {
        const std::int64_t known = w == 0 ? h : w;
        if (pixels < 1 || pixels % known != 0)
          throw data::DataError(fmt::format("{}:{}: {} pixel columns are not a multiple of {} = {}", path, line, pixels,
                                            w == 0 ? "height" : "width", known));
        (w == 0 ? w : h) = pixels / known;
      }
      p.width = w;
      p.height = h;
    }
    const std::int64_t want = p.width * p.height + 1;
    if (n != want)
      throw data::DataError(fmt::format("{}:{}: expected {} columns ({} x {} pixels and the label), got {}", path, line,
                                        want, p.width, p.height, n));
    const std::int64_t label_at = label_first ? 0 : n - 1;
    for (std::int64_t j = 0; j < n; ++j) {
      double x = 0;
      const auto& f = fields[static_cast<std::size_t>(j)];
      if (!parse_number(f, x) || !std::isfinite(x))
        throw data::DataError(fmt::format("{}:{}: column {}: expected a number, got '{}'", path, line, j + 1, f));
      if (j == label_at) {
        if (x < 0 || x != std::floor(x) || x > 1e9)
          throw data::DataError(
              fmt::format("{}:{}: column {}: label '{}' is not a class id (an integer >= 0)", path, line, j + 1, f));
        p.labels.push_back(static_cast<std::int64_t>(x));
      } else {
        p.pixels.push_back(static_cast<float>(x));
      }
    }
    return true;
  });
  if (p.labels.empty()) throw data::DataError(fmt::format("{}: no image rows", path));
  return p;
}

ImagesDataset::ImagesDataset(const ImagesConfig& c, const Context& ctx) : c_(c), base_dir_(ctx.base_dir) {
  if (c_.format == "idx") {
    if (c_.train_images.empty() || c_.train_labels.empty()) fail("format idx needs train_images and train_labels");
    if (c_.test_images.empty() != c_.test_labels.empty())
      fail("test_images and test_labels go together: give both or neither");
  } else {
    if (c_.path.empty()) fail("format csv needs `path`");
    if (c_.delimiter.size() != 1) fail(fmt::format("delimiter '{}' must be one character", c_.delimiter));
  }
  const bool has_test = c_.format == "idx" ? !c_.test_images.empty() : !c_.test_path.empty();
  if (!has_test && c_.train_ratio + c_.valid_ratio > 1.0 + 1e-12)
    fail(fmt::format("train_ratio + valid_ratio = {} + {} exceeds 1", c_.train_ratio, c_.valid_ratio));
  if (!c_.class_names.empty() && static_cast<std::int64_t>(c_.class_names.size()) != c_.classes)
    fail(fmt::format("class_names has {} names but classes = {}", c_.class_names.size(), c_.classes));
  if (ctx.rng == nullptr) fail("no data Rng in the context");
  rng_ = ctx.rng->fork(0x1a6e);
}

data::Built ImagesDataset::build(data::Table, data::DataReport& report) {
  const auto start = std::chrono::steady_clock::now();
  auto resolve = [&](const std::string& p) { return data::resolve_path(p, base_dir_); };
  const bool idx = c_.format == "idx";
  const bool has_test = idx ? !c_.test_images.empty() : !c_.test_path.empty();
  std::string source = idx ? resolve(c_.train_images) : resolve(c_.path);
  PixelImages train =
      idx ? read_idx_images(resolve(c_.train_images), resolve(c_.train_labels)) : read_pixel_csv(resolve(c_.path), c_);
  PixelImages test;
  if (has_test) {
    const std::string test_source = idx ? resolve(c_.test_images) : resolve(c_.test_path);
    test = idx ? read_idx_images(test_source, resolve(c_.test_labels)) : read_pixel_csv(test_source, c_);
    if (test.width != train.width || test.height != train.height)
      fail(fmt::format("{} has {} x {} images but {} has {} x {}", source, train.width, train.height, test_source,
                       test.width, test.height));
    source += ", " + test_source;
  }
  const std::int64_t n_train = train.size(), n = n_train + test.size(), T = train.height, W = train.width;
  if (n_train == 0) fail(fmt::format("{} holds no images", source));
  if (T == 0 || W == 0) fail(fmt::format("{} holds images of {} x {} pixels", source, W, T));

  std::int64_t classes = c_.classes;
  std::int64_t max_label = 0;
  for (const auto* part : {&train, &test})
    for (const auto l : part->labels) max_label = std::max(max_label, l);
  // Classes from the labels: a label far beyond the number of images is a damaged file or a column
  // that holds no class ids (fuzzing: one label 333333330 made 333 million class names).
  if (classes == 0 && max_label >= std::max<std::int64_t>(n, 256))
    fail(
        fmt::format("label {} in {}: as the largest class id it would make {} classes for {} images; give `classes` "
                    "(or check the label column)",
                    max_label, source, max_label + 1, n));
  if (classes == 0) classes = max_label + 1;
  if (max_label >= classes)
    fail(fmt::format("label {} in {} is out of range for classes = {}", max_label, source, classes));

  data::Built b;
  auto& ex = b.examples;
  ex.vocab = 0;
  ex.step_dim = W;
  ex.step_values.resize(static_cast<std::size_t>(n * T * W));
  const auto scale = static_cast<float>(c_.scale);
  float top = 0, bottom = 0;
  float* out = ex.step_values.data();
  for (auto* part : {&train, &test}) {
    if (!part->bytes.empty()) {
      float table[256];  // the same division as for CSV pixels, done once per byte value
      for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v) / scale;
      std::uint8_t hi = 0;
      for (const std::uint8_t v : part->bytes) {
        hi = std::max(hi, v);
        *out++ = table[v];
      }
      top = std::max(top, static_cast<float>(hi));
    } else {
      for (const float x : part->pixels) {
        top = std::max(top, x);
        bottom = std::min(bottom, x);
        *out++ = x / scale;
      }
    }
    part->bytes = {};
    part->pixels = {};
  }
  if (top > scale)
    fail(fmt::format("a pixel of {} is {}, above scale = {}: set `scale` to the largest pixel value", source, top,
                     c_.scale));
  if (bottom < 0) fail(fmt::format("a pixel of {} is {}: pixels must be >= 0", source, bottom));
  ex.tokens.assign(static_cast<std::size_t>(n * T), 0);
  ex.begin.resize(static_cast<std::size_t>(n));
  ex.end.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    ex.begin[static_cast<std::size_t>(i)] = i * T;
    ex.end[static_cast<std::size_t>(i)] = (i + 1) * T;
  }
  data::LabelColumn label;
  label.task = c_.task;
  label.kind = data::LabelKind::kClass;
  label.classes = classes;
  label.ids = std::move(train.labels);
  label.ids.insert(label.ids.end(), test.labels.begin(), test.labels.end());
  label.class_names = c_.class_names;
  if (label.class_names.empty())
    for (std::int64_t k = 0; k < classes; ++k) label.class_names.push_back(std::to_string(k));
  ex.labels.push_back(std::move(label));

  const std::uint64_t seed = rng_.fork(1).next_u64();
  std::vector<std::int64_t> first(static_cast<std::size_t>(n_train));
  std::iota(first.begin(), first.end(), 0);
  if (has_test) {
    carve(first, c_.valid_ratio, seed, b.splits);
    b.splits.test.resize(static_cast<std::size_t>(n - n_train));
    std::iota(b.splits.test.begin(), b.splits.test.end(), n_train);
    b.protocol = fmt::format("test file; valid {:g} of the training file, seed {}", c_.valid_ratio, seed);
    b.test_file = idx ? resolve(c_.test_labels) : resolve(c_.test_path);
  } else {
    b.splits = data::random_split(n_train, c_.train_ratio, c_.valid_ratio, seed, kWho);
    b.protocol = fmt::format("random {:g}/{:g}/{:g} seed {}", c_.train_ratio, c_.valid_ratio,
                             1.0 - c_.train_ratio - c_.valid_ratio, seed);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.lines.push_back(fmt::format(
      "images: {} images of {} x {} ({} classes) from {} in {:.2f} s; train {}, valid {}, test {} ({})", n, W, T,
      classes, source, seconds, b.splits.train.size(), b.splits.valid.size(), b.splits.test.size(), b.protocol));
  return b;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Dataset, images, attnlab::plugins::ImagesDataset, attnlab::plugins::ImagesConfig,
                        "grey-scale images (IDX files or CSV pixel rows) as sequences of pixel rows");
