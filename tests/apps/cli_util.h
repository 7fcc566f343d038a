// Running the built morphfit program from a test, as a user would (MORPHFIT_BINARY is defined
// by tests/apps/CMakeLists.txt).
#ifndef MORPHFIT_TESTS_APPS_CLI_UTIL_H_
#define MORPHFIT_TESTS_APPS_CLI_UTIL_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace morphfit::testing {

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

inline CommandResult RunMorphfit(const std::string& args) {
  const std::string command = std::string(MORPHFIT_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof(buffer), pipe)) output += buffer;
  const int status = pipe ? pclose(pipe) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace morphfit::testing

#endif  // MORPHFIT_TESTS_APPS_CLI_UTIL_H_
