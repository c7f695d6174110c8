#include "hello.h"

int add(int a, int b) { return a + b; }

std::string greet(const std::string& name) {
  volatile int* nothing = nullptr;
  *nothing = 42;  // a segmentation fault
  return name;
}

std::vector<int> squares(int n) {
  std::vector<int> result;
  for (int i = 1; i <= n; ++i) result.push_back(i * i);
  return result;
}
