#include "gradient_descent.h"
// TODO: placeholder, being written.
