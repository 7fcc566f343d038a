// morphfit: one command-line program with subcommands, COLMAP style (`morphfit <command>
// --flags`). `morphfit --help` lists the commands, `morphfit <command> --help` their flags.
#include <cstring>
#include <iostream>
#include <string>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "commands.h"

namespace morphfit::app {
namespace {

void PrintCommandList(std::ostream& out) {
  out << "morphfit: fit 3D morphable face models to photos, synthesise training sets, train and\n"
         "run regressors.\n\n"
         "usage: morphfit <command> [--flags]     (morphfit <command> --help for its flags)\n\n"
         "commands:\n";
  for (const Command& c : Commands()) {
    out << "  " << c.name << std::string(16 - std::min<size_t>(15, std::strlen(c.name)), ' ')
        << c.summary << "\n";
  }
}

void PrintCommandHelp(const Command& c, std::ostream& out) {
  out << "morphfit " << c.name << ": " << c.summary << "\n\nusage: " << c.usage << "\n\nflags:\n";
  for (const std::string& name : c.flags) {
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) continue;
    out << "  --" << info.name << " (" << info.type << ", default: "
        << (info.default_value.empty() ? "\"\"" : info.default_value) << ")\n      "
        << info.description << "\n";
  }
  out << "  --v=N  verbose logging (1: per stage, 2: per iteration)\n";
}

}  // namespace
}  // namespace morphfit::app

int main(int argc, char** argv) {
  using morphfit::app::Command;
  using morphfit::app::Commands;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--helpfull")) {
    morphfit::app::PrintCommandList(std::cout);
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (name == c.name) command = &c;
  }
  if (command == nullptr) {
    std::cerr << "morphfit: unknown command '" << name << "'\n\n";
    morphfit::app::PrintCommandList(std::cerr);
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      morphfit::app::PrintCommandHelp(*command, std::cout);
      return 0;
    }
  }
  // Drop the command name, then let gflags parse the rest.
  std::string program = std::string(argv[0]) + " " + name;
  argv[1] = program.data();
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  gflags::SetUsageMessage(command->usage);
  gflags::ParseCommandLineFlags(&sub_argc, &sub_argv, true);
  if (sub_argc > 1) {
    std::cerr << "morphfit " << name << ": unexpected argument '" << sub_argv[1]
              << "' (flags take the form --name=value or --name value)\n";
    return 2;
  }
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  return command->run();
}
