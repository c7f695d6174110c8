#include "workbook/plot.h"
