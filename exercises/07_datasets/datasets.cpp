#include "datasets.h"
// TODO: placeholder, being written.
