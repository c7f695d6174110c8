#include "hello.h"

#include "workbook/todo.h"

int add(int a, int b) { return a + b; }

std::string greet(const std::string& name) {
  // TODO: return "Hello, <name>!".
  return workbook::todo("return \"Hello, \" + name + \"!\"");
}

std::vector<int> squares(int n) {
  // TODO: return the squares of 1..n.
  return workbook::todo("return {1, 4, ..., n * n}");
}
