#include "workbook_test.h"
#include "mnist_mlp.h"
