#include "autograd.h"
