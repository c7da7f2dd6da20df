// fused losses: to be written.
#pragma once

#include "framework/autograd/var.h"
