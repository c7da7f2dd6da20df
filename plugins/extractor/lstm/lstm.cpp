#include "framework/registry/registry.h"
#include "plugins/extractor/lstm/rnn_extractor.h"

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Extractor, lstm, attnlab::plugins::RnnExtractor<attnlab::nn::Cell::lstm>,
                        attnlab::plugins::RnnExtractorConfig, "LSTM layers (Hochreiter & Schmidhuber 1997)");
