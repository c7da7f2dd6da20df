// reshape/permute/transpose/slice/concat/stack: to be written.
#pragma once

#include "framework/autograd/var.h"
