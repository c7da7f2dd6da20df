// conv1d and conv2d: to be written.
#pragma once

#include "framework/autograd/var.h"
