#include "workbook_test.h"
#include "linear_regression.h"
