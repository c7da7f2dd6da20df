// LSTM and GRU: to be written.
#pragma once

#include "framework/autograd/var.h"
