#include "logistic_regression.h"
// TODO: placeholder, being written.
