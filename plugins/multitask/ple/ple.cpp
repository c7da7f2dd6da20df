// multitask/ple: `levels` stacked CGC levels with shared gates in between (Tang et al. 2020);
// the class and its formulas are in plugins/multitask/cgc/ple_stack.h.
#include "framework/registry/registry.h"
#include "plugins/multitask/cgc/ple_stack.h"

ATTNLAB_REGISTER_PLUGIN(attnlab::model::MultiTask, ple, attnlab::plugins::Ple, attnlab::plugins::PleConfig,
                        "progressive layered extraction: stacked CGC levels with shared gates (Tang et al. 2020)");
