// dataset/text through a trial's data pipeline (load, build: vocabulary, encoding, labels, splits).
// Byte 0: bits 0-6 pick a case below (modulo their count), bit 7 gzips the rest, which is the file
// `texts`.
#include "fuzz/support.h"

using namespace attnlab;

namespace {

const std::vector<fuzz::DatasetCase> kCases = {
    // the SMS Spam layout (tests/data/datasets/gen/texts_train.tsv): label<TAB>text
    {"{type: text, path: texts, seed: 1}", {"{type: pad_truncate, max_len: 8}"}},
    // binary labels, malformed lines dropped, a test file, a capped vocabulary
    {"{type: text, path: texts, test_path: texts, kind: binary, positive: spam, on_error: drop, min_count: 2,"
     " max_size: 5, lowercase: false, seed: 2}"},
    // a header naming the columns
    {"{type: text, path: texts, header: true, label_col: label, text_col: text, seed: 3}"},
    // no header, the text before the label, comma-separated
    {"{type: text, path: texts, delimiter: ',', label_index: 1, text_index: 0, on_error: drop, seed: 4}"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [opt, content] = fuzz::split_options(data, size);
  fuzz::write_input("texts", content, (opt & 0x80) != 0);
  fuzz::prepare(kCases[(opt & 0x7f) % kCases.size()]);
  return 0;
}
