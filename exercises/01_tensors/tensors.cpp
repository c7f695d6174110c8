#include "tensors.h"
// TODO: placeholder, being written.
