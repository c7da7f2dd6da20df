// The attnlab command line.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"attnlab: experiments with attention-based personalized models"};
  app.set_version_flag("--version", [] {
    const auto* v = dnnl::version();
    return fmt::format("attnlab {} (oneDNN {}.{}.{})", ATTNLAB_VERSION, v->major, v->minor, v->patch);
  });
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) fmt::print("{}", app.help());
  return 0;
}
