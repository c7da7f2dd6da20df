// read_table (framework/data/reader.h) and the Table helpers (examples.h): fields, quotes, missing
// values, kept and numeric columns, line numbers, and every error the reader promises.
#include "framework/data/reader.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include "tests/support/temp_dir.h"

#include <unistd.h>
#include <zlib.h>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace attnlab;
using namespace attnlab::data;

namespace {

// A scratch directory per process for the files the tests write; removed at exit.
fs::path scratch() {
  static const testing::TempDir s("test_reader");
  return s.path;
}

std::string write(const std::string& name, const std::string& text) {
  const fs::path p = scratch() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

const std::string kCsv =
    "# a comment line\n"
    "id,name,score,note\n"
    "1,\"Smith, J\",3.5,ok\n"
    "\n"
    "2,Lee,?,\"say \"\"hi\"\"\"\n"
    "3,  Kim  ,NA,\n"
    "4,Ng,,x\r\n"
    "5,Wu,-2e3,y\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(data_reader)

BOOST_AUTO_TEST_CASE(csv_with_quotes_comments_blank_lines_and_missing_values) {
  ReadOptions o;
  o.path = write("a.csv", kCsv);
  o.comment = "#";
  o.keep = {"name", "score", "note"};
  o.numeric = {"score"};
  const Table t = read_table(o);
  BOOST_TEST(t.source == o.path);
  BOOST_TEST(t.rows() == 5);
  BOOST_TEST(t.line == (std::vector<std::int64_t>{3, 5, 6, 7, 8}), boost::test_tools::per_element());
  BOOST_TEST(t.part.empty());
  BOOST_REQUIRE(t.columns.size() == 3u);  // only the kept ones, in keep order
  BOOST_TEST(t.columns[0].name == "name");
  BOOST_TEST(!t.columns[0].numeric);
  BOOST_TEST(t.columns[0].str == (std::vector<std::string>{"Smith, J", "Lee", "Kim", "Ng", "Wu"}),
             boost::test_tools::per_element());
  const Column& score = t.column("score", "test");
  BOOST_TEST(score.numeric);
  BOOST_TEST(score.num[0] == 3.5);
  BOOST_TEST(std::isnan(score.num[1]));  // "?"
  BOOST_TEST(std::isnan(score.num[2]));  // "NA"
  BOOST_TEST(std::isnan(score.num[3]));  // ""
  BOOST_TEST(score.num[4] == -2000.0);
  BOOST_TEST(score.missing(1));
  BOOST_TEST(!score.missing(0));
  const Column& note = t.column("note", "test");
  BOOST_TEST(note.str == (std::vector<std::string>{"ok", "say \"hi\"", "", "x", "y"}),
             boost::test_tools::per_element());
  BOOST_TEST(note.missing(2));
  BOOST_TEST(!note.missing(3));
}

BOOST_AUTO_TEST_CASE(every_column_when_keep_is_empty_and_names_replace_the_header) {
  ReadOptions o;
  o.path = write("b.csv", "a,b\n1,2\n3,4\n");
  o.names = {"x", "y"};
  o.numeric = {"y"};
  const Table t = read_table(o);
  BOOST_REQUIRE(t.columns.size() == 2u);
  BOOST_TEST(t.columns[0].name == "x");
  BOOST_TEST(t.columns[0].str == (std::vector<std::string>{"1", "3"}), boost::test_tools::per_element());
  BOOST_TEST(t.columns[1].num == (std::vector<double>{2, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(whitespace_runs_and_no_header) {
  ReadOptions o;
  o.path = write("c.txt", "  1   2.5  a\n3\t4 b  \n");
  o.delimiter = "whitespace";
  o.header = false;
  o.names = {"x", "y", "z"};
  o.numeric = {"x", "y"};
  const Table t = read_table(o);
  BOOST_TEST(t.rows() == 2);
  BOOST_TEST(t.columns[0].num == (std::vector<double>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(t.columns[1].num == (std::vector<double>{2.5, 4}), boost::test_tools::per_element());
  BOOST_TEST(t.columns[2].str == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tab_delimiter_keeps_blanks_inside_fields_and_gzip_is_transparent) {
  ReadOptions o;
  o.path = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/files/tiny.tsv.gz";
  o.delimiter = "tab";
  o.keep = {"item", "user"};
  const Table gz = read_table(o);
  o.path = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/files/tiny.tsv";
  o.delimiter = "\t";
  const Table plain = read_table(o);
  BOOST_TEST(gz.rows() == 9);
  BOOST_TEST(gz.columns[0].name == "item");
  BOOST_TEST(gz.columns[0].str == (std::vector<std::string>{"a", "b", "b", "c", "c", "a", "d", "a", "d"}),
             boost::test_tools::per_element());
  BOOST_TEST(gz.columns[1].str == plain.columns[1].str, boost::test_tools::per_element());
  BOOST_TEST(gz.line == plain.line, boost::test_tools::per_element());

  o.path = write("d.tsv", "k\tv\na b\t x y \n");
  o.keep = {};
  const Table t = read_table(o);
  BOOST_TEST(t.columns[0].str[0] == "a b");
  BOOST_TEST(t.columns[1].str[0] == "x y");
}

BOOST_AUTO_TEST_CASE(a_truncated_gzip_file_is_an_error_not_fewer_rows) {
  // 1,000 rows gzip-compressed, then cut in half: every reader (they share for_each_line) used to
  // return the rows before the cut as if they were the file.
  const std::string whole = write("whole.csv.gz", "");
  {
    gzFile f = gzopen(whole.c_str(), "wb");
    BOOST_REQUIRE(f != nullptr);
    gzputs(f, "a,b\n");
    for (int i = 0; i < 1000; ++i) gzputs(f, (std::to_string(i) + "," + std::to_string(i * 7 % 13) + "\n").c_str());
    gzclose(f);
  }
  ReadOptions o;
  o.path = whole;
  BOOST_TEST(read_table(o).rows() == 1000);
  std::ifstream in(whole, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  o.path = write("cut.csv.gz", bytes.substr(0, bytes.size() / 2));
  attnlab::testing::expect_error<DataError>([&] { read_table(o); },
                                            {"cut.csv.gz is truncated: its gzip stream ends early", "complete lines"});
}

BOOST_AUTO_TEST_CASE(a_binary_file_is_not_read_as_text) {
  // A PNG's first bytes: its header would have become column names.
  ReadOptions o;
  o.path = write("picture.csv", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  attnlab::testing::expect_error<DataError>([&] { read_table(o); },
                                            {"picture.csv:2: not a text file (byte 0x1a at column 1)"});
  o.path = write("fine.csv", "a,b\n1,2\n");  // tabs and CR are text
  BOOST_TEST(read_table(o).rows() == 1);
}

BOOST_AUTO_TEST_CASE(a_file_without_rows_is_an_error_naming_it) {
  // A header-only test file used to give an empty test split without a word.
  ReadOptions o;
  o.path = write("e.csv", "a,b\n\n");
  testing::expect_error<DataError>([&] { read_table(o); }, {"e.csv: no rows after its header"});
  o.path = write("bad.csv", "a,b\n1\n2\n");
  o.on_error = OnError::kDrop;
  testing::expect_error<DataError>([&] { read_table(o); },
                                   {"bad.csv: every row is malformed: 2 dropped", "line 2: expected 2 fields, got 1"});
}

BOOST_AUTO_TEST_CASE(a_nul_byte_in_a_row_is_an_error_at_its_line) {
  // gzgets stopped at the NUL and the rest of the row was lost (a damaged file read as shorter rows).
  std::string text = "a,b\n";
  for (int i = 0; i < 30; ++i) text += std::to_string(i) + ",x\n";
  text += std::string("31,y\0zz\n", 8);
  ReadOptions o;
  o.path = write("nul.csv", text);
  testing::expect_error<DataError>([&] { read_table(o); },
                                   {"nul.csv:32: a NUL byte at column 5: the file is damaged or not text"});
}

BOOST_AUTO_TEST_CASE(long_lines_and_a_last_line_without_newline_read_whole) {
  // Lines longer than the read block (64 KiB) and a final line without '\n'.
  const std::string wide(200000, 'w');
  ReadOptions o;
  o.path = write("wide.csv", "a,b\n1," + wide + "\n2,last");
  const Table t = read_table(o);
  BOOST_TEST(t.rows() == 2);
  BOOST_TEST(t.columns[1].str[0] == wide);
  BOOST_TEST(t.columns[1].str[1] == "last");
  BOOST_TEST(t.line == (std::vector<std::int64_t>{2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(errors_name_the_file_line_and_column) {
  ReadOptions o;
  o.path = (scratch() / "no_such.csv").string();
  testing::expect_error<DataError>([&] { read_table(o); }, {o.path, "cannot open"});

  o.path = write("empty.csv", "");
  testing::expect_error<DataError>([&] { read_table(o); }, {o.path, "no header"});

  o.path = write("f.csv", "a,b,c\n1,2,3\n");
  o.keep = {"a", "colour"};
  testing::expect_error<DataError>([&] { read_table(o); }, {o.path, "'colour'", "does not exist", "columns: a, b, c"});
  o.keep = {"a"};
  o.numeric = {"b"};
  testing::expect_error<DataError>([&] { read_table(o); }, {"numeric column 'b' is not among the kept columns"});
  o.keep = {};
  o.numeric = {"zz"};
  testing::expect_error<DataError>([&] { read_table(o); }, {"'zz'", "columns: a, b, c"});

  o.numeric = {};
  o.delimiter = ",,";
  testing::expect_error<DataError>([&] { read_table(o); }, {"delimiter ',,'"});
  o.delimiter = ",";
  o.header = false;
  testing::expect_error<DataError>([&] { read_table(o); }, {"no column names"});
  o.header = true;
  o.path = write("dup.csv", "a,b,a\n1,2,3\n");
  testing::expect_error<DataError>([&] { read_table(o); }, {"'a' appears twice"});
}

BOOST_AUTO_TEST_CASE(malformed_rows_fail_with_the_line_or_are_dropped_and_counted) {
  const std::string text =
      "a,b,c\n"        // 1
      "1,2,3\n"        // 2
      "4,5\n"          // 3: 2 fields
      "6,x,7\n"        // 4: 'x' is not a number
      "8,9,10\n"       // 5
      "\"11,12,13\n";  // 6: unterminated quote
  ReadOptions o;
  o.path = write("bad.csv", text);
  o.numeric = {"a", "b", "c"};
  BOOST_TEST(testing::error_of([&] { read_table(o); }) == o.path + ":3: expected 3 fields, got 2");

  o.path = write("bad2.csv", "a,b,c\n1,2,3\n6,x,7\n");
  BOOST_TEST(testing::error_of([&] { read_table(o); }) == o.path + ":3: column 'b': 'x' is not a number");
  o.numeric = {"a", "c"};  // b is text now: the row is fine
  BOOST_TEST(read_table(o).rows() == 2);

  o.path = write("bad3.csv", "a,b,c\n\"1,2,3\n");
  testing::expect_error<DataError>([&] { read_table(o); }, {o.path + ":2:", "unterminated quote"});

  o.path = write("bad.csv", text);
  o.numeric = {"a", "b", "c"};
  o.on_error = OnError::kDrop;
  DataReport report;
  const Table t = read_table(o, report);
  BOOST_TEST(t.rows() == 2);
  BOOST_TEST(t.line == (std::vector<std::int64_t>{2, 5}), boost::test_tools::per_element());
  BOOST_TEST(t.columns[2].num == (std::vector<double>{3, 10}), boost::test_tools::per_element());
  BOOST_REQUIRE(report.lines.size() == 1u);
  // A warning: printed by validate and by the sweep, not only stored with the trial.
  BOOST_TEST(report.lines[0] ==
             "warning: " + o.path +
                 ": 3 malformed rows dropped (on_error: drop; first: line 3: expected 3 fields, got 2)");
  BOOST_REQUIRE(report.warnings.size() == 1u);
  BOOST_TEST("warning: " + report.warnings[0] == report.lines[0]);
}

BOOST_AUTO_TEST_CASE(on_error_and_quote_options_from_text) {
  BOOST_TEST((on_error_from("drop", "w") == OnError::kDrop));
  BOOST_TEST((on_error_from("fail", "w") == OnError::kFail));
  testing::expect_error<DataError>([] { on_error_from("skip", "who"); }, {"who", "'skip'", "fail, drop"});
  BOOST_TEST(quote_from("", "w") == 0);
  BOOST_TEST(quote_from("'", "w") == '\'');
  testing::expect_error<DataError>([] { quote_from("ab", "who"); }, {"who", "'ab'"});
}

// Not run by default: `test_data --run_test=data_reader/reads_a_million_rows_quickly`.
BOOST_AUTO_TEST_CASE(reads_a_million_rows_quickly, *boost::unit_test::disabled()) {
  const std::string path = (scratch() / "million.tsv").string();
  {
    std::ofstream f(path);
    f << "user\titem\trating\ttimestamp\ttitle\n";
    for (std::int64_t i = 0; i < 1000000; ++i)  // int64: i * 104729 overflows int (UB: the loop never ended)
      f << (i * 7919) % 6040 << '\t' << (i * 104729) % 3706 << '\t' << 1 + i % 5 << '\t' << 956703932 + i
        << "\tSome movie title (1999)\n";
  }
  ReadOptions o;
  o.path = path;
  o.delimiter = "\t";
  o.keep = {"user", "item", "rating", "timestamp"};
  o.numeric = {"rating", "timestamp"};
  const auto t0 = std::chrono::steady_clock::now();
  const Table t = read_table(o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE("read 1M rows in " << s << " s");
  BOOST_TEST(t.rows() == 1000000);
  BOOST_TEST(s < 10.0);
  fs::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(data_table)

Table small_table() {
  Table t;
  t.source = "mem";
  Column a{.name = "a", .numeric = true, .num = {1, NAN, 3, 4}, .str = {}};
  Column b{.name = "b", .numeric = false, .num = {}, .str = {"w", "", "y", "z"}};
  t.columns = {a, b};
  t.line = {2, 3, 5, 6};
  t.part = {0, 0, 1, 1};
  return t;
}

BOOST_AUTO_TEST_CASE(has_column_and_missing) {
  Table t = small_table();
  BOOST_TEST(t.has("a"));
  BOOST_TEST(!t.has("c"));
  BOOST_TEST(&t.column("b", "who") == &t.columns[1]);
  BOOST_TEST(t.columns[0].missing(1));
  BOOST_TEST(!t.columns[0].missing(0));
  BOOST_TEST(t.columns[1].missing(1));
  BOOST_TEST(testing::error_of([&] { t.column("c", "preprocess kcore"); }) ==
             "preprocess kcore: no column 'c' in mem; columns: a, b");
}

BOOST_AUTO_TEST_CASE(filter_keeps_rows_in_every_column_line_and_part) {
  Table t = small_table();
  t.filter({1, 0, 0, 1});
  BOOST_TEST(t.rows() == 2);
  BOOST_TEST(t.columns[0].num == (std::vector<double>{1, 4}), boost::test_tools::per_element());
  BOOST_TEST(t.columns[1].str == (std::vector<std::string>{"w", "z"}), boost::test_tools::per_element());
  BOOST_TEST(t.line == (std::vector<std::int64_t>{2, 6}), boost::test_tools::per_element());
  BOOST_TEST(t.part == (std::vector<std::uint8_t>{0, 1}), boost::test_tools::per_element());
  testing::expect_error<DataError>([&] { t.filter({1}); }, {"1 keep flags for 2 rows"});
}

BOOST_AUTO_TEST_CASE(stack_parts_marks_train_and_test_rows) {
  Table a = small_table(), b = small_table();
  a.part.clear();
  b.part.clear();
  b.source = "other";
  const Table s = stack_parts(a, b);
  BOOST_TEST(s.rows() == 8);
  BOOST_TEST(s.part == (std::vector<std::uint8_t>{0, 0, 0, 0, 1, 1, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(s.columns[1].str[5] == "");
  BOOST_TEST(s.line[4] == 2);
  BOOST_TEST(s.source == "mem + other");
  b.columns[1].name = "c";
  testing::expect_error<DataError>([&] { stack_parts(a, b); }, {"'b'", "'c'"});
}

BOOST_AUTO_TEST_CASE(cell_text_of_text_and_numbers) {
  const Table t = small_table();
  BOOST_TEST(cell_text(t.columns[0], 0) == "1");
  BOOST_TEST(cell_text(t.columns[0], 1) == "");
  BOOST_TEST(cell_text(t.columns[1], 2) == "y");
}

BOOST_AUTO_TEST_SUITE_END()
