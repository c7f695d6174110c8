#include "workbook_test.h"
#include "logistic_regression.h"
