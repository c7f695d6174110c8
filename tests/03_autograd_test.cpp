#include "workbook_test.h"
#include "autograd.h"
