#include "linear_regression.h"
