#include "logistic_regression.h"
