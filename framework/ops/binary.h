// add/sub/mul/div with broadcasting: to be written.
#pragma once

#include "framework/autograd/var.h"
