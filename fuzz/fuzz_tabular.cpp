// dataset/tabular through a trial's data pipeline (load, build, checks). Byte 0: bits 0-6 pick a case
// below (modulo their count), bit 7 gzips the rest, which is the file `table`.
#include "fuzz/support.h"

using namespace attnlab;

namespace {

const std::vector<fuzz::DatasetCase> kCases = {
    // tests/data/datasets/files/shop.csv: a header, categorical, numeric, a class and a binary task
    {"{type: tabular, path: table, categorical: [color, size], numeric: [price], train: 0.6, valid: 0.2, seed: 5,"
     " tasks: [{name: rating, column: rating}, {name: label, column: label, kind: binary, positive: [yes]}]}"},
    // UCI Adult's layout (adult_tiny.data): no header, ", " separators, '?' missing, '|' comments, test file
    {"{type: tabular, path: table, test_path: table, header: false, comment: '|', valid: 0, seed: 3,"
     " names: [age, workclass, fnlwgt, education, education-num, marital-status, occupation, relationship, race,"
     " sex, capital-gain, capital-loss, hours-per-week, native-country, income],"
     " categorical: [workclass, sex], numeric: [age, hours-per-week],"
     " tasks: [{name: income, column: income, kind: binary, positive: ['>50K'], negative: ['<=50K'], strip: '.'},"
     " {name: marital, column: marital-status}]}"},
    // on_error: drop, no quoting, a value task and given classes, standardized numeric columns
    {"{type: tabular, path: table, on_error: drop, quote: '', tokens: false, numeric: [price, rating], seed: 1,"
     " tasks: [{name: r, column: rating, kind: value}, {name: c, column: color, classes: [red, blue, green]}]}",
     {"{type: standardize}"}},
    // whitespace-separated, a row step that drops rows with missing values
    {"{type: tabular, path: table, delimiter: whitespace, categorical: [a], numeric: [b], seed: 2,"
     " tasks: [{name: y, column: y}]}",
     {"{type: drop_missing}"}},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [opt, content] = fuzz::split_options(data, size);
  fuzz::write_input("table", content, (opt & 0x80) != 0);
  fuzz::prepare(kCases[(opt & 0x7f) % kCases.size()]);
  return 0;
}
