#include "workbook_test.h"
#include "devices.h"
