#include "devices.h"
// TODO: placeholder, being written.
