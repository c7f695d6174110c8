#pragma once
// Edited by the learner: the grader uses the instructor's header instead.
#include <string>
#include <vector>

int add(int a, int b);
std::string greet(const std::string& name);
std::vector<int> squares(int n);
