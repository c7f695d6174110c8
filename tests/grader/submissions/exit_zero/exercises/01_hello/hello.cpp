#include "hello.h"

#include <cstdlib>

int add(int a, int b) { return a + b; }

std::string greet(const std::string& name) { return "Hello, " + name + "!"; }

std::vector<int> squares(int n) {
  // Ends the test program "successfully" in the middle of the test: never a pass.
  if (n > 0) std::exit(0);
  return {};
}
