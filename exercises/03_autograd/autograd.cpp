#include "autograd.h"
// TODO: placeholder, being written.
