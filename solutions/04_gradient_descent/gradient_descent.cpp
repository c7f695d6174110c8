#include "gradient_descent.h"
