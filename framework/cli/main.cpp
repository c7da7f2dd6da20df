// The attnlab command line.
#include "framework/core/error.h"
#include "framework/experiment/seed_demo.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <exception>

int main(int argc, char** argv) {
  using namespace attnlab;
  CLI::App app{"attnlab: experiments with attention-based personalized models"};
  app.set_version_flag("--version", [] {
    const auto* v = dnnl::version();
    return fmt::format("attnlab {} (oneDNN {}.{}.{})", ATTNLAB_VERSION, v->major, v->minor, v->patch);
  });
  app.require_subcommand(0, 1);

  experiment::DemoOptions demo;
  auto* d = app.add_subcommand("demo", "Train the founding article's seed model on a generated marker task and print its loss per epoch");
  d->add_option("--vocab", demo.vocab, "vocabulary size")->capture_default_str()->check(CLI::Range(3, 1000000));
  d->add_option("--embedding", demo.embedding, "embedding width")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--hidden", demo.hidden, "LSTM width")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--seq-len", demo.seq_len, "sequence length")->capture_default_str()->check(CLI::Range(2, 100000));
  d->add_option("--classes", demo.classes, "number of classes")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--train", demo.train, "training sequences")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--valid", demo.valid, "validation sequences")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--epochs", demo.epochs, "epochs")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--batch", demo.batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--lr", demo.lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--threads", demo.threads, "oneDNN (OpenMP) threads")->capture_default_str()->check(CLI::Range(1, 1024));
  d->add_option("--seed", demo.seed, "random seed (data, initialisation, shuffling)")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    if (d->parsed()) {
      const auto stats = experiment::run_seed_demo(demo);
      const double first = stats.front().train_loss, last = stats.back().train_loss;
      fmt::print("train loss fell from {:.4f} to {:.4f}; final valid accuracy {:.3f}\n", first, last, stats.back().valid_accuracy);
      return last < first ? 0 : 1;
    }
    fmt::print("{}", app.help());
    return 0;
  } catch (const Error& e) {
    fmt::print(stderr, "attnlab: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "attnlab: internal error: {}\n", e.what());
    return 1;
  }
}
