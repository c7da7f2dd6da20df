// masked_fill and sequence masks: to be written.
#pragma once

#include "framework/autograd/var.h"
