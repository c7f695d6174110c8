#include "mnist_mlp.h"
// TODO: placeholder, being written.
