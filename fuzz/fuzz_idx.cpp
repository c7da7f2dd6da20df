// dataset/images, format idx (MNIST's binary IDX files: an images file and a labels file), through a
// trial's data pipeline. The input is split into the two files:
//   byte 0       bit 0: gzip the images file; bit 1: gzip the labels file; bits 2-6: the case below
//                (modulo their count)
//   bytes 1-2    n, little-endian: the images file is the next n bytes (or what there is)
//   the rest     the labels file
#include "fuzz/support.h"

#include <algorithm>

using namespace attnlab;

namespace {

const std::vector<fuzz::DatasetCase> kCases = {
    {"{type: images, train_images: images, train_labels: labels}"},
    // the same pair as the test files; given classes
    {"{type: images, train_images: images, train_labels: labels, test_images: images, test_labels: labels,"
     " classes: 4, valid_ratio: 0.5}"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [opt, rest] = fuzz::split_options(data, size);
  if (rest.size() < 2) return 0;
  const std::size_t n = std::min<std::size_t>(
      static_cast<std::uint8_t>(rest[0]) | (static_cast<std::uint8_t>(rest[1]) << 8), rest.size() - 2);
  fuzz::write_input("images", rest.substr(2, n), (opt & 1) != 0);
  fuzz::write_input("labels", rest.substr(2 + n), (opt & 2) != 0);
  fuzz::prepare(kCases[((opt >> 2) & 0x1f) % kCases.size()]);
  return 0;
}
