#include "workbook_test.h"
#include "tensors.h"
