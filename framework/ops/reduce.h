// sum/mean/max over an axis: to be written.
#pragma once

#include "framework/autograd/var.h"
