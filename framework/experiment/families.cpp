// The list of plugin families (registry::families(), declared in registry/registry.h). It names
// every family's base class, so it lives above the layers that define them (data, model, optim):
// the registry itself depends on none of them.
#include "framework/model/families.h"
#include "framework/data/dataset.h"
#include "framework/model/objective.h"
#include "framework/optim/optimizer.h"
#include "framework/optim/schedule.h"
#include "framework/registry/registry.h"

namespace attnlab::registry {

const std::vector<FamilyInfo>& families() {
  static const std::vector<FamilyInfo> all = {
      family_info<model::Extractor>(),  family_info<model::Attention>(), family_info<model::Pooling>(),
      family_info<model::MultiTask>(),  family_info<model::Head>(),      family_info<model::Weighting>(),
      family_info<data::Dataset>(),     family_info<data::Preprocess>(), family_info<optim::Optimizer>(),
      family_info<optim::LrSchedule>(), family_info<model::Objective>(),
  };
  return all;
}

}  // namespace attnlab::registry
