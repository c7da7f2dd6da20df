// layer normalization: to be written.
#pragma once

#include "framework/autograd/var.h"
