#include "plugins/extractor/cnn2d/cnn2d.h"
#include "framework/registry/registry.h"

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Extractor, cnn2d, attnlab::plugins::Cnn2dExtractor, attnlab::plugins::Cnn2dConfig,
    "2-D convolutions + max pooling over an image given as its rows; outputs the spatial positions as a sequence");
