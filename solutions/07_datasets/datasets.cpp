#include "datasets.h"
