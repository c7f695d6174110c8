#include "hello.h"

int add(int a, int b) {
  // Never returns: the grader must stop it at the time limit.
  volatile bool forever = true;
  while (forever) {
  }
  return a + b;
}

std::string greet(const std::string& name) { return "Hello, " + name + "!"; }

std::vector<int> squares(int n) {
  std::vector<int> result;
  for (int i = 1; i <= n; ++i) result.push_back(i * i);
  return result;
}
