// Every core op. Plugins include this one header and compose these functions; each op records its
// own backward, so a plugin's forward is all a plugin writes.
#pragma once

#include "framework/ops/binary.h"
#include "framework/ops/conv.h"
#include "framework/ops/dropout.h"
#include "framework/ops/eltwise.h"
#include "framework/ops/embedding.h"
#include "framework/ops/layer_norm.h"
#include "framework/ops/loss.h"
#include "framework/ops/mask.h"
#include "framework/ops/matmul.h"
#include "framework/ops/pool.h"
#include "framework/ops/reduce.h"
#include "framework/ops/rnn.h"
#include "framework/ops/shape_ops.h"
#include "framework/ops/softmax.h"
