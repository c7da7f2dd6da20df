// The `model:` section of a spec: which plugin fills each stage of the model (model.h) and the
// model-wide options (embedding, positions, query, side features, tasks).
#pragma once

#include "framework/model/families.h"
#include "framework/registry/plugin_spec.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attnlab::model {

template <class B>
using Plugin = config::PluginSpec<B>;

struct ModelSection {
  std::int64_t embedding = 64;
  std::string positions = "none";
  std::string query = "none";
  std::vector<std::int64_t> side_categorical;
  std::int64_t side_embedding = 8;
  std::int64_t side_dense = 0;
  bool side_features = false;
  bool join_query = false;
  std::string embedding_init = "normal";
  double embedding_std = 1.0;
  bool embedding_scale = false;
  double embedding_dropout = 0.0;
  Plugin<Extractor> extractor{"lstm"};
  Plugin<Attention> attention{"seed_self"};
  Plugin<Pooling> pooling{"flatten"};
  Plugin<Head> head{"classification"};
  std::map<std::string, Plugin<Head>> tasks;
  Plugin<MultiTask> multitask{"shared_bottom"};
  Plugin<Weighting> weighting{"fixed"};
  template <class V>
  void visit(V& v) {
    v("embedding", embedding).min(1).doc("width of the item/token embedding");
    v("embedding_init", embedding_init)
        .choices({"normal", "truncated_normal", "xavier_uniform", "xavier_normal"})
        .doc(
            "how the item (token), user and learned position tables start: N(0, embedding_std²) (PyTorch's default), "
            "the same truncated at 2 std (BERT4Rec), or Glorot's uniform / normal over the table's two dims (SASRec)");
    v("embedding_std", embedding_std).min(0).doc("std of the normal and truncated_normal initialisations");
    v("embedding_scale", embedding_scale)
        .doc("multiply the item embeddings by sqrt(embedding) before positions are added (Transformer, SASRec)");
    v("embedding_dropout", embedding_dropout)
        .range(0.0, 0.99)
        .doc("dropout on the embedded sequence, after positions (SASRec; training only)");
    v("positions", positions)
        .choices({"none", "learned", "sinusoidal"})
        .doc("position information added to the embeddings");
    v("query", query)
        .choices({"none", "user", "target"})
        .doc("what attention variants that take a query receive: the user's embedding or the target item's");
    v("side_categorical", side_categorical)
        .min(1)
        .doc(
            "cardinality of each categorical side feature (user or context attributes), each embedded and joined to "
            "the pooled sequence");
    v("side_embedding", side_embedding).min(1).doc("embedding width of each categorical side feature");
    v("side_dense", side_dense).min(0).doc("number of dense side features joined to the pooled sequence");
    v("join_query", join_query)
        .doc(
            "also join the query (user or candidate embedding) to the pooled sequence, as DIN does, so that every "
            "attention variant sees the candidate");
    v("side_features", side_features)
        .doc(
            "join the dataset's own side features (categorical embedded, dense as is) to the pooled sequence; "
            "replaces side_categorical and side_dense");
    v("extractor", extractor).doc("sequence feature extractor");
    v("attention", attention).doc("attention over the extracted sequence");
    v("pooling", pooling).doc("sequence to vector");
    v("head", head).doc("the head of a single-task model: predictions and loss");
    v("tasks", tasks).doc("a multi-task model: one head per task name (replaces head; labels come per task)");
    v("multitask", multitask).doc("how the tasks share the pooled representation (with tasks)");
    v("weighting", weighting).doc("how the task losses become gradients (with tasks; tasks in name order)");
  }
};

}  // namespace attnlab::model
