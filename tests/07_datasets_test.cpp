#include "workbook_test.h"
#include "datasets.h"
