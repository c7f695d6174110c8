#include "hello.h"

#include <cstdlib>

int add(int a, int b) { return a + b; }

std::string greet(const std::string& name) { return "Hello, " + name + "!"; }

std::vector<int> squares(int n) {
  if (n > 0) std::abort();  // gives up
  return {};
}
