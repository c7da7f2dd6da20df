// dataset/interactions through a trial's data pipeline (load, row steps, build: sequences and
// splits). Byte 0: bits 0-6 pick a case below (modulo their count), bit 7 gzips the rest, which is
// the file `log`.
#include "fuzz/support.h"

using namespace attnlab;

namespace {

const std::vector<fuzz::DatasetCase> kCases = {
    // tests/data/datasets/files/tiny.tsv: user, item, ts, rating; leave-one-out
    {"{type: interactions, path: log, delimiter: tab, time_col: ts, rating_col: rating, click_threshold: 4}"},
    // SASRec's "user item" lines (files/sasrec.txt)
    {"{type: interactions, path: log, format: sasrec, min_history: 1}", {"{type: pad_truncate, max_len: 4}"}},
    // a temporal split, rows with problems dropped, row steps on the table
    {"{type: interactions, path: log, split: temporal, on_error: drop, time_col: ts, rating_col: rating,"
     " max_train_per_user: 2, fill_targets: true}",
     {"{type: outliers, column: rating}", "{type: implicit, column: rating, threshold: 3}",
      "{type: kcore, k_user: 2, k_item: 1}"}},
    // prep/ratings.csv and one_each.csv: no time column (the row order is the time order), quoting off
    {"{type: interactions, path: log, time_col: '', quote: '', min_history: 2}"},
    // no header, names given, whitespace-separated
    {"{type: interactions, path: log, header: false, names: [user, item, timestamp], delimiter: whitespace}"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [opt, content] = fuzz::split_options(data, size);
  fuzz::write_input("log", content, (opt & 0x80) != 0);
  fuzz::prepare(kCases[(opt & 0x7f) % kCases.size()]);
  return 0;
}
