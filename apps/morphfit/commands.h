// The morphfit command table: every subcommand's name, one-line summary, usage line, the flags
// it reads (for `morphfit <command> --help`) and its entry point.
#ifndef MORPHFIT_APPS_MORPHFIT_COMMANDS_H_
#define MORPHFIT_APPS_MORPHFIT_COMMANDS_H_

#include <string>
#include <vector>

namespace morphfit::app {

struct Command {
  const char* name;
  const char* summary;
  const char* usage;
  std::vector<std::string> flags;
  int (*run)();  // called after flags are parsed; returns the process exit code
};

const std::vector<Command>& Commands();

// Entry points (one file each).
int RunInfo();
int RunDemo();
int RunSampleModel();
int RunConvert();
int RunRender();
int RunSynth();
int RunFit();
int RunEval();
int RunMerge();

}  // namespace morphfit::app

#endif  // MORPHFIT_APPS_MORPHFIT_COMMANDS_H_
