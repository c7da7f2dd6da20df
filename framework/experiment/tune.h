// `attnlab tune`: the C++ half of a tuning run (docs/tune.md). The spec, its overrides and its
// `tune:` block are loaded and checked here, as for every other command; then the plan below is
// written into the tuning directory and the Python driver (scripts/tune, on Optuna) runs the study:
// it asks Optuna for values, runs each trial as `attnlab run SPEC ~tune OVERRIDES key=value...`, reads
// the trial's <id>.progress.yaml after every epoch for the pruner, and records every trial.
//
//   <dir>/tune.yaml       the plan (written here as .tune.yaml.<host>.<pid>, which the driver installs as
//                         tune.yaml once the study there accepts it; the driver reads only the plan)
//   <dir>/study.journal   Optuna's journal storage: a killed run resumes the study
//   <dir>/tune.tsv        one line per finished trial: number, state, epoch, value, trial dir, params
//   <dir>/trials/<key>/   an ordinary attnlab run directory per distinct set of values
#pragma once

#include "framework/experiment/spec.h"

#include <string>
#include <vector>

namespace attnlab::experiment {

struct TuneOptions {
  std::string spec;                    ///< the spec file as given
  std::vector<std::string> overrides;  ///< command-line overrides (apply to every trial)
  std::vector<std::string> run_flags;  ///< flags every trial's `attnlab run` gets (--plugin ABS, --allow-spec-plugins)
  std::string attnlab;                 ///< this executable, which the driver runs per trial
  std::string dir;                     ///< the tuning directory
  int jobs = 1, threads = 1;           ///< trials at once x threads per trial (jobs x threads <= cores)
};

/// The plan the driver reads, as YAML: paths, the spec's config hash, parallelism, the tune block with
/// its objectives filled in (`objectives`, a list; `metric` and `direction`: the first), its pruner and
/// timeout, and per searched key its kind with bounds, or its choices as override texts (canonical
/// YAML); a conditional key has `when: {key, values}`: the choice it depends on and, as override
/// texts, those of its choices under which it is searched.
/// Throws attnlab::Error when the spec has no `tune:` block.
std::string tune_plan(const ResolvedSpec& spec, const TuneOptions& options);

}  // namespace attnlab::experiment
