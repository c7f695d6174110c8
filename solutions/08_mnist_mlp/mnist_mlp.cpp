#include "mnist_mlp.h"
