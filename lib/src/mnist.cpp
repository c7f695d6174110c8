#include "workbook/mnist.h"
