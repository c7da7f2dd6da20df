// softmax and log_softmax: to be written.
#pragma once

#include "framework/autograd/var.h"
