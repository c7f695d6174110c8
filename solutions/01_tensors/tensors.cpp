#include "tensors.h"
