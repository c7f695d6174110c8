#include "workbook_test.h"
#include "gradient_descent.h"
