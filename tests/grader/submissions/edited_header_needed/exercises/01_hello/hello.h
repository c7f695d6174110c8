#pragma once
// Edited by the learner: adds a helper that hello.cpp relies on. The grader compiles against the
// instructor's header, which does not have it.
#include <string>
#include <vector>

int sum_of(int a, int b);
int add(int a, int b);
std::string greet(const std::string& name);
std::vector<int> squares(int n);
