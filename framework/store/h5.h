// A small RAII layer over the HDF5 C API: the only code in attnlab that includes <hdf5.h>.
//
// Handles (File, Group, Dataset) are move-only and close their HDF5 id on destruction. Every
// failure throws StoreError naming the file and the object path ("runs/ab12.h5:/curves/train/loss:
// cannot append: <HDF5's reason>"); HDF5's own automatic error printing to stderr is turned off.
//
// Threads. Debian bookworm's libhdf5 (1.10.8, "serial") is built with --enable-threadsafe
// (H5is_library_threadsafe() returns true): the library serialises its API calls behind one
// global lock. attnlab does not rely on that: every call made here runs under ONE process-wide
// recursive mutex (hdf5_mutex()), so the store stays correct when linked against a
// non-thread-safe build, and sequences of calls (check, then create; an error call followed by
// reading the error stack) are atomic. Trials write their files from parallel threads; HDF5 work
// is serialised, which costs little next to training. Every HDF5 call in the process must go
// through this layer (or take hdf5_mutex() itself).
//
// Closing. Files are opened with H5F_CLOSE_STRONG: destroying (or close()-ing) a File closes every
// object opened through it, so the file is really closed on disk when File goes (required before a
// rename). A Group or Dataset used after its File is gone throws StoreError.
//
// Format. Files use HDF5's default (earliest) format: readable by any HDF5 >= 1.8 (h5py, MATLAB,
// pandas/PyTables) and, after flush(), a copy of a file still being written is a valid file (the
// newer superblock would mark it "open for writing"). File locking is on, but ignored on file
// systems that lack it (NFS, Lustre).
//
// Names. Object paths are '/'-separated; a relative path is relative to the group it is given to.
// create_group/group() create missing intermediate groups.
#pragma once

#include "framework/core/error.h"
#include "framework/core/tensor.h"

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::store {

/// Any failure of the results store: HDF5 errors, I/O errors, files that are not what they claim to
/// be, misuse (an epoch out of order, a dataset written twice). what() is
/// "<file>:<object>: <message>" (":<object>" omitted when there is none).
///
/// A failure of the storage itself (a full disk, a quota, an I/O error, a read-only file system)
/// carries its errno (storage_errno()) and reads as one line: "no space left on device writing
/// <file>", whatever HDF5's error stack said. A sweep stops starting trials after one.
class StoreError : public Error {
 public:
  StoreError(std::string file, std::string object, const std::string& message);
  /// "<strerror(err)> writing|reading <file>"; storage_errno() == err.
  static StoreError storage(std::string file, int err, bool writing = true);
  const std::string& file() const { return file_; }
  const std::string& object() const { return object_; }
  /// ENOSPC, EDQUOT, EIO, EROFS, EFBIG when the storage failed; 0 for every other failure.
  int storage_errno() const { return storage_errno_; }

 private:
  struct Storage {};
  StoreError(Storage, std::string file, int err, bool writing);
  std::string file_, object_;
  int storage_errno_ = 0;
};

/// True for the errno values that mean the storage failed, not the program or its input: ENOSPC,
/// EDQUOT, EIO, EROFS, EFBIG.
bool is_storage_errno(int err);

/// The storage error of the failed call that threw `e`, when it was one (a StoreError with a
/// storage errno); 0 otherwise.
int storage_errno_of(const std::exception& e);

/// The process-wide mutex every HDF5 call of the store runs under (recursive: store functions nest).
std::recursive_mutex& hdf5_mutex();
/// H5is_library_threadsafe() of the linked library (true for Debian's libhdf5-dev).
bool hdf5_threadsafe();
/// "1.10.8": the linked library's version (for /env).
std::string hdf5_version();

namespace h5 {

using hid = std::int64_t;  // hid_t, without including <hdf5.h> here

/// Element type of a dataset or attribute as stored.
enum class Kind { f32, f64, i64, u64, other_int, other_float, string, compound, other };
const char* name_of(Kind kind);

/// A move-only HDF5 id with its close function. Internal building block, public for the .cpp files
/// of the store; closing failures in the destructor are ignored.
class Id {
 public:
  using Closer = int (*)(hid);
  Id() = default;
  Id(hid id, Closer close) : id_(id), close_(close) {}
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  hid get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now; returns the close function's result (< 0: failure), 0 when already closed. A failure
  /// leaves HDF5's error stack for the caller to read when keep_error, else clears it.
  int reset(bool keep_error = false);

 private:
  hid id_ = -1;
  Closer close_ = nullptr;
};

/// Chunking and compression of a new N-D dataset. deflate 0 = none; 1..9 = zlib level (requires a
/// chunked layout: chunk empty = chosen automatically, about 64 KiB per chunk).
struct ArrayOptions {
  int deflate = 0;
  std::vector<std::int64_t> chunk{};
  bool shuffle = true;  ///< byte shuffle before deflate (helps float data); ignored without deflate
};

/// One column of a table dataset (write_table/read_table): text (fixed-length UTF-8 strings, as
/// long as the longest value; numpy dtype 'S<n>') or number (f64). Every column has as many rows.
struct TableColumn {
  std::string name;
  bool numeric = false;
  std::vector<std::string> text{};  ///< !numeric
  std::vector<double> number{};     ///< numeric
  std::size_t rows() const { return numeric ? number.size() : text.size(); }
};

/// Common to groups and datasets: identity and attributes.
class Object {
 public:
  /// Internal: adopts an open HDF5 id (the store's .cpp files build handles with it).
  Object(Id id, std::string file, std::string path)
      : id_(std::move(id)), file_(std::move(file)), path_(std::move(path)) {}
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;
  virtual ~Object() = default;

  /// The file name as given to File::create/open (for messages).
  const std::string& file_name() const { return file_; }
  /// The absolute object path inside the file ("/" for the root).
  const std::string& path() const { return path_; }
  hid id() const { return id_.get(); }

  // Attributes (small metadata: under 64 KiB each). set_attr replaces an existing attribute of the
  // same name, whatever its type. Strings are variable-length UTF-8 (h5py gives them as str).
  void set_attr(std::string_view name, std::string_view value);
  void set_attr(std::string_view name, const char* value) { set_attr(name, std::string_view(value)); }
  void set_attr(std::string_view name, std::int64_t value);
  void set_attr(std::string_view name, double value);
  void set_attr(std::string_view name, std::span<const std::string> values);  ///< 1-D string array
  template <class T>
  requires std::is_integral_v<T>
  void set_attr(std::string_view name, T value) { set_attr(name, static_cast<std::int64_t>(value)); }
  bool has_attr(std::string_view name) const;
  /// Reading: throws StoreError when the attribute is missing or of another kind (a string attribute
  /// may be variable- or fixed-length; integers of any width read as int64; f32/f64 read as double).
  std::string attr_string(std::string_view name) const;
  std::int64_t attr_int(std::string_view name) const;
  double attr_double(std::string_view name) const;
  std::vector<std::string> attr_strings(std::string_view name) const;
  /// Names of every attribute, in name order.
  std::vector<std::string> attr_names() const;

  /// "<file>:<path>[/<sub>]" prefix for messages; throws StoreError with it.
  [[noreturn]] void fail(std::string_view sub, const std::string& message) const;

  /// The absolute path of `name` (relative to this object, or absolute).
  std::string child_path(std::string_view name) const;

 protected:
  Id id_;
  std::string file_, path_;
};

class Dataset;

/// A group (File is the root group of its file).
class Group : public Object {
 public:
  Group(Group&&) noexcept = default;
  Group& operator=(Group&&) noexcept = default;

  /// Opens the group at `path`, creating it and any missing intermediate groups.
  Group group(std::string_view path);
  /// Opens an existing group (following soft and external links); throws StoreError when absent or
  /// not a group.
  Group open_group(std::string_view path) const;
  Dataset open_dataset(std::string_view path) const;
  /// True when every link along `path` exists (the last may be a dangling external link).
  bool exists(std::string_view path) const;
  /// True when `path` exists and resolves to a group / to a dataset (follows external links).
  bool is_group(std::string_view path) const;
  bool is_dataset(std::string_view path) const;
  /// Names of the links in this group, in name order.
  std::vector<std::string> list() const;
  /// Deletes the link `path` (the space is not reclaimed). Throws when absent.
  void remove(std::string_view path);

  // N-D arrays. `shape` is row-major with prod(shape) == values.size() (throws otherwise); an empty
  // shape stores a scalar (rank 0). Throws StoreError when `path` exists. Intermediate groups are
  // created. f32 is stored as IEEE f32, f64 as IEEE f64, int64 as little-endian int64: values and
  // NaN payloads round-trip bitwise.
  Dataset write(std::string_view path, std::span<const double> values, std::span<const std::int64_t> shape,
                const ArrayOptions& options = {});
  Dataset write(std::string_view path, std::span<const float> values, std::span<const std::int64_t> shape,
                const ArrayOptions& options = {});
  Dataset write(std::string_view path, std::span<const std::int64_t> values, std::span<const std::int64_t> shape,
                const ArrayOptions& options = {});
  Dataset write(std::string_view path, std::span<const std::uint64_t> values, std::span<const std::int64_t> shape,
                const ArrayOptions& options = {});
  /// 1-D convenience forms.
  Dataset write(std::string_view path, const std::vector<double>& values, const ArrayOptions& options = {});
  Dataset write(std::string_view path, const std::vector<float>& values, const ArrayOptions& options = {});
  Dataset write(std::string_view path, const std::vector<std::int64_t>& values, const ArrayOptions& options = {});
  /// A tensor (f32 or i64) with its shape (rank 0 → scalar dataset).
  Dataset write(std::string_view path, const core::Tensor& tensor, const ArrayOptions& options = {});
  /// Scalars (rank-0 datasets).
  Dataset write_scalar(std::string_view path, double value);
  Dataset write_scalar(std::string_view path, std::int64_t value);
  /// A variable-length UTF-8 string scalar / 1-D array of them (h5py: bytes; .asstr() gives str).
  Dataset write_string(std::string_view path, std::string_view value);
  Dataset write_strings(std::string_view path, std::span<const std::string> values);

  /// A 1-D compound dataset, one row per element, one field per column in order: what numpy reads
  /// as a structured array and pandas as a DataFrame (pd.DataFrame(f[path][()])). Column names must
  /// be unique and non-empty, every column equally long (throws StoreError otherwise).
  Dataset write_table(std::string_view path, const std::vector<TableColumn>& columns);

  /// A 1-D extendible dataset (chunked, unlimited maximum size), initially empty: f64 or i64.
  Dataset create_extendible(std::string_view path, Kind kind, std::int64_t chunk = 64);

  /// An external link `name` → `object` inside `target_file`. A relative target file name is found
  /// relative to the directory of the file holding the link (so a directory can be moved whole).
  void link_external(std::string_view name, const std::string& target_file, std::string_view object = "/");

  using Object::Object;
};

/// An open HDF5 file; also its root group.
class File : public Group {
 public:
  enum class Mode { read_only, read_write };
  /// Creates (truncating an existing file) for writing.
  static File create(const std::filesystem::path& path);
  /// Opens an existing file. Throws StoreError for a missing, unreadable, truncated or non-HDF5
  /// file (the message carries HDF5's reason, e.g. "truncated file" or "file signature not found").
  static File open(const std::filesystem::path& path, Mode mode = Mode::read_only);

  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;

  /// Writes every buffer of this file to the OS (H5Fflush). Not an fsync: see fsync_file.
  void flush();
  /// Closes now (every object opened through it too); throws StoreError when HDF5 fails to close
  /// (e.g. a full disk surfacing on the final write). A closed File throws on any further use.
  void close();
  bool is_open() const { return id_.valid(); }

  using Group::Group;
};

/// A dataset: shape, kind, reading, appending.
class Dataset : public Object {
 public:
  Dataset(Dataset&&) noexcept = default;
  Dataset& operator=(Dataset&&) noexcept = default;

  /// Current dimensions ({} for a scalar).
  std::vector<std::int64_t> shape() const;
  std::int64_t size() const;  ///< number of elements (1 for a scalar)
  Kind kind() const;

  /// Every element, row-major. read<double> accepts f32/f64 storage, read<float> f32 only,
  /// read<int64_t> any integer width, read<uint64_t> u64 only; anything else throws StoreError.
  template <class T>
  std::vector<T> read() const;
  /// The single element of a one-element dataset (throws otherwise).
  template <class T>
  T read_scalar() const;
  /// A string scalar (variable- or fixed-length) / 1-D string array.
  std::string read_string() const;
  std::vector<std::string> read_strings() const;
  /// A 1-D compound dataset whose fields are strings or floats (write_table's layout; integer
  /// fields read as numbers too). Throws StoreError for other field types.
  std::vector<TableColumn> read_table() const;
  /// An f32 or i64 dataset as a tensor of the same shape and type (throws for other kinds).
  core::Tensor read_tensor() const;

  /// Appends to a 1-D extendible dataset (create_extendible): f64 values to an f64 dataset, int64 to
  /// an i64 one. Throws StoreError for a dataset that is not extendible or of another kind.
  void append(std::span<const double> values);
  void append(std::span<const std::int64_t> values);
  void append(double value) { append(std::span<const double>(&value, 1)); }
  void append(std::int64_t value) { append(std::span<const std::int64_t>(&value, 1)); }

  using Object::Object;
};

/// The stored kind of the attribute or dataset's type id (for the .cpp files of the store).
Kind kind_of_type(hid type);

}  // namespace h5

}  // namespace attnlab::store
