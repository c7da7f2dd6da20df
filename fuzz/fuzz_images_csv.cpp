// dataset/images, format csv (one image per line: pixels and a label), through a trial's data
// pipeline. Byte 0: bits 0-6 pick a case below (modulo their count), bit 7 gzips the rest, which is
// the file `pixels`.
#include "fuzz/support.h"

using namespace attnlab;

namespace {

const std::vector<fuzz::DatasetCase> kCases = {
    // sklearn's digits layout (tests/data/datasets/gen/digits_tiny.csv): pixels, then the label; square images
    {"{type: images, format: csv, path: pixels, scale: 16}"},
    // Kaggle's MNIST layout (digits_tiny_first.csv): a header, the label first; the height given
    {"{type: images, format: csv, path: pixels, header: true, label_column: first, height: 2, scale: 16}"},
    // a test file, the width given, class names
    {"{type: images, format: csv, path: pixels, test_path: pixels, width: 3, classes: 3, class_names: [a, b, c],"
     " delimiter: ';', scale: 255}"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [opt, content] = fuzz::split_options(data, size);
  fuzz::write_input("pixels", content, (opt & 0x80) != 0);
  fuzz::prepare(kCases[(opt & 0x7f) % kCases.size()]);
  return 0;
}
