// data::read_table, the CSV/TSV reader under dataset/tabular and dataset/interactions, on any bytes
// with any of its options. Byte 0 picks the options, the rest is the file (written gzip-compressed
// when bit 7 is set; raw bytes that are themselves gzip are read as gzip too):
//   bits 0-1  delimiter ',' | tab | whitespace | ';'
//   bit 2     header (else no header, names a, b, c)
//   bit 3     quote '"' (else none)
//   bit 4     on_error drop (else fail)
//   bit 5     keep and numeric columns (header: user, item, rating with rating numeric; else a, b with b numeric)
//   bit 6     comment '#', no trimming
#include "framework/data/reader.h"
#include "fuzz/support.h"

#include <array>

using namespace attnlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [opt, content] = fuzz::split_options(data, size);
  data::ReadOptions o;
  o.path = fuzz::write_input("table", content, (opt & 0x80) != 0);
  o.delimiter = std::array<const char*, 4>{",", "tab", "whitespace", ";"}[opt & 3];
  o.header = (opt & 0x04) != 0;
  if (!o.header) o.names = {"a", "b", "c"};
  o.quote = (opt & 0x08) ? '"' : 0;
  o.on_error = (opt & 0x10) ? data::OnError::kDrop : data::OnError::kFail;
  if (opt & 0x20) {
    o.keep = o.header ? std::vector<std::string>{"user", "item", "rating"} : std::vector<std::string>{"a", "b"};
    o.numeric = {o.header ? "rating" : "b"};
  }
  if (opt & 0x40) {
    o.comment = "#";
    o.trim = false;
  }
  fuzz::expect_errors([&] {
    data::DataReport report;
    const data::Table t = data::read_table(o, report);
    // What a Table promises its readers: every column has one entry per row, in the kind it is.
    const auto rows = static_cast<std::size_t>(t.rows());
    for (const auto& c : t.columns) {
      FUZZ_CHECK((c.numeric ? c.num.size() : c.str.size()) == rows);
      FUZZ_CHECK((c.numeric ? c.str.size() : c.num.size()) == 0);
      for (std::size_t r = 0; r < rows; ++r) (void)data::cell_text(c, static_cast<std::int64_t>(r));
    }
    for (std::size_t r = 1; r < rows; ++r) FUZZ_CHECK(t.line[r] > t.line[r - 1]);
    // The train/test stacking of a table with itself (tabular and text with a test file).
    const data::Table both = data::stack_parts(t, t);
    FUZZ_CHECK(both.rows() == 2 * t.rows() && both.part.size() == 2 * rows);
  });
  return 0;
}
