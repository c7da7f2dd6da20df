// batched matmul and linear: to be written.
#pragma once

#include "framework/autograd/var.h"
