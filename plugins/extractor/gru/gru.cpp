#include "framework/registry/registry.h"
#include "plugins/extractor/lstm/rnn_extractor.h"

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Extractor, gru, attnlab::plugins::RnnExtractor<attnlab::nn::Cell::gru>,
                        attnlab::plugins::RnnExtractorConfig, "GRU layers (Cho et al. 2014), PyTorch's formulation");
