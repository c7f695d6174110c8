#include "linear_regression.h"
// TODO: placeholder, being written.
